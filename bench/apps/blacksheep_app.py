"""BlackSheep: typed handler parameters bound from the route, the query and a JSON body.

The body is a pydantic model with the same fields and constraint as ``Item`` (BlackSheep binds
and validates pydantic models itself), query parameters are typed function parameters, and dict
returns are encoded by the framework. BlackSheep answers ``400`` for a body or query value that
does not validate; an exception handler turns those binder errors into ``422``, as the other apps
answer, while malformed JSON stays ``400``. BlackSheep's dependency injection provides services
by type rather than chains of functions, so ``/deps3`` awaits the three dependencies in turn, as
the Starlette app does.

The variants are the same routes on another ``Application``: ``hooked_app()`` appends a
middleware function to ``app.middlewares`` (BlackSheep's request hook: it reads ``x-request-id``
onto the request as an attribute, BlackSheep requests having no state namespace, and answers
400 without it). BlackSheep's injection has no generator dependencies nor chains of functions, so
``deps_app()``'s ``POST /items`` calls the three dependencies in the handler and closes the
session in ``finally``. BlackSheep's middleware are not ASGI middleware, so ``stack_app()`` wraps
the application in the three pure-ASGI middleware.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from blacksheep import Application, FromJSON, Request, Response, json, text
from blacksheep.exceptions import BadRequestFormat
from blacksheep.server.routing import Router
from pydantic import BaseModel, Field, ValidationError

from apps._middleware import wrap
from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    MISSING_REQUEST_ID,
    Session,
    current_user,
    dynamic_decoy_prefixes,
    max_tags,
    nested_dependencies,
    static_decoy_paths,
)

__all__ = ["app", "deps_app", "hooked_app", "stack_app"]


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: list[str]


async def invalid_input(app: Application, request: Request, exc: Exception) -> Response:
    # BlackSheep answers 400 when a query value or a body fails to bind; the others answer 422.
    # Malformed JSON (BadRequestFormat) stays 400, as in the other apps.
    status = 400 if isinstance(exc, BadRequestFormat) else 422
    return json({"detail": str(exc)}, status=status)


async def plaintext() -> Response:
    return text(MESSAGE)


async def json_route() -> dict[str, Any]:
    return {"message": MESSAGE}


async def post_item(item: FromJSON[Item]) -> Response:
    return json(item.value.model_dump(), status=201)


async def query(a: int, b: str, c: bool) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c}


async def deps0() -> dict[str, Any]:
    v = 1
    v += 1
    v += 1
    return {"v": v}


async def deps3() -> dict[str, Any]:
    return {"v": await nested_dependencies()}


async def static_decoy() -> Response:
    return text(DECOY_BODY)


async def dynamic_decoy(x: str, y: str) -> Response:
    return text(DECOY_BODY)


async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}


async def post_item_deps(request: Request, item: FromJSON[Item]) -> Response:
    limit = await max_tags()
    session = Session()
    try:
        header = request.get_first_header(b"x-user")
        await current_user(session, header.decode("latin-1") if header is not None else "")
        session.add(item.value, limit)
        return json(item.value.model_dump(), status=201)
    finally:
        session.close()


async def require_request_id(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    request_id = request.get_first_header(b"x-request-id")
    if request_id is None:
        return json(MISSING_REQUEST_ID, status=400)
    request.request_id = request_id.decode("latin-1")
    return await handler(request)


def build(*, items: Callable[..., Any] = post_item, hook: bool = False) -> Application:
    """The bench routes on a new app; the arguments make the variants."""
    # A router of its own: the default one is shared by every Application in the process, and the
    # decoy sweep builds this app three times in one process.
    app = Application(show_error_details=False, router=Router())
    # BlackSheep logs every 4xx at INFO level; the bench sends thousands of them in its checks.
    app.logger.setLevel(logging.WARNING)
    # Binder errors are BadRequest, looked up by their status; pydantic's errors by their class.
    app.exceptions_handlers[400] = invalid_input
    app.exceptions_handlers[ValidationError] = invalid_input
    if hook:
        app.middlewares.append(require_request_id)
    router = app.router
    router.add_get("/plaintext", plaintext)
    router.add_get("/json", json_route)
    router.add_post("/items", items)
    router.add_get("/query", query)
    router.add_get("/deps0", deps0)
    router.add_get("/deps3", deps3)
    for path in static_decoy_paths():
        router.add_get(path, static_decoy)
    for prefix in dynamic_decoy_prefixes():
        router.add_get(f"{prefix}/{{x}}/items/{{y}}", dynamic_decoy)
    router.add_get("/users/{int:user_id}/posts/{slug}", user_post)
    return app


app = build()


def hooked_app() -> Application:
    return build(hook=True)


def deps_app() -> Application:
    return build(items=post_item_deps)


def stack_app() -> Any:
    return wrap(build())
