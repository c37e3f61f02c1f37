"""covet, written the way API.md shows; docs and OpenAPI routes are off as for FastAPI.

The body is an ``Item`` (a msgspec.Struct) handler parameter, query parameters are typed
function parameters, and ``/deps3`` uses ``Annotated[int, Depends(...)]`` with async
dependencies, each depending on the one before.
"""

from __future__ import annotations

from typing import Annotated, Any

from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    Item,
    dynamic_decoy_prefixes,
    static_decoy_paths,
)
from covet import Covet, Depends, PlainTextResponse

__all__ = ["app"]

app = Covet(docs_url=None, openapi_url=None)


@app.get("/plaintext")
async def plaintext() -> PlainTextResponse:
    return PlainTextResponse(MESSAGE)


@app.get("/json")
async def json() -> dict[str, Any]:
    return {"message": MESSAGE}


@app.post("/items", status_code=201)
async def post_item(item: Item) -> Item:
    return item


@app.get("/query")
async def query(a: int, b: str, c: bool) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c}


@app.get("/deps0")
async def deps0() -> dict[str, Any]:
    v = 1
    v += 1
    v += 1
    return {"v": v}


async def dep1() -> int:
    return 1


async def dep2(d1: Annotated[int, Depends(dep1)]) -> int:
    return d1 + 1


async def dep3(d2: Annotated[int, Depends(dep2)]) -> int:
    return d2 + 1


@app.get("/deps3")
async def deps3(d3: Annotated[int, Depends(dep3)]) -> dict[str, Any]:
    return {"v": d3}


async def static_decoy() -> PlainTextResponse:
    return PlainTextResponse(DECOY_BODY)


async def dynamic_decoy(x: str, y: str) -> PlainTextResponse:
    return PlainTextResponse(DECOY_BODY)


# Each decoy gets its own name: url_for names must be unique per app.
for _i, _path in enumerate(static_decoy_paths()):
    app.get(_path, name=f"static_decoy{_i}")(static_decoy)
for _i, _prefix in enumerate(dynamic_decoy_prefixes()):
    app.get(f"{_prefix}/<x>/items/<y>", name=f"dynamic_decoy{_i}")(dynamic_decoy)


@app.get("/users/<int:user_id>/posts/<slug>")
async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}
