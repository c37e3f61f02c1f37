"""The three pure-ASGI middleware of the ``stack`` scenario, the same classes for every framework.

Each wraps an ASGI app and adds one response header to ``http.response.start``, building a new
message and a new header list rather than editing the app's (a response object may reuse its own
list). Other scope types pass through untouched.

- ``RequestId``: ``x-request-id``, a process-unique id per request (a prefix and a counter);
- ``ServerTiming``: ``server-timing: app;dur=<ms>``, the time from the call to the response start;
- ``AllowAnyOrigin``: ``access-control-allow-origin: *``, as a CORS middleware answers a simple
  cross-origin request.

``STACK`` lists them outermost first. Every app adds them with its framework's own mechanism
where it has one for ASGI middleware, and wraps its app in them where it has none.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["STACK", "AllowAnyOrigin", "RequestId", "ServerTiming", "wrap"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _with_header(message: Message, name: bytes, value: bytes) -> Message:
    return {**message, "headers": [*message.get("headers", ()), (name, value)]}


class RequestId:
    """Add ``x-request-id: <pid hex>-<counter>`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._prefix = f"{os.getpid():x}-"
        self._count = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{self._prefix}{next(self._count)}".encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_header(message, b"x-request-id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)


class ServerTiming:
    """Add ``server-timing: app;dur=<ms>`` (W3C Server Timing), measured to the response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - start) * 1000
                message = _with_header(message, b"server-timing", f"app;dur={elapsed:.3f}".encode())
            await send(message)

        await self.app(scope, receive, send_with_timing)


class AllowAnyOrigin:
    """Add ``access-control-allow-origin: *`` to every HTTP response (Fetch standard, CORS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_header(message, b"access-control-allow-origin", b"*")
            await send(message)

        await self.app(scope, receive, send_with_origin)


# Outermost first.
STACK: tuple[type[Any], ...] = (AllowAnyOrigin, ServerTiming, RequestId)


def wrap(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in ``STACK``, for frameworks without a mechanism for ASGI middleware."""
    wrapped = app
    for middleware in reversed(STACK):
        wrapped = middleware(wrapped)
    return wrapped
