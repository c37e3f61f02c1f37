"""BlackSheep: typed handler parameters bound from the route, the query and a JSON body.

The body is a pydantic model with the same fields and constraint as ``Item`` (BlackSheep binds
and validates pydantic models itself), query parameters are typed function parameters, and dict
returns are encoded by the framework. BlackSheep answers ``400`` for a body or query value that
does not validate; an exception handler turns those binder errors into ``422``, as the other apps
answer, while malformed JSON stays ``400``. BlackSheep's dependency injection provides services
by type rather than chains of functions, so ``/deps3`` awaits the three dependencies in turn, as
the Starlette app does.
"""

from __future__ import annotations

import logging
from typing import Any

from blacksheep import Application, FromJSON, Request, Response, json, text
from blacksheep.exceptions import BadRequestFormat
from blacksheep.server.routing import Router
from pydantic import BaseModel, Field, ValidationError

from apps._shared import DECOY_BODY, MESSAGE, dynamic_decoy_prefixes, nested_dependencies, static_decoy_paths

__all__ = ["app"]


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: list[str]


# A router of its own: the default one is shared by every Application in the process, and the
# decoy sweep builds this app three times in one process.
app = Application(show_error_details=False, router=Router())
# BlackSheep logs every 4xx at INFO level; the bench sends thousands of them in its checks.
app.logger.setLevel(logging.WARNING)


async def invalid_input(app: Application, request: Request, exc: Exception) -> Response:
    # BlackSheep answers 400 when a query value or a body fails to bind; the others answer 422.
    # Malformed JSON (BadRequestFormat) stays 400, as in the other apps.
    status = 400 if isinstance(exc, BadRequestFormat) else 422
    return json({"detail": str(exc)}, status=status)


# Binder errors are BadRequest, looked up by their status; pydantic's errors by their class.
app.exceptions_handlers[400] = invalid_input
app.exceptions_handlers[ValidationError] = invalid_input


@app.router.get("/plaintext")
async def plaintext() -> Response:
    return text(MESSAGE)


@app.router.get("/json")
async def json_route() -> dict[str, Any]:
    return {"message": MESSAGE}


@app.router.post("/items")
async def post_item(item: FromJSON[Item]) -> Response:
    return json(item.value.model_dump(), status=201)


@app.router.get("/query")
async def query(a: int, b: str, c: bool) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c}


@app.router.get("/deps0")
async def deps0() -> dict[str, Any]:
    v = 1
    v += 1
    v += 1
    return {"v": v}


@app.router.get("/deps3")
async def deps3() -> dict[str, Any]:
    return {"v": await nested_dependencies()}


async def static_decoy() -> Response:
    return text(DECOY_BODY)


async def dynamic_decoy(x: str, y: str) -> Response:
    return text(DECOY_BODY)


for _path in static_decoy_paths():
    app.router.add_get(_path, static_decoy)
for _prefix in dynamic_decoy_prefixes():
    app.router.add_get(f"{_prefix}/{{x}}/items/{{y}}", dynamic_decoy)


@app.router.get("/users/{int:user_id}/posts/{slug}")
async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}
