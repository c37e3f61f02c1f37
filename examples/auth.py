"""Accounts, OAuth2 password login, JWTs and scopes: an API a mobile app or SPA could log in to.

- ``POST /register`` (JSON ``{"username", "password"}``) stores an Argon2id hash (scrypt
  without ``covet[argon2]``); at most 5 registrations a minute per client address.
- ``POST /token`` takes OAuth2's password form (``username``, ``password``, ``scope``) and answers
  ``{"access_token", "token_type": "bearer", "expires_in"}``; 10 attempts a minute per address.
  The token carries the requested scopes the account holds.
- ``GET /users/me`` needs the ``me`` scope, ``GET /items`` ``items:read``, ``POST /items``
  ``items:write``; a token without one gets ``403`` naming it.

And the same accounts for a server-rendered site, logged in with a session cookie:

- ``GET /login`` shows a form (with its CSRF token); ``POST /login`` checks the password, gives
  the browser a new session id (``regenerate()``, against session fixation) and redirects to
  ``/account``; ``POST /logout`` clears the session. The session lives in a signed, HttpOnly,
  SameSite=Lax cookie (``SessionMiddleware``); ``CSRFMiddleware`` refuses a cross-site form post.
  ``/token`` is exempt from CSRF: it is called by API clients with no cookies to ride on.

Run it with ``JWT_SECRET=... SESSION_SECRET=... covet run examples/auth.py`` and open
http://127.0.0.1:8000/docs (the "Authorize" button logs in through ``/token``) or
http://127.0.0.1:8000/login. Needs ``pip install 'covet[jwt,argon2]'``. Accounts live in a dict
here; a real app keeps them in its database.
"""

import os
import secrets
from typing import Annotated, Any

import msgspec
from markupsafe import escape

from covet import Covet, Form, HTMLResponse, HTTPException, RedirectResponse, Request
from covet.middleware import CSRFMiddleware, SessionMiddleware, csrf_token
from covet.params import Depends
from covet.security import (
    JWT,
    JWTBearer,
    OAuth2PasswordRequestForm,
    Security,
    hash_password,
    needs_rehash,
    verify_password,
)

SCOPES = {"me": "Read your own account", "items:read": "List items", "items:write": "Create items"}
#: What a new account may ask for; ``items:write`` is granted by an administrator (``grant``).
DEFAULT_SCOPES = ["me", "items:read"]
TOKEN_LIFETIME = 15 * 60

_SESSION_SECRET = os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(64)
# Outermost first: the session is loaded before CSRF looks for its secret in it.
app = Covet(
    title="covet auth example",
    version="1.0.0",
    middleware=[
        (SessionMiddleware, {"secret_key": _SESSION_SECRET}),
        (CSRFMiddleware, {"secret_key": _SESSION_SECRET}),
    ],
)
tokens = JWT(
    os.environ.get("JWT_SECRET") or secrets.token_urlsafe(64),
    algorithms=["HS256"],
    issuer="covet-auth-example",
    audience="covet-auth-example",
    expires_in=TOKEN_LIFETIME,
)
bearer = JWTBearer(tokens, token_url="/token", scopes=SCOPES)


class Account(msgspec.Struct):
    username: str
    password_hash: str
    scopes: list[str]


class Registration(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^[a-z0-9_]+$")]
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]


class Token(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int


class User(msgspec.Struct):
    username: str
    scopes: list[str]


class Item(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


accounts: dict[str, Account] = {}
items: list[Item] = [Item("pen"), Item("paper")]


def grant(username: str, scope: str) -> None:
    """Let ``username`` ask for ``scope`` (what an admin screen would do)."""
    accounts[username].scopes.append(scope)


@app.post("/register", status_code=201, rate_limit="5/minute", responses={409: {"description": "Username taken"}})
async def register(registration: Registration) -> User:
    if registration.username in accounts:
        raise HTTPException(409, "That username is taken.")
    hashed = await hash_password(registration.password)
    account = Account(registration.username, hashed, list(DEFAULT_SCOPES))
    accounts[account.username] = account
    return User(account.username, account.scopes)


# Verified against when the user does not exist, so "no such user" takes as long as "wrong
# password" and response times do not reveal which usernames exist.
_DUMMY_HASH: list[str] = []


async def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(await hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


@app.post("/token", rate_limit="10/minute", csrf_exempt=True, responses={400: {"description": "Incorrect username or password"}})
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    account = accounts.get(form.username)
    stored = account.password_hash if account is not None else await _dummy_hash()
    if not await verify_password(form.password, stored) or account is None:
        raise HTTPException(400, "Incorrect username or password")
    await _rehash_if_needed(account, form.password)
    wanted = form.scopes or ["me"]
    granted = [scope for scope in wanted if scope in account.scopes]
    token = tokens.encode({"sub": account.username, "scope": " ".join(granted)})
    return Token(token, "bearer", TOKEN_LIFETIME)


async def _rehash_if_needed(account: Account, password: str) -> None:
    if needs_rehash(account.password_hash):
        account.password_hash = await hash_password(password)


async def current_user(claims: Annotated[dict[str, Any], Security(bearer)]) -> User:
    account = accounts.get(claims["sub"])
    if account is None:
        # The token is valid but its account is gone.
        raise HTTPException(401, "Unknown user", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return User(account.username, str(claims.get("scope", "")).split())


@app.get("/users/me")
async def read_me(user: Annotated[User, Security(current_user, scopes=["me"])]) -> User:
    return user


@app.get("/items")
async def list_items(user: Annotated[User, Security(current_user, scopes=["items:read"])]) -> list[Item]:
    return items


@app.post("/items", status_code=201, dependencies=[Security(current_user, scopes=["items:write"])])
async def create_item(item: Item) -> Item:
    items.append(item)
    return item


# -- the server-rendered site: a session cookie instead of a bearer token --------------------------

_LOGIN_PAGE = """<!doctype html>
<title>Log in</title>
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{token}">
  <label>Username <input name="username" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button>Log in</button>
  <p>{message}</p>
</form>
"""


def _login_page(request: Request, message: str = "", status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_LOGIN_PAGE.format(token=csrf_token(request), message=escape(message)), status_code)


@app.get("/login", include_in_schema=False)
async def login_page(request: Request) -> HTMLResponse:
    return _login_page(request)


@app.post("/login", include_in_schema=False, rate_limit="10/minute")
async def login_form(
    request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]
) -> HTMLResponse | RedirectResponse:
    account = accounts.get(username)
    stored = account.password_hash if account is not None else await _dummy_hash()
    if not await verify_password(password, stored) or account is None:
        return _login_page(request, "Incorrect username or password.", 400)
    await _rehash_if_needed(account, password)
    # A new session id at login: an id planted in the browser before (fixation) is worth nothing.
    request.session.regenerate()
    request.session["user"] = account.username
    return RedirectResponse("/account", status_code=303)


@app.get("/account", include_in_schema=False)
async def account_page(request: Request) -> HTMLResponse | RedirectResponse:
    username = request.session.get("user")
    if username is None or username not in accounts:
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse(
        f"<!doctype html><title>Account</title><p>Logged in as {escape(username)}.</p>"
        f'<form method="post" action="/logout"><input type="hidden" name="csrf_token" '
        f'value="{csrf_token(request)}"><button>Log out</button></form>'
    )


@app.post("/logout", include_in_schema=False)
async def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
