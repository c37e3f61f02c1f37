"""Refuse requests for hosts the app does not serve (``Host`` header spoofing, DNS rebinding)."""

from __future__ import annotations

from collections.abc import Sequence

from .._hosts import is_valid_host
from ..types import ASGIApp, Receive, Scope, Send
from ._asgi import header_values, plain_response

__all__ = ["TrustedHostMiddleware", "host_name"]


def host_name(value: str) -> str | None:
    """The host of a ``Host`` value, lower-case, without port or trailing dot; None if malformed.

    ``"Shop.Example.:8443"`` gives ``"shop.example"``, ``"[::1]:8000"`` gives ``"[::1]"``. A value
    that is not ``uri-host [":" port]`` (RFC 9110 §7.2), such as ``"evil.test/x"`` or
    ``"a@b"``, gives None.
    """
    if not is_valid_host(value):
        return None
    if value.startswith("["):
        return value[: value.index("]") + 1].lower()
    host = value.partition(":")[0].lower()
    host = host[:-1] if host.endswith(".") else host
    # "." (or ".:80") names no host: an empty netloc would make "https:///evil.example/..."
    return host if host and not host.startswith(".") else None


class TrustedHostMiddleware:
    """Answer ``400`` to any request whose ``Host`` is not one of ``allowed_hosts``.

    ``allowed_hosts``: names such as ``"shop.example"``, ``"*.shop.example"`` (any subdomain, at any
    depth, but not ``shop.example`` itself: list both) or ``"*"`` (any host). Compared without the
    port, case-insensitively, a trailing dot ignored. A ``Host`` that is malformed, missing, or sent
    twice is refused too. WebSocket handshakes for other hosts are closed (code 1008) before the
    app sees them. ``www_redirect=True`` sends ``example.com`` to ``www.example.com`` when only the
    latter is listed.

    Raises ``ValueError`` at construction for a pattern with a wildcard other than a leading
    ``*.``. Example::

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["shop.example", "*.shop.example"])
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str], www_redirect: bool = False) -> None:
        if isinstance(allowed_hosts, str):
            raise TypeError(f"allowed_hosts= takes a list such as [{allowed_hosts!r}], not a string.")
        self.app = app
        self.allow_any = "*" in allowed_hosts
        exact: set[str] = set()
        suffixes: list[str] = []
        for pattern in allowed_hosts:
            if pattern == "*":
                continue
            name = pattern.lower().rstrip(".")
            if name.startswith("*."):
                rest = name[2:]
                if "*" in rest or not rest:
                    raise ValueError(f"TrustedHostMiddleware: bad pattern {pattern!r}; write '*.example.com'.")
                suffixes.append("." + rest)
            elif "*" in name or host_name(name) != name:
                raise ValueError(
                    f"TrustedHostMiddleware: {pattern!r} is not a host name; give names such as "
                    "'shop.example' or '*.shop.example', without scheme or port."
                )
            else:
                exact.add(name)
        self.exact = frozenset(exact)
        self.suffixes = tuple(suffixes)
        self.www_redirect = www_redirect

    def is_allowed(self, host: str) -> bool:
        """Whether ``host`` (already :func:`host_name`-normalised) is served."""
        return self.allow_any or host in self.exact or host.endswith(self.suffixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        values = header_values(scope["headers"], b"host")
        host = host_name(values[0].decode("latin-1")) if len(values) == 1 else None
        if host is not None and self.is_allowed(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if host is not None and self.www_redirect and not host.startswith("www.") and self.is_allowed("www." + host):
            netloc = "www." + values[0].decode("latin-1").lower()
            path = scope.get("root_path", "") + scope["path"]
            query = scope.get("query_string", b"").decode("latin-1")
            from urllib.parse import quote

            location = f"{scope.get('scheme', 'http')}://{netloc}{quote(path)}" + (f"?{query}" if query else "")
            await plain_response(send, 308, "Redirecting", [(b"location", location.encode("latin-1"))])
            return
        await plain_response(send, 400, "Invalid host header.")
