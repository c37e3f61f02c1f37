"""Starlette: the ASGI toolkit covet learns from, used the way its docs show.

Starlette has no typed parameters, bodies or dependencies, so its handlers do by hand what
the others declare: the body is decoded and validated by msgspec into ``Item`` (422 when
invalid, 400 when not JSON at all), query values are converted by hand, and the
dependencies of ``/deps3`` are plain nested awaits.

The variants are new ``Starlette`` apps on the same routes. Starlette has no request hooks, so
``hooked_app()`` adds a small pure-ASGI middleware (``RequireRequestId``, through
``middleware=[Middleware(...)]``; not ``BaseHTTPMiddleware``, which costs a task and a stream per
request) that reads ``x-request-id`` with ``Headers(scope=scope)`` into ``scope["state"]`` (what
``request.state`` reads) and answers 400 without it. Starlette has no dependency injection, so
``deps_app()``'s ``POST /items`` calls the three dependencies in the handler and closes the
session in ``finally``. ``stack_app()`` passes the three middleware as ``middleware=[Middleware(cls)
...]``.
"""

from __future__ import annotations

import msgspec
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from apps._middleware import STACK
from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    MISSING_REQUEST_ID,
    STD_ORIGIN,
    STD_SECRET,
    Item,
    Session,
    current_user,
    dynamic_decoy_prefixes,
    max_tags,
    nested_dependencies,
    query_bool,
    static_decoy_paths,
)

__all__ = ["app", "deps_app", "hooked_app", "stack_app", "std_stack_app"]

_encode_json = msgspec.json.Encoder().encode
_decode_item = msgspec.json.Decoder(Item).decode


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse(MESSAGE)


async def json(request: Request) -> JSONResponse:
    return JSONResponse({"message": MESSAGE})


async def post_item(request: Request) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return JSONResponse({"detail": "expected application/json"}, status_code=415)
    try:
        item = _decode_item(await request.body())
    except msgspec.ValidationError as exc:  # a subclass of DecodeError, so it goes first
        return JSONResponse({"detail": str(exc)}, status_code=422)
    except msgspec.DecodeError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    # JSONResponse uses the json module, which cannot encode a Struct; msgspec can.
    return Response(_encode_json(item), status_code=201, media_type="application/json")


async def query(request: Request) -> JSONResponse:
    params = request.query_params
    try:
        a, b, c = int(params["a"]), params["b"], query_bool(params["c"])
    except KeyError as exc:
        return JSONResponse({"detail": f"missing query parameter {exc}"}, status_code=422)
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return JSONResponse({"a": a, "b": b, "c": c})


async def deps0(request: Request) -> JSONResponse:
    v = 1
    v += 1
    v += 1
    return JSONResponse({"v": v})


async def deps3(request: Request) -> JSONResponse:
    return JSONResponse({"v": await nested_dependencies()})


async def decoy(request: Request) -> PlainTextResponse:
    return PlainTextResponse(DECOY_BODY)


async def user_post(request: Request) -> JSONResponse:
    params = request.path_params
    return JSONResponse({"user_id": params["user_id"], "slug": params["slug"]})


routes: list[BaseRoute] = [
    Route("/plaintext", plaintext),
    Route("/json", json),
    Route("/items", post_item, methods=["POST"]),
    Route("/query", query),
    Route("/deps0", deps0),
    Route("/deps3", deps3),
]
routes += [Route(path, decoy) for path in static_decoy_paths()]
routes += [Route(f"{prefix}/{{x}}/items/{{y}}", decoy) for prefix in dynamic_decoy_prefixes()]
routes.append(Route("/users/{user_id:int}/posts/{slug}", user_post))

app = Starlette(routes=routes)


# -- the variants -------------------------------------------------------------------------------


class RequireRequestId:
    """The before-request hook as a pure-ASGI middleware: Starlette has no hooks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request_id = Headers(scope=scope).get("x-request-id")
            if request_id is None:
                await JSONResponse(MISSING_REQUEST_ID, status_code=400)(scope, receive, send)
                return
            scope.setdefault("state", {})["request_id"] = request_id
        await self.app(scope, receive, send)


async def post_item_deps(request: Request) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return JSONResponse({"detail": "expected application/json"}, status_code=415)
    try:
        item = _decode_item(await request.body())
    except msgspec.ValidationError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    except msgspec.DecodeError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    limit = await max_tags()
    session = Session()
    try:
        await current_user(session, request.headers.get("x-user", ""))
        session.add(item, limit)
        return Response(_encode_json(item), status_code=201, media_type="application/json")
    finally:
        session.close()


def hooked_app() -> Starlette:
    return Starlette(routes=routes, middleware=[Middleware(RequireRequestId)])


def deps_app() -> Starlette:
    items = Route("/items", post_item_deps, methods=["POST"])
    return Starlette(routes=[items if getattr(r, "path", None) == "/items" else r for r in routes])


def stack_app() -> Starlette:
    return Starlette(routes=routes, middleware=[Middleware(cls) for cls in STACK])


async def json_session(request: Request) -> JSONResponse:
    request.session.get("user")
    return JSONResponse({"message": MESSAGE})


def std_stack_app() -> Starlette:
    """``/json`` reading the session, behind Starlette's CORS, GZip and (itsdangerous) sessions."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware

    json_route = Route("/json", json_session)
    return Starlette(
        routes=[json_route if getattr(r, "path", None) == "/json" else r for r in routes],
        middleware=[
            Middleware(CORSMiddleware, allow_origins=[STD_ORIGIN]),
            Middleware(GZipMiddleware),
            Middleware(SessionMiddleware, secret_key=STD_SECRET),
        ],
    )
