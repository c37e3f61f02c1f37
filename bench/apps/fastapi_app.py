"""FastAPI: typed parameters and dict returns, as its tutorial writes them.

Like covet, the JSON routes return a plain dict and let the framework encode it, and the
parameter route declares ``user_id: int`` so the framework converts and validates it. The
body is a pydantic model with the same fields and constraint as ``Item``, query parameters
are typed function parameters, and ``/deps3`` uses ``Annotated[int, Depends(...)]`` with
async dependencies, each depending on the one before.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from apps._shared import DECOY_BODY, MESSAGE, dynamic_decoy_prefixes, static_decoy_paths

__all__ = ["app"]


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: list[str]


app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


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


for _path in static_decoy_paths():
    app.add_api_route(_path, static_decoy, methods=["GET"])
for _prefix in dynamic_decoy_prefixes():
    app.add_api_route(f"{_prefix}/{{x}}/items/{{y}}", dynamic_decoy, methods=["GET"])


@app.get("/users/{user_id}/posts/{slug}")
async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}
