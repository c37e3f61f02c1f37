"""Cross-Origin Resource Sharing (the Fetch standard's CORS protocol), as pure ASGI middleware.

Everything that does not depend on the request (the allow-lists, the preflight headers) is
encoded once at construction; a request without an ``Origin`` header costs one header scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..types import ASGIApp, Message, Receive, Scope, Send
from ._asgi import add_vary, header, plain_response

__all__ = ["CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
#: Request headers a browser sends cross-origin without asking (Fetch, "CORS-safelisted").
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})


class CORSMiddleware:
    """Answer CORS preflights and add ``Access-Control-*`` headers for allowed origins.

    ``allow_origins``: exact origins (``"https://shop.example"``), or ``["*"]`` for any origin
    (then no credentials). ``allow_origin_regex``: a pattern the *whole* origin must match
    (``r"https://[a-z0-9-]+\\.shop\\.example"``), so ``https://shop.example.evil.test`` and port
    look-alikes do not pass. ``allow_methods`` / ``allow_headers``: what a preflight may ask for
    (``["*"]`` for anything). ``allow_credentials``: send ``Access-Control-Allow-Credentials``.
    ``expose_headers``: response headers scripts may read. ``max_age``: seconds a browser may cache
    a preflight answer.

    The default allows no origin at all. ``Origin: null`` (sandboxed frames, ``file:`` pages) is
    never allowed by a list entry or regex: any page can produce it. A disallowed preflight gets
    ``400`` naming what was refused; a disallowed simple request runs but gets no CORS headers,
    so the browser hides the answer. ``Vary: Origin`` is added to every response whose headers
    depend on the origin, also when the request had no ``Origin``, so a cache never hands one
    origin's answer to another; the app's own ``Vary`` values are kept.

    Raises ``ValueError`` at construction for ``"*"`` with ``allow_credentials=True`` (browsers
    refuse it, and reflecting any origin with credentials would expose every user's data).

    Example::

        app.add_middleware(CORSMiddleware, allow_origins=["https://shop.example"],
                           allow_methods=["GET", "POST"], allow_credentials=True)
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Sequence[str] = ("GET", "HEAD", "POST"),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        self.app = app
        for name, value in (
            ("allow_origins", allow_origins),
            ("allow_methods", allow_methods),
            ("allow_headers", allow_headers),
            ("expose_headers", expose_headers),
        ):
            if isinstance(value, str):
                raise TypeError(f"CORSMiddleware {name}= takes a list such as [{value!r}], not a string.")
        origins = [_checked_origin(origin) for origin in allow_origins]
        self.allow_all_origins = "*" in origins
        if self.allow_all_origins and allow_credentials:
            raise ValueError(
                "CORSMiddleware: allow_origins=['*'] with allow_credentials=True would let every site "
                "read your users' data, and browsers refuse it. List the origins you trust instead."
            )
        self.allow_origins = frozenset(origin for origin in origins if origin != "*")
        self.allow_origin_regex = re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        self.allow_credentials = allow_credentials
        methods = [method.upper() for method in allow_methods]
        self.allow_all_methods = "*" in methods
        self.allow_methods = frozenset(ALL_METHODS if self.allow_all_methods else methods)
        headers = [name.lower() for name in allow_headers]
        self.allow_all_headers = "*" in headers
        self.allow_headers = frozenset(headers) | SAFELISTED_HEADERS
        # The origin-independent headers, encoded once.
        #: Origin-independent headers of an allowed simple response.
        self.simple_headers: list[tuple[bytes, bytes]] = []
        if allow_credentials:
            self.simple_headers.append((b"access-control-allow-credentials", b"true"))
        if expose_headers:
            self.simple_headers.append((b"access-control-expose-headers", _joined(expose_headers)))
        self.preflight_headers: list[tuple[bytes, bytes]] = [(b"access-control-max-age", str(int(max_age)).encode())]
        if allow_credentials:
            self.preflight_headers.append((b"access-control-allow-credentials", b"true"))
        self.methods_header = _joined(sorted(self.allow_methods))
        self.headers_header = _joined(sorted(self.allow_headers))
        # With "*" and no credentials the answer is the same for every origin: no Vary needed.
        self.varies = not (self.allow_all_origins and not allow_credentials)

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` (the ``Origin`` header's value) may read responses."""
        if origin == "null":
            return self.allow_all_origins and not self.allow_credentials
        if self.allow_all_origins or origin in self.allow_origins:
            return True
        return self.allow_origin_regex is not None and self.allow_origin_regex.fullmatch(origin) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_origin = header(scope["headers"], b"origin")
        if raw_origin is None:
            if self.varies:
                await self.app(scope, receive, _VarySend(send))
            else:
                await self.app(scope, receive, send)
            return
        origin = raw_origin.decode("latin-1")
        if scope["method"] == "OPTIONS" and header(scope["headers"], b"access-control-request-method") is not None:
            await self.preflight(scope, origin, send)
            return
        if not self.is_allowed_origin(origin):
            await self.app(scope, receive, _VarySend(send) if self.varies else send)
            return
        await self.app(scope, receive, _SimpleSend(send, self, raw_origin))

    async def preflight(self, scope: Scope, origin: str, send: Send) -> None:
        """Answer a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) without the app."""
        headers = scope["headers"]
        method = (header(headers, b"access-control-request-method") or b"").decode("latin-1").strip().upper()
        requested = (header(headers, b"access-control-request-headers") or b"").decode("latin-1")
        asked = [name.strip().lower() for name in requested.split(",") if name.strip()]
        problems = []
        if not self.is_allowed_origin(origin):
            problems.append(f"origin {origin!r} is not allowed")
        if method not in self.allow_methods:
            problems.append(f"method {method!r} is not allowed")
        if not self.allow_all_headers:
            refused = [name for name in asked if name not in self.allow_headers]
            if refused:
                problems.append(f"headers {refused} are not allowed")
        vary = [(b"vary", b"Origin")] if self.varies else []
        if problems:
            await plain_response(send, 400, "CORS preflight refused: " + "; ".join(problems) + ".", vary)
            return
        allow_origin = b"*" if self.allow_all_origins and not self.allow_credentials else origin.encode("latin-1")
        response = [(b"access-control-allow-origin", allow_origin), *self.preflight_headers, *vary]
        if self.allow_all_methods and self.allow_credentials:
            response.append((b"access-control-allow-methods", method.encode("latin-1")))  # "*" is literal then
        else:
            response.append((b"access-control-allow-methods", self.methods_header))
        if self.allow_all_headers and asked:
            response.append((b"access-control-allow-headers", ", ".join(asked).encode("latin-1")))
        else:
            response.append((b"access-control-allow-headers", self.headers_header))
        await plain_response(send, 200, "OK", response)


class _VarySend:
    """Adds ``Vary: Origin`` to the response start."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            add_vary(headers, b"Origin")
            message = {**message, "headers": headers}
        await self.send(message)


class _SimpleSend:
    """Adds the CORS headers of an allowed origin to the response start."""

    __slots__ = ("send", "cors", "origin")

    def __init__(self, send: Send, cors: CORSMiddleware, origin: bytes) -> None:
        self.send = send
        self.cors = cors
        self.origin = origin

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            cors = self.cors
            headers = [item for item in message.get("headers", ()) if item[0] != b"access-control-allow-origin"]
            wildcard = cors.allow_all_origins and not cors.allow_credentials
            headers.append((b"access-control-allow-origin", b"*" if wildcard else self.origin))
            headers += cors.simple_headers
            if cors.varies:
                add_vary(headers, b"Origin")
            message = {**message, "headers": headers}
        await self.send(message)


def _checked_origin(origin: str) -> str:
    if origin == "*":
        return origin
    if origin == "null":
        raise ValueError(
            "CORSMiddleware: 'null' is not an origin you can trust (sandboxed frames and file: pages "
            "of any site send it); remove it from allow_origins."
        )
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", origin):
        raise ValueError(
            f"CORSMiddleware: allow_origins takes origins such as 'https://shop.example' or "
            f"'http://localhost:8000' (scheme, host, optional port; no path or trailing slash), got {origin!r}."
        )
    return origin


def _joined(values: Iterable[str]) -> bytes:
    return ", ".join(values).encode("latin-1")
