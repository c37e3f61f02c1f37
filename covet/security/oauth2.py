"""OAuth2's password flow (RFC 6749 §4.3) as dependencies: the bearer token and the login form."""

from __future__ import annotations

from typing import Annotated

from ..params import Form
from ..requests import HTTPConnection
from .base import SecurityBase, unauthorized
from .http import authorization_parts

__all__ = ["OAuth2PasswordBearer", "OAuth2PasswordRequestForm"]


class OAuth2PasswordBearer(SecurityBase):
    """The bearer token of OAuth2's password flow: the dependency gives the token (str).

    ``token_url`` is the path of your login endpoint (the one taking
    :class:`OAuth2PasswordRequestForm`); OpenAPI documents it, so the docs page's "Authorize"
    button can log in. ``scopes`` maps each scope name to its description, for the docs.

    Example::

        oauth2 = OAuth2PasswordBearer(token_url="/token", scopes={"items:read": "Read items"})

        async def current_user(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> User:
            ...

        @app.get("/items")
        async def items(user: Annotated[User, Security(current_user, scopes=["items:read"])]): ...

    The token is not checked here (that is the job of the dependency using it, which receives the
    demanded scopes as :class:`SecurityScopes`). No ``Authorization: Bearer`` header: ``401``
    with ``WWW-Authenticate: Bearer`` (RFC 6750 §3), or None with ``auto_error=False``.
    """

    def __init__(
        self,
        token_url: str,
        *,
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        if not isinstance(token_url, str) or not token_url:
            raise ValueError(f"OAuth2PasswordBearer(token_url=...) is the path of your login endpoint, got {token_url!r}.")
        self.token_url = token_url
        self.scopes = dict(scopes or {})
        flows = {"password": {"tokenUrl": token_url, "scopes": self.scopes}}
        self._init_base({"type": "oauth2", "flows": flows}, scheme_name, description, auto_error)

    async def __call__(self, request: HTTPConnection) -> str | None:
        parts = authorization_parts(request)
        if parts is None or parts[0].lower() != "bearer":
            if self.auto_error:
                raise unauthorized("Bearer")
            return None
        return parts[1]


class OAuth2PasswordRequestForm:
    """The login form of OAuth2's password flow (RFC 6749 §4.3.2), as a dependency.

    Fields (``application/x-www-form-urlencoded``): ``username``, ``password`` (required),
    ``scope`` (space-separated; also given split as ``scopes``), ``grant_type`` (``"password"``
    when sent), ``client_id`` and ``client_secret`` (optional).

    Example::

        @app.post("/token")
        async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict:
            user = await authenticate(form.username, form.password)
            return {"access_token": make_token(user, form.scopes), "token_type": "bearer"}
    """

    def __init__(
        self,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
    ) -> None:
        self.grant_type = grant_type
        self.username = username
        self.password = password
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret

    def __repr__(self) -> str:
        # Never the password.
        return f"OAuth2PasswordRequestForm(username={self.username!r}, scopes={self.scopes!r})"
