"""Starlette: the ASGI toolkit covet learns from, used the way its docs show.

Starlette has no typed parameters, bodies or dependencies, so its handlers do by hand what
the others declare: the body is decoded and validated by msgspec into ``Item`` (422 when
invalid, 400 when not JSON at all), query values are converted by hand, and the
dependencies of ``/deps3`` are plain nested awaits.
"""

from __future__ import annotations

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    Item,
    dynamic_decoy_prefixes,
    nested_dependencies,
    query_bool,
    static_decoy_paths,
)

__all__ = ["app"]

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
