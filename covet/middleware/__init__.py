"""covet's middleware: pure ASGI classes, each ``Cls(app, **options)``, one module each.

Give them to the app outermost first (``Covet(middleware=[...])``), with
``app.add_middleware(Cls, **options)`` (the last added is outermost), or to one route or
blueprint (``middleware=[...]``); an entry is a class or a ``(class, options)`` pair everywhere.
See ``docs/middleware.md`` for the order to use and every default.
"""

from __future__ import annotations

from ._asgi import BodyTooLarge, buffer_body
from .cors import CORSMiddleware
from .csrf import CSRFMiddleware, csrf_token
from .gzip import GZipMiddleware
from .httpsredirect import HTTPSRedirectMiddleware
from .proxyheaders import ProxyHeadersMiddleware
from .ratelimit import RateLimitMiddleware
from .securityheaders import SecurityHeadersMiddleware, csp_nonce
from .sessions import RedisSessionBackend, Session, SessionBackend, SessionMiddleware, SessionTooLarge
from .trustedhost import TrustedHostMiddleware

__all__ = [
    "CORSMiddleware",
    "GZipMiddleware",
    "TrustedHostMiddleware",
    "HTTPSRedirectMiddleware",
    "ProxyHeadersMiddleware",
    "RateLimitMiddleware",
    "SecurityHeadersMiddleware",
    "csp_nonce",
    "SessionMiddleware",
    "Session",
    "SessionBackend",
    "RedisSessionBackend",
    "SessionTooLarge",
    "CSRFMiddleware",
    "csrf_token",
    "buffer_body",
    "BodyTooLarge",
]
