"""Litestar: typed handler parameters, msgspec bodies and ``Provide`` dependencies.

The body is the ``msgspec.Struct`` ``Item`` itself (Litestar decodes and validates msgspec types
natively), query parameters are typed function parameters, and ``/deps3`` uses three ``Provide``
dependencies, each taking the one before. Litestar answers ``400`` for data that does not
validate; an exception handler for its ``ValidationException`` answers ``422`` as the other apps
do. The OpenAPI routes are off, as for FastAPI and covet.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler

from apps._shared import DECOY_BODY, MESSAGE, Item, dynamic_decoy_prefixes, static_decoy_paths

__all__ = ["app"]


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> str:
    return MESSAGE


@get("/json")
async def json() -> dict[str, Any]:
    return {"message": MESSAGE}


@post("/items", status_code=201)
async def post_item(data: Item) -> Item:
    return data


@get("/query")
async def query(a: int, b: str, c: bool) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c}


@get("/deps0")
async def deps0() -> dict[str, Any]:
    v = 1
    v += 1
    v += 1
    return {"v": v}


async def dep1() -> int:
    return 1


async def dep2(d1: int) -> int:
    return d1 + 1


async def dep3(d2: int) -> int:
    return d2 + 1


@get(
    "/deps3",
    dependencies={"d1": Provide(dep1), "d2": Provide(dep2), "d3": Provide(dep3)},
)
async def deps3(d3: int) -> dict[str, Any]:
    return {"v": d3}


async def static_decoy() -> str:
    return DECOY_BODY


async def dynamic_decoy(x: str, y: str) -> str:
    return DECOY_BODY


@get("/users/{user_id:int}/posts/{slug:str}")
async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}


def invalid_input(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    # Litestar says 400 for data that does not validate; the other apps say 422.
    return Response({"detail": exc.detail, "extra": exc.extra}, status_code=422)


# Litestar binds a handler object to one set of paths, so every decoy gets its own handler.
_handlers: list[HTTPRouteHandler] = [plaintext, json, post_item, query, deps0, deps3]
_handlers += [
    get(path, media_type=MediaType.TEXT, name=f"static_decoy{i}")(static_decoy)
    for i, path in enumerate(static_decoy_paths())
]
_handlers += [
    get(f"{prefix}/{{x:str}}/items/{{y:str}}", media_type=MediaType.TEXT, name=f"dynamic_decoy{i}")(
        dynamic_decoy
    )
    for i, prefix in enumerate(dynamic_decoy_prefixes())
]
_handlers.append(user_post)

app = Litestar(
    route_handlers=_handlers,
    openapi_config=None,
    exception_handlers={ValidationException: invalid_input},
)
