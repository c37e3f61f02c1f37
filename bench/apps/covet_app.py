"""covet, written the way API.md shows; docs and OpenAPI routes are off as for FastAPI."""

from __future__ import annotations

from typing import Any

from covet import Covet, PlainTextResponse

from apps._shared import DECOY_BODY, MESSAGE, dynamic_decoy_prefixes, static_decoy_paths

__all__ = ["app"]

app = Covet(docs_url=None, openapi_url=None)


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


# Each decoy gets its own name: url_for names must be unique per app.
for _i, _path in enumerate(static_decoy_paths()):
    app.get(_path, name=f"static_decoy{_i}")(static_decoy)
for _i, _prefix in enumerate(dynamic_decoy_prefixes()):
    app.get(f"{_prefix}/<x>/items/<y>", name=f"dynamic_decoy{_i}")(dynamic_decoy)


@app.get("/users/<int:user_id>/posts/<slug>")
async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}
