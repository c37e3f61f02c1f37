"""covet, written the way API.md shows; docs and OpenAPI routes are off as for FastAPI.

The body is an ``Item`` (a msgspec.Struct) handler parameter, query parameters are typed
function parameters, and ``/deps3`` uses ``Annotated[int, Depends(...)]`` with async
dependencies, each depending on the one before.

The variants are the same routes on another ``Covet``: ``hooked_app()`` adds an
``@app.before_request`` hook taking ``request: Request`` (it keeps ``x-request-id`` on
``request.state``, and returns a 400 response without it), ``deps_app()`` gives ``POST /items``
three ``Depends``: a constant, a generator (the session, closed after the response) and one on
the generator that reads ``x-user`` through ``Header()``; ``stack_app()`` passes the three
pure-ASGI middleware as ``Covet(middleware=[...])``; ``std_stack_app()`` puts covet's own
``CORSMiddleware``, ``GZipMiddleware`` and ``SessionMiddleware`` (signed cookie) in front of a
``/json`` that reads the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

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
    static_decoy_paths,
)
from covet import Covet, Depends, Header, JSONResponse, PlainTextResponse, Request
from covet.middleware import CORSMiddleware, GZipMiddleware, SessionMiddleware

__all__ = ["app", "deps_app", "hooked_app", "stack_app", "std_stack_app"]


async def plaintext() -> PlainTextResponse:
    return PlainTextResponse(MESSAGE)


async def json() -> dict[str, Any]:
    return {"message": MESSAGE}


async def json_session(request: Request) -> dict[str, Any]:
    request.session.get("user")
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


# -- hooked: one before-request hook ---------------------------------------------------------------


async def require_request_id(request: Request) -> JSONResponse | None:
    request_id = request.headers.get("x-request-id")
    if request_id is None:
        return JSONResponse(MISSING_REQUEST_ID, status_code=400)
    request.state.request_id = request_id
    return None


def build(
    *,
    items: Callable[..., Any] = post_item,
    middleware: Sequence[Any] = (),
    hook: bool = False,
    json_handler: Callable[..., Any] = json,
) -> Covet:
    """The bench routes on a new app; the arguments make the variants."""
    app = Covet(docs_url=None, openapi_url=None, middleware=list(middleware) or None)
    if hook:
        app.before_request(require_request_id)
    app.get("/plaintext")(plaintext)
    app.get("/json")(json_handler)
    app.post("/items", status_code=201)(items)
    app.get("/query")(query)
    app.get("/deps0")(deps0)
    app.get("/deps3")(deps3)
    # Each decoy gets its own name: url_for names must be unique per app.
    for i, path in enumerate(static_decoy_paths()):
        app.get(path, name=f"static_decoy{i}")(static_decoy)
    for i, prefix in enumerate(dynamic_decoy_prefixes()):
        app.get(f"{prefix}/<x>/items/<y>", name=f"dynamic_decoy{i}")(dynamic_decoy)
    app.get("/users/<int:user_id>/posts/<slug>")(user_post)
    return app


app = build()


def hooked_app() -> Covet:
    return build(hook=True)


def deps_app() -> Covet:
    return build(items=post_item_deps)


def stack_app() -> Covet:
    return build(middleware=STACK)


def std_stack_app() -> Covet:
    return build(
        json_handler=json_session,
        middleware=[
            (CORSMiddleware, {"allow_origins": [STD_ORIGIN]}),
            GZipMiddleware,
            (SessionMiddleware, {"secret_key": STD_SECRET}),
        ],
    )
