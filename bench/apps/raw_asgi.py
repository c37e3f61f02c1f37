"""The floor: a hand-written ASGI app with no framework at all.

It does the least work a careful hand-written app would do for the same routes: a dict
for static paths, and for dynamic paths a dict keyed by the first segment that leads to a
short list of compiled regexes. JSON is encoded per request with msgspec, like covet does,
so the floor includes real encoding rather than a precomputed byte string.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from apps._shared import DECOY_BODY, MESSAGE, dynamic_decoy_prefixes, static_decoy_paths

__all__ = ["app"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# A handler gets the matched path parameters and returns (content type, body).
Handler = Callable[[dict[str, Any]], tuple[bytes, bytes]]

_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"
_encode_json = msgspec.json.Encoder().encode


def _plaintext(params: dict[str, Any]) -> tuple[bytes, bytes]:
    return _TEXT, MESSAGE.encode()


def _json(params: dict[str, Any]) -> tuple[bytes, bytes]:
    return _JSON, _encode_json({"message": MESSAGE})


def _decoy(params: dict[str, Any]) -> tuple[bytes, bytes]:
    return _TEXT, DECOY_BODY.encode()


def _user_post(params: dict[str, Any]) -> tuple[bytes, bytes]:
    return _JSON, _encode_json({"user_id": int(params["user_id"]), "slug": params["slug"]})


_STATIC: dict[str, Handler] = {"/plaintext": _plaintext, "/json": _json}
_STATIC.update({path: _decoy for path in static_decoy_paths()})

_DYNAMIC: dict[str, list[tuple[re.Pattern[str], Handler]]] = {}
for _prefix in dynamic_decoy_prefixes():
    _DYNAMIC.setdefault(_prefix[1:], []).append(
        (re.compile(re.escape(_prefix) + r"/(?P<x>[^/]+)/items/(?P<y>[^/]+)"), _decoy)
    )
_DYNAMIC.setdefault("users", []).append(
    (re.compile(r"/users/(?P<user_id>[0-9]+)/posts/(?P<slug>[^/]+)"), _user_post)
)


def _route(path: str) -> tuple[Handler, dict[str, Any]] | None:
    handler = _STATIC.get(path)
    if handler is not None:
        return handler, {}
    for pattern, handler in _DYNAMIC.get(path[1:].partition("/")[0], ()):
        match = pattern.fullmatch(path)
        if match is not None:
            return handler, match.groupdict()
    return None


async def _respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the benchmark routes; acknowledge lifespan so the harness treats all apps alike."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    found = _route(scope["path"])
    if found is None:
        await _respond(send, 404, _TEXT, b"Not Found")
    elif scope["method"] != "GET":
        await _respond(send, 405, _TEXT, b"Method Not Allowed")
    else:
        handler, params = found
        content_type, body = handler(params)
        await _respond(send, 200, content_type, body)
