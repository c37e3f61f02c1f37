"""Refusing requests whose body framing is ambiguous: 400 and ``Connection: close``.

RFC 9112 §6.1: a request with both ``Transfer-Encoding`` and ``Content-Length`` "ought to be
handled as an error", and the server must close the connection after responding; §6.3 says the
same of conflicting Content-Length values. hypercorn's h11 frames such a request by
Transfer-Encoding and keeps the connection open, so bytes a Content-Length-framing proxy sent as
body would run as a second request. covet sees both headers in the scope and answers this way
before any routing, middleware or hook, so no app code runs for such a request.
"""

from __future__ import annotations

from ._parsing import framing_error
from .responses import json_encoder
from .types import Scope, Send

__all__ = ["framing_error", "refuse_framing"]


async def refuse_framing(reason: str, scope: Scope, send: Send) -> None:
    """Send the 400 for an ambiguously framed request, asking the server to close the connection."""
    body = json_encoder.encode({"detail": reason})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})
