"""Cross-site request forgery protection: an Origin / Sec-Fetch-Site check, then a token.

The token is a signed double-submit token: a random secret kept in a signed cookie (or, under
:class:`SessionMiddleware` once the session holds something, in the session: the
synchronizer-token pattern), and handed to
pages masked with a fresh random pad each time, so it never repeats in a compressed page
(BREACH). An unsafe request must send it back in the ``X-CSRF-Token`` header or the
``csrf_token`` form field, never in the query string, which leaks into logs and ``Referer``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import msgspec

from .._parsing import ParseError, parse_content_type
from ..formparsers import DEFAULT_FORM_LIMITS, FormError, parse_form
from ..requests import BodyLimits
from ..responses import _cookie_header
from ..routing import FOUND
from ..types import ASGIApp, Message, Receive, Scope, Send
from ._asgi import BodyTooLarge, add_vary, buffer_body, header, request_cookie
from ._signing import Signer, b64decode, b64encode, check_secret_keys

__all__ = ["CSRFMiddleware", "csrf_token"]

_STATE_KEY = "covet.csrf"
_SESSION_KEY = "_csrf_secret"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: The content types a cross-site HTML form can send (and so, with cookies, forge).
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
_SECRET_BYTES = 32
_DEFAULT_LIMITS = BodyLimits(1_048_576, DEFAULT_FORM_LIMITS, 60.0)


def csrf_token(request: Any) -> str:
    """The CSRF token to put in this request's page: a form field ``csrf_token`` or the
    ``X-CSRF-Token`` header of a ``fetch``. Masked afresh on each call; every one is valid.

    Raises ``RuntimeError`` when :class:`CSRFMiddleware` is not installed. Example::

        f'<input type="hidden" name="csrf_token" value="{csrf_token(request)}">'
    """
    state = request.scope.get(_STATE_KEY)
    if state is None:
        raise RuntimeError("csrf_token() needs the CSRF middleware: app.add_middleware(CSRFMiddleware, secret_key=...).")
    secret: bytes = state.secret(create=True)
    state.used = True
    pad = secrets.token_bytes(_SECRET_BYTES)
    return b64encode(pad + bytes(a ^ b for a, b in zip(pad, secret)))


def _unmask(token: str) -> bytes | None:
    try:
        raw = b64decode(token)
    except ValueError:
        return None
    if len(raw) != 2 * _SECRET_BYTES:
        return None
    return bytes(a ^ b for a, b in zip(raw[:_SECRET_BYTES], raw[_SECRET_BYTES:]))


class _State:
    """One request's CSRF secret: from the session, or from the signed cookie (made if needed)."""

    __slots__ = ("middleware", "scope", "_secret", "new_cookie", "used")

    def __init__(self, middleware: CSRFMiddleware, scope: Scope) -> None:
        self.middleware = middleware
        self.scope = scope
        self._secret: bytes | None = None
        self.new_cookie = False
        self.used = False  # a token went into the page: the page varies with the cookie

    def secret(self, create: bool) -> bytes | None:
        if self._secret is not None:
            return self._secret
        session = self.scope.get("session")
        if session is not None:
            stored = session.get(_SESSION_KEY)
            if isinstance(stored, str):
                try:
                    self._secret = b64decode(stored)
                except ValueError:
                    self._secret = None
            if self._secret is not None:
                return self._secret
        self._secret = self.middleware.cookie_secret(self.scope)
        if self._secret is None and create:
            self._secret = secrets.token_bytes(_SECRET_BYTES)
            if session is not None and len(session):
                session[_SESSION_KEY] = b64encode(self._secret)
            else:
                # An empty session stays empty: with server-side sessions, a secret stored there
                # would make every anonymous page view that renders a form a new record in Redis.
                self.new_cookie = True
        return self._secret


class CSRFMiddleware:
    """Refuse forged unsafe requests (``403``); hand pages a token with :func:`csrf_token`.

    Checked: every ``POST``/``PUT``/``PATCH``/``DELETE`` (any method but GET, HEAD, OPTIONS and
    TRACE) that carries cookies, or that has a body a cross-site form could send (urlencoded,
    multipart, ``text/plain``) and no ``Authorization`` header. So an API called with only a
    bearer token and JSON is never refused: a browser cannot forge those cross-site.

    In order: a ``Sec-Fetch-Site`` of ``cross-site`` or ``same-site``, or an ``Origin`` that is not
    the request's own (``null`` included), is refused unless listed in ``trusted_origins``; then
    the token must come back in the ``X-CSRF-Token`` header (``header_name``) or the ``csrf_token``
    form field (``field_name``; the body is read, up to the route's ``max_body_size``, and handed
    on to the handler intact). A token in the query string does not count.

    The secret lives in the session when :class:`SessionMiddleware` is outside this middleware and
    the session is not empty (an empty one stays empty, so anonymous form views create no
    server-side session), else in a signed ``HttpOnly`` cookie (``cookie_name``, ``SameSite=Lax``, ``Secure`` on https)
    set when a page first asks for a token. ``secret_key`` may be a list (rotation, as for
    sessions). A route opts out with the route option ``csrf_exempt=True`` (webhooks that
    authenticate otherwise). A WebSocket handshake that carries cookies and another site's
    ``Origin`` is closed (code 1008) before the app sees it (cross-site WebSocket hijacking).
    Example::

        app.add_middleware(CSRFMiddleware, secret_key=os.environ["CSRF_KEY"])
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | bytes | Sequence[str | bytes],
        *,
        cookie_name: str = "csrftoken",
        header_name: str = "X-CSRF-Token",
        field_name: str = "csrf_token",
        trusted_origins: Sequence[str] = (),
        same_site: str = "lax",
        cookie_secure: bool | None = None,
    ) -> None:
        self.app = app
        self.signer = Signer(check_secret_keys(secret_key, "CSRFMiddleware"), b"covet.csrf")
        if isinstance(trusted_origins, str):
            raise TypeError(f"trusted_origins= takes a list such as [{trusted_origins!r}], not a string.")
        self.trusted_origins = frozenset(origin.rstrip("/") for origin in trusted_origins)
        self.cookie_name = cookie_name
        self.header_name = header_name.lower().encode("latin-1")
        self.field_name = field_name
        # Checked now, not when the first page sets the cookie (a 500 there).
        if not isinstance(same_site, str) or same_site.lower() not in ("lax", "strict", "none"):
            raise ValueError(f"CSRFMiddleware same_site must be 'lax', 'strict' or 'none', got {same_site!r}.")
        if same_site.lower() == "none" and cookie_secure is False:
            raise ValueError(
                "CSRFMiddleware same_site='none' needs the Secure flag; browsers drop it otherwise. "
                "Remove cookie_secure=False."
            )
        self.same_site = same_site.lower()
        self.cookie_secure = True if self.same_site == "none" else cookie_secure

    def cookie_secret(self, scope: Scope) -> bytes | None:
        """The secret in the request's signed CSRF cookie, or None (absent, forged, truncated)."""
        raw = request_cookie(scope, self.cookie_name)
        verified = None if raw is None else self.signer.unsign(raw, None)
        if verified is None:
            return None
        try:
            secret = b64decode(verified[0])
        except ValueError:
            return None
        return secret if len(secret) == _SECRET_BYTES else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and not self._same_origin_websocket(scope):
                # Cross-site WebSocket hijacking: browsers send cookies with any site's handshake.
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        state = _State(self, scope)
        scope[_STATE_KEY] = state
        if scope["method"] not in SAFE_METHODS and self._needs_check(scope) and not _exempt(scope):
            refusal, receive = await self._check(scope, receive, state)
            if refusal is not None:
                await _refuse(send, *refusal)
                return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and state.used:
                headers = list(message.get("headers", ()))
                add_vary(headers, b"Cookie")
                if state.new_cookie:
                    assert state._secret is not None
                    secure = self.cookie_secure if self.cookie_secure is not None else scope.get("scheme") == "https"
                    cookie = _cookie_header(
                        self.cookie_name, self.signer.sign(b64encode(state._secret)), None, None, "/", None,
                        secure, True, self.same_site,
                    )
                    headers.append((b"set-cookie", cookie))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _same_origin_websocket(self, scope: Scope) -> bool:
        """Whether a WebSocket handshake may go on: no cookies, no ``Origin``, or this site's (or a
        trusted) ``Origin``. Handshakes cannot carry a token, so the origin is the whole check."""
        headers = scope["headers"]
        origin = header(headers, b"origin")
        if origin is None or header(headers, b"cookie") is None:
            return True
        text = origin.decode("latin-1")
        own = _own_origin(scope)
        if own is not None:
            own = own.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
        return text in self.trusted_origins or text == own

    def _needs_check(self, scope: Scope) -> bool:
        headers = scope["headers"]
        if header(headers, b"cookie") is not None:
            return True
        content_type = header(headers, b"content-type")
        media = content_type.partition(b";")[0].strip().lower().decode("latin-1") if content_type else ""
        return media in _FORM_TYPES and header(headers, b"authorization") is None

    async def _check(self, scope: Scope, receive: Receive, state: _State) -> tuple[tuple[int, str] | None, Receive]:
        headers = scope["headers"]
        site = header(headers, b"sec-fetch-site")
        origin = header(headers, b"origin")
        if origin is not None:
            text = origin.decode("latin-1")
            if text not in self.trusted_origins and text != _own_origin(scope):
                return (403, f"Cross-origin request refused: Origin {text!r} is not this site."), receive
        elif site is not None and site.lower() in (b"cross-site", b"same-site"):
            return (403, "Cross-site request refused (Sec-Fetch-Site: " + site.decode("latin-1") + ")."), receive
        secret = state.secret(create=False)
        if secret is None:
            return (403, "CSRF cookie missing or invalid: load the form's page again."), receive
        token = header(headers, self.header_name)
        submitted = token.decode("latin-1") if token is not None else None
        if submitted is None:
            submitted, receive, problem = await self._form_token(scope, receive)
            if problem is not None:
                return problem, receive
        if submitted is None:
            return (
                403,
                f"CSRF token missing: send it in the {self.header_name.decode()!r} header or the "
                f"{self.field_name!r} form field.",
            ), receive
        unmasked = _unmask(submitted)
        if unmasked is None or not secrets.compare_digest(unmasked, secret):
            return (403, "CSRF token invalid: load the form's page again."), receive
        return None, receive

    async def _form_token(self, scope: Scope, receive: Receive) -> tuple[str | None, Receive, tuple[int, str] | None]:
        content_type = (header(scope["headers"], b"content-type") or b"").decode("latin-1")
        try:
            media = parse_content_type(content_type)[0]
        except ParseError as exc:
            return None, receive, (400, str(exc))
        if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return None, receive, None
        limits = _body_limits(scope)
        try:
            body, receive = await buffer_body(scope, receive, limits.max_body_size)
        except BodyTooLarge as exc:
            return None, receive, (413, str(exc))
        try:
            form = await parse_form(body, content_type, limits.form_limits)
        except FormError as exc:
            return None, receive, (getattr(exc, "status_code", 400), str(exc))
        try:
            value = form.get(self.field_name)
        finally:
            for _, item in form.multi_items():
                if not isinstance(item, str):
                    await item.close()
        return (value if isinstance(value, str) else None), receive, None


def _own_origin(scope: Scope) -> str | None:
    host = header(scope["headers"], b"host")
    if host is None:
        return None
    return f"{scope.get('scheme', 'http')}://{host.decode('latin-1').lower()}"


def _route(scope: Scope) -> Any:
    route = scope.get("route")
    if route is not None:
        return route
    app = scope.get("app")
    router = getattr(app, "router", None)
    if router is None:
        return None
    path = scope["path"]
    root = scope.get("root_path")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    kind, target, _ = router.http.resolve(scope["method"], path)
    return target if kind == FOUND else None


def _exempt(scope: Scope) -> bool:
    route = _route(scope)
    return route is not None and bool(route.options.get("csrf_exempt"))


def _body_limits(scope: Scope) -> Any:
    route = _route(scope)
    limits = getattr(route, "body_limits", None)
    if limits is None:
        limits = getattr(scope.get("app"), "_body_limits", None) or _DEFAULT_LIMITS
    return limits


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = msgspec.json.encode({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
