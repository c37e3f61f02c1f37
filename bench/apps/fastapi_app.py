"""FastAPI: typed parameters and dict returns, as its tutorial writes them.

Like covet, the JSON routes return a plain dict and let the framework encode it, and the
parameter route declares ``user_id: int`` so the framework converts and validates it. The
body is a pydantic model with the same fields and constraint as ``Item``, query parameters
are typed function parameters, and ``/deps3`` uses ``Annotated[int, Depends(...)]`` with
async dependencies, each depending on the one before.

The variants are the same routes on another ``FastAPI``: ``hooked_app()`` has the app-level
dependency ``dependencies=[Depends(require_request_id)]`` (FastAPI's hook: it reads
``x-request-id`` through ``Header()`` onto ``request.state`` and raises ``HTTPException(400)``
without it), ``deps_app()`` gives ``POST /items`` three ``Depends``: a constant, a generator (the
session, closed after the response) and one on the generator that reads ``x-user`` through
``Header()``; ``stack_app()`` passes the three pure-ASGI middleware as ``middleware=[Middleware(cls)
...]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.middleware import Middleware

from apps._middleware import STACK
from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    MISSING_REQUEST_ID,
    STD_ORIGIN,
    STD_SECRET,
    Session,
    current_user,
    dynamic_decoy_prefixes,
    max_tags,
    static_decoy_paths,
)

__all__ = ["app", "deps_app", "hooked_app", "stack_app", "std_stack_app"]


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: list[str]


async def plaintext() -> PlainTextResponse:
    return PlainTextResponse(MESSAGE)


async def json() -> dict[str, Any]:
    return {"message": MESSAGE}


async def post_item(item: Item) -> Item:
    return item


async def query(a: int, b: str, c: bool) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c}


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


async def deps3(d3: Annotated[int, Depends(dep3)]) -> dict[str, Any]:
    return {"v": d3}


async def static_decoy() -> PlainTextResponse:
    return PlainTextResponse(DECOY_BODY)


async def dynamic_decoy(x: str, y: str) -> PlainTextResponse:
    return PlainTextResponse(DECOY_BODY)


async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}


# -- deps: three dependencies on POST /items ------------------------------------------------------


async def get_session() -> AsyncIterator[Session]:
    session = Session()
    try:
        yield session
    finally:
        session.close()


async def get_user(
    session: Annotated[Session, Depends(get_session)], x_user: Annotated[str, Header()]
) -> str:
    return await current_user(session, x_user)


async def post_item_deps(
    item: Item,
    limit: Annotated[int, Depends(max_tags)],
    session: Annotated[Session, Depends(get_session)],
    user: Annotated[str, Depends(get_user)],
) -> Item:
    session.add(item, limit)
    return item


# -- hooked: one app-level dependency ----------------------------------------------------------------


async def require_request_id(request: Request, x_request_id: Annotated[str | None, Header()] = None) -> None:
    if x_request_id is None:
        raise HTTPException(400, detail=MISSING_REQUEST_ID["detail"])
    request.state.request_id = x_request_id


def build(
    *, items: Callable[..., Any] = post_item, middleware: Sequence[Any] = (), hook: bool = False
) -> FastAPI:
    """The bench routes on a new app; the arguments make the variants."""
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(require_request_id)] if hook else None,
        middleware=[Middleware(cls) for cls in middleware] or None,
    )
    app.add_api_route("/plaintext", plaintext, methods=["GET"])
    app.add_api_route("/json", json, methods=["GET"])
    app.add_api_route("/items", items, methods=["POST"], status_code=201)
    app.add_api_route("/query", query, methods=["GET"])
    app.add_api_route("/deps0", deps0, methods=["GET"])
    app.add_api_route("/deps3", deps3, methods=["GET"])
    for path in static_decoy_paths():
        app.add_api_route(path, static_decoy, methods=["GET"])
    for prefix in dynamic_decoy_prefixes():
        app.add_api_route(f"{prefix}/{{x}}/items/{{y}}", dynamic_decoy, methods=["GET"])
    app.add_api_route("/users/{user_id}/posts/{slug}", user_post, methods=["GET"])
    return app


app = build()


def hooked_app() -> FastAPI:
    return build(hook=True)


def deps_app() -> FastAPI:
    return build(items=post_item_deps)


def stack_app() -> FastAPI:
    return build(middleware=STACK)


async def json_session(request: Request) -> dict[str, Any]:
    request.session.get("user")
    return {"message": MESSAGE}


def std_stack_app() -> FastAPI:
    """``/json`` reading the session, behind Starlette's CORS, GZip and (itsdangerous) sessions."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware

    app = build()
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != "/json"]
    app.add_api_route("/json", json_session, methods=["GET"])
    app.add_middleware(SessionMiddleware, secret_key=STD_SECRET)
    app.add_middleware(GZipMiddleware)
    app.add_middleware(CORSMiddleware, allow_origins=[STD_ORIGIN])
    return app
