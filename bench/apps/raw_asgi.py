"""The floor: a hand-written ASGI app with no framework at all.

It does the least work a careful hand-written app would do for the same routes: a dict
for static paths, and for dynamic paths a dict keyed by the first segment that leads to a
short list of compiled regexes. JSON is encoded per request with msgspec, like covet does,
so the floor includes real encoding rather than a precomputed byte string. Handlers are
``async def`` as in every framework: the deps3 route needs awaits, and frameworks await
their handlers too. Bodies are read from ``receive``, checked to be JSON and decoded and
validated by msgspec into ``Item``; query values are split by hand and converted by hand.
A bad body or query value gets 422, a malformed JSON body 400.

The variants do the extra work inline: ``hooked_app()`` calls the hook as a plain function after
routing, as a framework runs a before-request hook for a matched route (``x-request-id`` read
from the headers into ``scope["state"]``, 400 without it); ``deps_app()`` serves ``POST /items``
with the three dependencies as plain calls and the session closed in ``finally``;
``stack_app()`` wraps ``app`` in the three middleware of ``apps._middleware``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from apps._middleware import wrap
from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    MISSING_REQUEST_ID,
    Item,
    Session,
    current_user,
    dynamic_decoy_prefixes,
    max_tags,
    nested_dependencies,
    query_bool,
    static_decoy_paths,
)

__all__ = ["app", "deps_app", "hooked_app", "stack_app"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# A handler gets the scope, receive and the matched path parameters, and returns
# (status, content type, body).
Handler = Callable[[Scope, Receive, dict[str, Any]], Awaitable[tuple[int, bytes, bytes]]]
Route = tuple[str, Handler]  # (method, handler)

_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"
_encode_json = msgspec.json.Encoder().encode
_decode_item = msgspec.json.Decoder(Item).decode


def _error(status: int, detail: str) -> tuple[int, bytes, bytes]:
    return status, _JSON, _encode_json({"detail": detail})


async def _plaintext(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    return 200, _TEXT, MESSAGE.encode()


async def _json(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    return 200, _JSON, _encode_json({"message": MESSAGE})


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _is_json(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return bool(value.partition(b";")[0].strip().lower() == _JSON)
    return False


async def _post_item(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    if not _is_json(scope):
        return _error(415, "expected application/json")
    try:
        item = _decode_item(await _read_body(receive))
    except msgspec.ValidationError as exc:  # a subclass of DecodeError, so it goes first
        return _error(422, str(exc))
    except msgspec.DecodeError as exc:
        return _error(400, str(exc))
    return 201, _JSON, _encode_json(item)


def _query_params(query_string: bytes) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in query_string.decode("latin-1").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:
            key, value = unquote_plus(key), unquote_plus(value)
        params.setdefault(key, value)  # the first value wins, as in the frameworks
    return params


async def _query(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    query = _query_params(scope["query_string"])
    try:
        a, b, c = int(query["a"]), query["b"], query_bool(query["c"])
    except KeyError as exc:
        return _error(422, f"missing query parameter {exc}")
    except ValueError as exc:
        return _error(422, str(exc))
    return 200, _JSON, _encode_json({"a": a, "b": b, "c": c})


async def _deps0(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    v = 1
    v += 1
    v += 1
    return 200, _JSON, _encode_json({"v": v})


async def _deps3(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    return 200, _JSON, _encode_json({"v": await nested_dependencies()})


async def _decoy(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    return 200, _TEXT, DECOY_BODY.encode()


async def _user_post(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    return 200, _JSON, _encode_json({"user_id": int(params["user_id"]), "slug": params["slug"]})


_STATIC: dict[str, Route] = {
    "/plaintext": ("GET", _plaintext),
    "/json": ("GET", _json),
    "/items": ("POST", _post_item),
    "/query": ("GET", _query),
    "/deps0": ("GET", _deps0),
    "/deps3": ("GET", _deps3),
}
_STATIC.update({path: ("GET", _decoy) for path in static_decoy_paths()})

_DYNAMIC: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
for _prefix in dynamic_decoy_prefixes():
    _DYNAMIC.setdefault(_prefix[1:], []).append(
        (re.compile(re.escape(_prefix) + r"/(?P<x>[^/]+)/items/(?P<y>[^/]+)"), ("GET", _decoy))
    )
_DYNAMIC.setdefault("users", []).append(
    (re.compile(r"/users/(?P<user_id>[0-9]+)/posts/(?P<slug>[^/]+)"), ("GET", _user_post))
)


def _route(path: str) -> tuple[Route, dict[str, Any]] | None:
    route = _STATIC.get(path)
    if route is not None:
        return route, {}
    for pattern, route in _DYNAMIC.get(path[1:].partition("/")[0], ()):
        match = pattern.fullmatch(path)
        if match is not None:
            return route, match.groupdict()
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
        return
    (method, handler), params = found
    if scope["method"] != method:
        await _respond(send, 405, _TEXT, b"Method Not Allowed")
        return
    status, content_type, body = await handler(scope, receive, params)
    await _respond(send, status, content_type, body)


# -- the variants -------------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _require_request_id(scope: Scope) -> tuple[int, bytes, bytes] | None:
    # The before-request hook: None to go on, or the response that refuses the request.
    request_id = _header(scope, b"x-request-id")
    if request_id is None:
        return 400, _JSON, _encode_json(MISSING_REQUEST_ID)
    scope.setdefault("state", {})["request_id"] = request_id.decode("latin-1")
    return None


async def _post_item_deps(scope: Scope, receive: Receive, params: dict[str, Any]) -> tuple[int, bytes, bytes]:
    if not _is_json(scope):
        return _error(415, "expected application/json")
    try:
        item = _decode_item(await _read_body(receive))
    except msgspec.ValidationError as exc:
        return _error(422, str(exc))
    except msgspec.DecodeError as exc:
        return _error(400, str(exc))
    limit = await max_tags()
    session = Session()
    try:
        await current_user(session, (_header(scope, b"x-user") or b"").decode("latin-1"))
        session.add(item, limit)
        return 201, _JSON, _encode_json(item)
    finally:
        session.close()


def _application(static: dict[str, Route], hook: bool) -> ASGIApp:
    # app's dispatch again, over another static table and with the hook called inline.
    async def variant(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)  # lifespan
            return
        path = scope["path"]
        route = static.get(path)
        params: dict[str, Any] = {}
        if route is None:
            for pattern, candidate in _DYNAMIC.get(path[1:].partition("/")[0], ()):
                match = pattern.fullmatch(path)
                if match is not None:
                    route, params = candidate, match.groupdict()
                    break
            else:
                await _respond(send, 404, _TEXT, b"Not Found")
                return
        method, handler = route
        if scope["method"] != method:
            await _respond(send, 405, _TEXT, b"Method Not Allowed")
            return
        if hook:
            refused = _require_request_id(scope)
            if refused is not None:
                await _respond(send, *refused)
                return
        status, content_type, body = await handler(scope, receive, params)
        await _respond(send, status, content_type, body)

    return variant


def hooked_app() -> ASGIApp:
    """``app`` with the before-request hook called for every matched route."""
    return _application(_STATIC, hook=True)


def deps_app() -> ASGIApp:
    """``app`` with ``POST /items`` taking the three dependencies."""
    return _application({**_STATIC, "/items": ("POST", _post_item_deps)}, hook=False)


def stack_app() -> ASGIApp:
    """``app`` wrapped in the three pure-ASGI middleware."""
    return wrap(app)
