"""Falcon (``falcon.asgi.App``): resource classes, its compiled router and its request helpers.

Falcon has no typed parameters, bodies or dependencies. Query values go through Falcon's own
``get_param_as_int`` and ``get_param_as_bool``, which raise ``400`` errors by design; an error
handler turns those into ``422``, as the other apps answer. The body is decoded and validated by
msgspec into ``Item`` (422 when invalid, 400 when not JSON at all), like the Starlette app does.
Dict answers go through ``resp.media`` with Falcon's default JSON handler, and the dependencies
of ``/deps3`` are nested awaits.

The variants are the same routes on another ``falcon.asgi.App``: ``hooked_app()`` adds a
middleware component whose ``process_request`` (Falcon's before-request hook, run before
routing) reads ``x-request-id`` onto ``req.context`` and, without it, answers 400 and sets
``resp.complete`` to skip the rest. Falcon has no dependency injection, so ``deps_app()``'s
``POST /items`` resource calls the three dependencies and closes the session in ``finally``.
Falcon's middleware components are not ASGI middleware, so ``stack_app()`` wraps the app in the
three pure-ASGI middleware.
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
import msgspec

from apps._middleware import wrap
from apps._shared import (
    DECOY_BODY,
    MESSAGE,
    MISSING_REQUEST_ID,
    Item,
    Session,
    current_user,
    dynamic_decoy_prefixes,
    max_tags,
    nested_dependencies,
    static_decoy_paths,
)

__all__ = ["app", "deps_app", "hooked_app", "stack_app"]

_encode_json = msgspec.json.Encoder().encode
_decode_item = msgspec.json.Decoder(Item).decode

Request = falcon.asgi.Request
Response = falcon.asgi.Response


def _text(resp: Response, body: str) -> None:
    resp.content_type = falcon.MEDIA_TEXT
    resp.text = body


def _error(resp: Response, status: int, detail: str) -> None:
    resp.status = status
    resp.media = {"detail": detail}


class Plaintext:
    async def on_get(self, req: Request, resp: Response) -> None:
        _text(resp, MESSAGE)


class Json:
    async def on_get(self, req: Request, resp: Response) -> None:
        resp.media = {"message": MESSAGE}


class Items:
    async def on_post(self, req: Request, resp: Response) -> None:
        if (req.content_type or "").partition(";")[0].strip().lower() != "application/json":
            _error(resp, 415, "expected application/json")
            return
        try:
            item = _decode_item(await req.bounded_stream.read())
        except msgspec.ValidationError as exc:  # a subclass of DecodeError, so it goes first
            _error(resp, 422, str(exc))
            return
        except msgspec.DecodeError as exc:
            _error(resp, 400, str(exc))
            return
        resp.status = 201
        resp.content_type = falcon.MEDIA_JSON
        resp.data = _encode_json(item)


class ItemsDeps:
    async def on_post(self, req: Request, resp: Response) -> None:
        if (req.content_type or "").partition(";")[0].strip().lower() != "application/json":
            _error(resp, 415, "expected application/json")
            return
        try:
            item = _decode_item(await req.bounded_stream.read())
        except msgspec.ValidationError as exc:
            _error(resp, 422, str(exc))
            return
        except msgspec.DecodeError as exc:
            _error(resp, 400, str(exc))
            return
        limit = await max_tags()
        session = Session()
        try:
            await current_user(session, req.get_header("x-user", default=""))
            session.add(item, limit)
            resp.status = 201
            resp.content_type = falcon.MEDIA_JSON
            resp.data = _encode_json(item)
        finally:
            session.close()


class Query:
    async def on_get(self, req: Request, resp: Response) -> None:
        a = req.get_param_as_int("a", required=True)
        b = req.get_param("b", required=True)
        c = req.get_param_as_bool("c", required=True)
        resp.media = {"a": a, "b": b, "c": c}


class Deps0:
    async def on_get(self, req: Request, resp: Response) -> None:
        v = 1
        v += 1
        v += 1
        resp.media = {"v": v}


class Deps3:
    async def on_get(self, req: Request, resp: Response) -> None:
        resp.media = {"v": await nested_dependencies()}


class StaticDecoy:
    async def on_get(self, req: Request, resp: Response) -> None:
        _text(resp, DECOY_BODY)


class DynamicDecoy:
    async def on_get(self, req: Request, resp: Response, x: str, y: str) -> None:
        _text(resp, DECOY_BODY)


class UserPost:
    async def on_get(self, req: Request, resp: Response, user_id: int, slug: str) -> None:
        resp.media = {"user_id": user_id, "slug": slug}


async def invalid_param(req: Request, resp: Response, exc: Exception, params: dict[str, Any]) -> None:
    # Falcon says 400 for a missing or malformed parameter; the other apps say 422.
    _error(resp, 422, str(exc))


class RequireRequestId:
    """The before-request hook: a middleware component with ``process_request``."""

    async def process_request(self, req: Request, resp: Response) -> None:
        request_id = req.get_header("x-request-id")
        if request_id is None:
            resp.status = 400
            resp.media = MISSING_REQUEST_ID
            resp.complete = True
            return
        req.context.request_id = request_id


def build(*, items: object = None, hook: bool = False) -> falcon.asgi.App:
    """The bench routes on a new app; the arguments make the variants."""
    app = falcon.asgi.App(middleware=[RequireRequestId()] if hook else None)
    app.add_error_handler(falcon.HTTPInvalidParam, invalid_param)
    app.add_error_handler(falcon.HTTPMissingParam, invalid_param)
    app.add_route("/plaintext", Plaintext())
    app.add_route("/json", Json())
    app.add_route("/items", items or Items())
    app.add_route("/query", Query())
    app.add_route("/deps0", Deps0())
    app.add_route("/deps3", Deps3())
    for path in static_decoy_paths():
        app.add_route(path, StaticDecoy())
    for prefix in dynamic_decoy_prefixes():
        app.add_route(f"{prefix}/{{x}}/items/{{y}}", DynamicDecoy())
    app.add_route("/users/{user_id:int}/posts/{slug}", UserPost())
    return app


app = build()


def hooked_app() -> falcon.asgi.App:
    return build(hook=True)


def deps_app() -> falcon.asgi.App:
    return build(items=ItemsDeps())


def stack_app() -> Any:
    return wrap(build())
