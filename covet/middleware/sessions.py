"""Sessions: data kept across requests, in a signed cookie or server-side in Redis.

``request.session`` is a :class:`Session` (a mutable mapping). With ``backend=None`` the data
travels in the cookie itself, signed with HMAC-SHA256 (readable by the client, not changeable);
with a Redis backend the cookie holds only a signed random id and the data stays on the server.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any, Protocol

import msgspec

from ..responses import _cookie_header
from ..types import ASGIApp, Message, Receive, Scope, Send
from ._asgi import add_vary, request_cookie
from ._signing import Signer, b64decode, b64encode, check_secret_keys

__all__ = [
    "SessionMiddleware",
    "Session",
    "SessionBackend",
    "RedisSessionBackend",
    "SessionTooLarge",
    "MAX_COOKIE_SIZE",
]

#: RFC 6265 §6.1: browsers keep cookies up to 4096 bytes of name, value and attributes.
MAX_COOKIE_SIZE = 4096
_encode = msgspec.json.encode
_decode = msgspec.json.decode


class SessionTooLarge(RuntimeError):
    """The session no longer fits in a cookie: a browser would silently drop it."""


class Session(MutableMapping[str, Any]):
    """One request's session data: a mutable mapping that notes whether it was read or changed.

    ``session.regenerate()`` gives the session a new id with the same data (call it after a
    login, so an id planted before the login opens nothing); ``session.clear()`` empties it and,
    server-side, deletes the stored data. ``accessed`` and ``modified`` tell the middleware
    whether to add ``Vary: Cookie`` and whether to send a new cookie.
    """

    __slots__ = ("_data", "_loader", "accessed", "modified", "regenerated", "id")

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        loader: Callable[[], dict[str, Any]] | None = None,
        session_id: str | None = None,
    ) -> None:
        self._data: dict[str, Any] = data if data is not None else {}
        self._loader = loader
        #: Whether the app looked at the session (then the response varies with the cookie).
        self.accessed = False
        #: Whether the data changed (then the new state is stored and a cookie sent).
        self.modified = False
        #: Whether the id must change (regenerate() or clear()).
        self.regenerated = False
        #: The server-side id (None for cookie sessions, and for new server-side ones).
        self.id = session_id

    def _touch(self) -> dict[str, Any]:
        self.accessed = True
        if self._loader is not None:
            loader, self._loader = self._loader, None
            self._data = loader()
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._touch()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._touch()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._touch()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._touch())

    def __len__(self) -> int:
        return len(self._touch())

    def __contains__(self, key: object) -> bool:
        return key in self._touch()

    def __repr__(self) -> str:
        return f"Session({self._touch()!r})"

    def clear(self) -> None:
        """Empty the session; the stored data is deleted and the cookie expired (a logout)."""
        self._touch().clear()
        self.modified = True
        self.regenerated = True

    def regenerate(self) -> None:
        """Keep the data under a new id; the old id is deleted server-side (RFC 6265 has no fixation
        defence of its own: OWASP's session-fixation advice is to do this after every login)."""
        self._touch()
        self.modified = True
        self.regenerated = True


class SessionBackend(Protocol):
    """Where server-side session data lives: the whole interface a backend needs."""

    async def load(self, session_id: str) -> dict[str, Any] | None: ...

    async def save(self, session_id: str, data: dict[str, Any], max_age: int) -> None: ...

    async def delete(self, session_id: str) -> None: ...

    async def close(self) -> None: ...


class RedisSessionBackend:
    """Session data in Redis (``redis.asyncio``, ``pip install 'covet[redis]'``), one key per session.

    ``url_or_client``: a ``"redis://host:port/db"`` URL or a ``redis.asyncio.Redis``. Keys are
    ``prefix + id`` holding the JSON-encoded data, expiring ``max_age`` seconds after the last
    change. A client made here from a URL is closed by :meth:`close` (the middleware calls it at
    lifespan shutdown); one you pass in stays yours.
    """

    def __init__(self, url_or_client: Any, prefix: str = "covet:session:") -> None:
        if isinstance(url_or_client, str):
            try:
                import redis.asyncio
            except ImportError:
                raise RuntimeError(
                    "Redis sessions need redis-py: pip install 'covet[redis]'."
                ) from None
            self.redis: Any = redis.asyncio.Redis.from_url(url_or_client)
            self._owned = True
        else:
            self.redis = url_or_client
            self._owned = False
        self.prefix = prefix

    async def load(self, session_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.prefix + session_id)
        if raw is None:
            return None
        try:
            data = _decode(raw)
        except msgspec.DecodeError:
            return None
        return data if isinstance(data, dict) else None

    async def save(self, session_id: str, data: dict[str, Any], max_age: int) -> None:
        await self.redis.set(self.prefix + session_id, _encode(data), ex=max_age)

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(self.prefix + session_id)

    async def close(self) -> None:
        if self._owned:
            await self.redis.aclose()


class SessionMiddleware:
    """Give each request ``request.session``, kept in a signed cookie or server-side.

    - ``secret_key``: a long random string, or a list of them (newest first): the first signs,
      every one verifies, so a key can be rotated without logging users out (cookies signed with
      an older key are re-signed with the newest on their next request).
    - ``backend``: None keeps the data in the cookie, signed with HMAC-SHA256 (visible to the user,
      not changeable; at most 4096 bytes with the cookie's attributes, else
      :class:`SessionTooLarge` is raised: store less, or go server-side). A ``"redis://..."`` URL
      (or a :class:`SessionBackend`) keeps the data in Redis; the cookie then holds a signed
      random id (256 bits), and an id the server does not know is never adopted.
    - ``cookie_name``, ``max_age`` (seconds, default 14 days; also enforced on the signature's
      timestamp and the Redis key's expiry), ``path``, ``domain``.
    - ``same_site``: ``"lax"`` (default), ``"strict"`` or ``"none"``. ``https_only``: the
      cookie's ``Secure`` flag; None (default) sets it when the request came over https.

    The cookie is always ``HttpOnly``. A response gets ``Vary: Cookie`` when the session was read,
    and a ``Set-Cookie`` only when the session changed. A forged, truncated or expired cookie is
    an empty session. WebSockets see the session read-only. Put :class:`CSRFMiddleware` inside
    this one to keep CSRF secrets in the session. Example::

        app.add_middleware(SessionMiddleware, secret_key=os.environ["SESSION_KEY"])

        @app.post("/login")
        async def login(request: Request):
            request.session.regenerate()
            request.session["user_id"] = 42
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | bytes | Sequence[str | bytes],
        backend: str | SessionBackend | None = None,
        cookie_name: str = "session",
        max_age: int = 14 * 24 * 3600,
        same_site: str = "lax",
        https_only: bool | None = None,
        *,
        path: str = "/",
        domain: str | None = None,
    ) -> None:
        self.app = app
        keys = check_secret_keys(secret_key, "SessionMiddleware")
        self.signer = Signer(keys, b"covet.session")
        if same_site.lower() not in ("lax", "strict", "none"):
            raise ValueError(f"same_site must be 'lax', 'strict' or 'none', got {same_site!r}.")
        if same_site.lower() == "none" and https_only is False:
            raise ValueError("same_site='none' needs the Secure flag; browsers drop it otherwise. Remove https_only=False.")
        if isinstance(backend, str):
            backend = RedisSessionBackend(backend)
        self.backend: SessionBackend | None = backend
        self.cookie_name = cookie_name
        self.max_age = int(max_age)
        self.same_site = same_site.lower()
        self.https_only = True if self.same_site == "none" else https_only
        self.path = path
        self.domain = domain
        # The expiring cookie never changes: encoded once.
        self.deleting = _cookie_header(cookie_name, "", 0, 0, path, domain, False, True, self.same_site)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan" and self.backend is not None:
            await self.app(scope, receive, self._closing_send(send))
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = request_cookie(scope, self.cookie_name)
        if self.backend is None:
            session = Session()
            if raw is not None:
                session._loader = functools.partial(self._decode, raw, session)
        else:
            session = await self._load(raw)
        scope["session"] = session
        if kind == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and (session.accessed or session.modified):
                headers = list(message.get("headers", ()))
                add_vary(headers, b"Cookie")
                if session.modified:
                    cookie = await self._commit(session, raw, scope)
                    if cookie is not None:
                        headers.append((b"set-cookie", cookie))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    # -- cookie sessions ----------------------------------------------------------------------------

    def _decode(self, raw: str, session: Session) -> dict[str, Any]:
        verified = self.signer.unsign(raw, self.max_age)
        if verified is None:
            return {}
        payload, key_index = verified
        try:
            data = _decode(b64decode(payload))
        except (ValueError, msgspec.DecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        if key_index:
            session.modified = True  # signed with an older key: re-sign with the newest
        return data

    # -- server-side sessions -----------------------------------------------------------------------

    async def _load(self, raw: str | None) -> Session:
        assert self.backend is not None
        if raw is not None:
            verified = self.signer.unsign(raw, self.max_age)
            if verified is not None:
                session_id = verified[0]
                data = await self.backend.load(session_id)
                if data is not None:
                    session = Session(data, session_id=session_id)
                    if verified[1]:
                        session.modified = True  # the id signed with an older key: re-sign with the newest
                    return session
        return Session()  # no id, or one the server does not know: a new id when data is stored

    # -- the response -------------------------------------------------------------------------------

    async def _commit(self, session: Session, raw: str | None, scope: Scope) -> bytes | None:
        """The ``Set-Cookie`` value for a changed session (None: nothing to send)."""
        data = session._data
        if self.backend is not None:
            if session.regenerated and session.id is not None:
                await self.backend.delete(session.id)
                session.id = None
            if not data:
                return self.deleting if raw is not None else None
            if session.id is None:
                session.id = secrets.token_urlsafe(32)
            await self.backend.save(session.id, data, self.max_age)
            value = self.signer.sign(session.id)
        else:
            if not data:
                return self.deleting if raw is not None else None
            value = self.signer.sign(b64encode(_encode(data)))
        secure = self.https_only if self.https_only is not None else scope.get("scheme") == "https"
        cookie = _cookie_header(
            self.cookie_name, value, self.max_age, None, self.path, self.domain, secure, True, self.same_site
        )
        if len(cookie) > MAX_COOKIE_SIZE:
            raise SessionTooLarge(
                f"The session cookie would be {len(cookie)} bytes; browsers drop cookies over "
                f"{MAX_COOKIE_SIZE} bytes (RFC 6265 §6.1). Keep less in request.session, or keep it "
                "server-side: SessionMiddleware(..., backend='redis://...')."
            )
        return cookie

    def _closing_send(self, send: Send) -> Send:
        backend = self.backend
        assert backend is not None

        async def closing_send(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await backend.close()
            await send(message)

        return closing_send
