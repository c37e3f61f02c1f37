"""Litestar: typed handler parameters, msgspec bodies and ``Provide`` dependencies.

The body is the ``msgspec.Struct`` ``Item`` itself (Litestar decodes and validates msgspec types
natively), query parameters are typed function parameters, and ``/deps3`` uses three ``Provide``
dependencies, each taking the one before. Litestar answers ``400`` for data that does not
validate; an exception handler for its ``ValidationException`` answers ``422`` as the other apps
do. The OpenAPI routes are off, as for FastAPI and covet.

The variants are the same routes on another ``Litestar``: ``hooked_app()`` passes
``before_request=`` (it reads ``x-request-id`` onto ``request.state`` and returns a 400 response
without it), ``deps_app()`` gives ``POST /items`` three ``Provide`` dependencies: a constant, a
generator (the session; Litestar closes it once the handler has returned, before the response is
sent) and one on the generator that reads ``x-user`` through ``Parameter(header=...)``;
``stack_app()`` passes the three pure-ASGI middleware as ``middleware=[...]`` (Litestar applies
them around each route's handler, after routing); ``std_stack_app()`` serves ``/json`` reading
the session behind Litestar's own CORS config, gzip compression config and client-side (signed
and encrypted cookie) sessions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter

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

__all__ = ["app", "deps_app", "hooked_app", "stack_app"]


async def plaintext() -> str:
    return MESSAGE


async def json() -> dict[str, Any]:
    return {"message": MESSAGE}


async def post_item(data: Item) -> Item:
    return data


async def query(a: int, b: str, c: bool) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c}


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


async def deps3(d3: int) -> dict[str, Any]:
    return {"v": d3}


async def static_decoy() -> str:
    return DECOY_BODY


async def dynamic_decoy(x: str, y: str) -> str:
    return DECOY_BODY


async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}


def invalid_input(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    # Litestar says 400 for data that does not validate; the other apps say 422.
    return Response({"detail": exc.detail, "extra": exc.extra}, status_code=422)


# -- deps: three dependencies on POST /items ------------------------------------------------------


async def get_session() -> AsyncIterator[Session]:
    session = Session()
    try:
        yield session
    finally:
        session.close()


async def get_user(session: Session, x_user: Annotated[str, Parameter(header="x-user")]) -> str:
    return await current_user(session, x_user)


async def post_item_deps(data: Item, limit: int, session: Session, user: str) -> Item:
    session.add(data, limit)
    return data


def _items_deps_handler() -> HTTPRouteHandler:
    dependencies = {"limit": Provide(max_tags), "session": Provide(get_session), "user": Provide(get_user)}
    return post("/items", status_code=201, dependencies=dependencies)(post_item_deps)


# -- hooked: before_request ---------------------------------------------------------------------------


async def require_request_id(request: Request[Any, Any, Any]) -> Response[Any] | None:
    request_id = request.headers.get("x-request-id")
    if request_id is None:
        return Response(MISSING_REQUEST_ID, status_code=400)
    request.state.request_id = request_id
    return None


def build(
    *,
    items: Callable[[], HTTPRouteHandler] = lambda: post("/items", status_code=201)(post_item),
    middleware: Sequence[Any] = (),
    hook: bool = False,
    json_handler: Callable[..., Any] = json,
    **options: Any,
) -> Litestar:
    """The bench routes on a new app; the arguments make the variants.

    Litestar binds a handler object to one set of paths and one app, so every call makes new
    handler objects, and every decoy gets its own.
    """
    handlers: list[HTTPRouteHandler] = [
        get("/plaintext", media_type=MediaType.TEXT)(plaintext),
        get("/json")(json_handler),
        items(),
        get("/query")(query),
        get("/deps0")(deps0),
        get(
            "/deps3",
            dependencies={"d1": Provide(dep1), "d2": Provide(dep2), "d3": Provide(dep3)},
        )(deps3),
    ]
    handlers += [
        get(path, media_type=MediaType.TEXT, name=f"static_decoy{i}")(static_decoy)
        for i, path in enumerate(static_decoy_paths())
    ]
    handlers += [
        get(f"{prefix}/{{x:str}}/items/{{y:str}}", media_type=MediaType.TEXT, name=f"dynamic_decoy{i}")(
            dynamic_decoy
        )
        for i, prefix in enumerate(dynamic_decoy_prefixes())
    ]
    handlers.append(get("/users/{user_id:int}/posts/{slug:str}")(user_post))
    return Litestar(
        route_handlers=handlers,
        openapi_config=None,
        exception_handlers={ValidationException: invalid_input},
        before_request=require_request_id if hook else None,
        middleware=list(middleware),
        **options,
    )


app = build()


def hooked_app() -> Litestar:
    return build(hook=True)


def deps_app() -> Litestar:
    return build(items=_items_deps_handler)


def stack_app() -> Litestar:
    return build(middleware=STACK)


async def json_session(request: Request[Any, Any, Any]) -> dict[str, Any]:
    request.session.get("user")
    return {"message": MESSAGE}


def std_stack_app() -> Litestar:
    """``/json`` reading the session, behind Litestar's CORS, gzip and cookie sessions."""
    from litestar.config.compression import CompressionConfig
    from litestar.config.cors import CORSConfig
    from litestar.middleware.session.client_side import CookieBackendConfig

    # Litestar's cookie sessions are AES-GCM encrypted: the key must be 16, 24 or 32 bytes.
    sessions = CookieBackendConfig(secret=STD_SECRET.encode()[:32])
    return build(
        json_handler=json_session,
        middleware=[sessions.middleware],
        cors_config=CORSConfig(allow_origins=[STD_ORIGIN]),
        compression_config=CompressionConfig(backend="gzip"),
    )
