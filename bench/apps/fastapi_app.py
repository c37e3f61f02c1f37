"""FastAPI: typed parameters and dict returns, as its tutorial writes them.

Like covet, the JSON routes return a plain dict and let the framework encode it, and the
parameter route declares ``user_id: int`` so the framework converts and validates it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from apps._shared import DECOY_BODY, MESSAGE, dynamic_decoy_prefixes, static_decoy_paths

__all__ = ["app"]

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/plaintext")
async def plaintext() -> PlainTextResponse:
    return PlainTextResponse(MESSAGE)


@app.get("/json")
async def json() -> dict[str, Any]:
    return {"message": MESSAGE}


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
