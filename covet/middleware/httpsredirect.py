"""Send plain-HTTP requests to the same URL over HTTPS."""

from __future__ import annotations

from urllib.parse import quote

from ..types import ASGIApp, Receive, Scope, Send
from ._asgi import header, plain_response
from .trustedhost import host_name

__all__ = ["HTTPSRedirectMiddleware"]


class HTTPSRedirectMiddleware:
    """Redirect ``http``/``ws`` requests to ``https``/``wss`` (``308``: method and body kept).

    The redirect keeps the host, path and query; the port is dropped when it is 80 (and kept
    otherwise). Behind a TLS-terminating proxy, put :class:`ProxyHeadersMiddleware` outside this
    one so the proxy's ``X-Forwarded-Proto: https`` counts, or every request would loop. A
    malformed ``Host`` gets ``400`` rather than a redirect to wherever it points. Example::

        app.add_middleware(HTTPSRedirectMiddleware)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=["10.0.0.1"])   # outermost
    """

    def __init__(self, app: ASGIApp, status_code: int = 308) -> None:
        if status_code not in (301, 302, 307, 308):
            raise ValueError(f"HTTPSRedirectMiddleware status_code must be 301, 302, 307 or 308, got {status_code!r}.")
        self.app = app
        self.status_code = status_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scheme = scope.get("scheme", "http")
        if scope["type"] not in ("http", "websocket") or scheme in ("https", "wss"):
            await self.app(scope, receive, send)
            return
        raw = header(scope["headers"], b"host")
        if raw is None:
            server = scope.get("server") or ("localhost", 80)
            value = f"{server[0]}:{server[1]}"
        else:
            value = raw.decode("latin-1")
        host = host_name(value)
        if host is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await plain_response(send, 400, "Invalid host header.")
            return
        port = value[len(host) :].lstrip(".").lstrip(":") if not value.startswith("[") else value[len(host) :].lstrip(":")
        netloc = host if port in ("", "80") else f"{host}:{port}"
        path = quote(scope.get("root_path", "") + scope["path"], safe="/:@!$&'()*+,;=-._~%")
        query = scope.get("query_string", b"").decode("latin-1")
        target = "wss" if scope["type"] == "websocket" else "https"
        location = f"{target}://{netloc}{path}" + (f"?{query}" if query else "")
        if scope["type"] == "websocket":
            # A handshake cannot be redirected by most clients; refuse it with the policy code.
            await send({"type": "websocket.close", "code": 1008})
            return
        await plain_response(send, self.status_code, "Redirecting to HTTPS", [(b"location", location.encode("latin-1"))])
