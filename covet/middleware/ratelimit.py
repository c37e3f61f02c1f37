"""``RateLimitMiddleware``: one rate limit over every HTTP request of an app.

A refused request is answered ``429`` here, before routing, hooks or body reading; an allowed
one gets the ``RateLimit-Policy`` and ``RateLimit`` headers added to its response. See
:mod:`covet.ratelimit` for the algorithm, the keys and the backends.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..ratelimit import KeyFunc, Limiter, Rate, rate_limit_headers
from ..requests import Request
from ..types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RateLimitMiddleware"]


class RateLimitMiddleware:
    """Limit every client to ``limit`` HTTP requests (``"100/minute"``) across the whole app.

    Example::

        app.add_middleware(RateLimitMiddleware, limit="100/minute", backend="redis://localhost:6379/0")

    - ``key``: ``None`` keys on the client address of the ASGI scope. Behind a proxy, add
      ``ProxyHeadersMiddleware`` (outside this one) with the proxy's address in ``trusted_hosts``;
      ``X-Forwarded-For`` from anyone else is ignored. Or a function of the request (sync or async)
      returning a str, e.g. ``covet.ratelimit.header_key("X-API-Key")``; None falls back to the address.
    - ``backend``: ``None`` (in memory, this process), ``"redis://..."`` (shared by all workers),
      or a backend object. A Redis connection is closed at app shutdown.
    - ``policy``: the quota policy's name in the headers; ``prefix`` separates this limit's keys
      from others in a shared backend.

    WebSocket and lifespan traffic passes through unlimited.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: str | Rate = "100/minute",
        key: KeyFunc | None = None,
        backend: Any = None,
        *,
        policy: str = "default",
        prefix: str = "app",
    ) -> None:
        self.app = app
        self.limiter = Limiter(limit, key=key, backend=backend, policy=policy)
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        limiter = self.limiter
        result = await limiter.hit(Request(scope), self.prefix)
        headers = rate_limit_headers(result, limiter.policy, limiter.rate)
        if not result.allowed:
            body = msgspec.json.encode({"detail": f"Rate limit exceeded ({limiter.rate.text}); retry in {result.retry_after} s."})
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _closing(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.limiter.backend.aclose()
            await send(message)

        return send_closing
