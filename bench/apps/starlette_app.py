"""Starlette: the ASGI toolkit covet learns from, used the way its docs show."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

from apps._shared import DECOY_BODY, MESSAGE, dynamic_decoy_prefixes, static_decoy_paths

__all__ = ["app"]


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse(MESSAGE)


async def json(request: Request) -> JSONResponse:
    return JSONResponse({"message": MESSAGE})


async def decoy(request: Request) -> PlainTextResponse:
    return PlainTextResponse(DECOY_BODY)


async def user_post(request: Request) -> JSONResponse:
    params = request.path_params
    return JSONResponse({"user_id": params["user_id"], "slug": params["slug"]})


routes: list[BaseRoute] = [Route("/plaintext", plaintext), Route("/json", json)]
routes += [Route(path, decoy) for path in static_decoy_paths()]
routes += [Route(f"{prefix}/{{x}}/items/{{y}}", decoy) for prefix in dynamic_decoy_prefixes()]
routes.append(Route("/users/{user_id:int}/posts/{slug}", user_post))

app = Starlette(routes=routes)
