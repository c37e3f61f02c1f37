"""Per-route and per-blueprint middleware: built at registration, ordered, seeing scope["route"]."""

from __future__ import annotations

from typing import Any

import pytest

from covet import Blueprint, Covet, Request
from covet.middleware import BodyTooLarge, GZipMiddleware, buffer_body
from covet.testing import TestClient
from covet.types import ASGIApp, Message, Receive, Scope, Send


class Tag:
    """Appends its name to an ``x-trail`` response header and records the route it saw."""

    def __init__(self, app: ASGIApp, name: str = "tag") -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = scope.get("route")
        seen = route.name if route is not None else "-"

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-trail", f"{self.name}@{seen}".encode())]
            await send(message)

        await self.app(scope, receive, tagged)


class BodySigner:
    """Reads the body before the handler (as a signature check would) without taking it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, receive = await buffer_body(scope, receive, 1000)
        scope.setdefault("state", {})["seen_length"] = len(body)
        await self.app(scope, receive, send)


def build() -> Covet:
    app = Covet()

    @app.get("/plain")
    async def plain() -> dict[str, bool]:
        return {"plain": True}

    @app.get("/tagged", middleware=[(Tag, {"name": "route"})])
    async def tagged() -> dict[str, bool]:
        return {"tagged": True}

    @app.post("/signed", middleware=[BodySigner])
    async def signed(request: Request) -> dict[str, Any]:
        return {"json": await request.json(), "seen": request.state.seen_length}

    api = Blueprint("api", url_prefix="/api", middleware=[(Tag, {"name": "bp"})])

    @api.get("/items", middleware=[(Tag, {"name": "route"})])
    def items() -> list[int]:
        return [1, 2]

    app.register_blueprint(api)
    app.add_middleware((Tag, {"name": "app"}))
    return app


def test_route_middleware_runs_and_sees_route() -> None:
    r = TestClient(build()).get("/tagged")
    assert r.json() == {"tagged": True}
    assert r.headers.get_list("x-trail") == ["route@tagged", "app@-"]


def test_blueprint_then_route_order() -> None:
    r = TestClient(build()).get("/api/items")
    assert r.json() == [1, 2]
    # Innermost first in the response (each appends on the way out): route, blueprint, app.
    assert r.headers.get_list("x-trail") == ["route@api.items", "bp@api.items", "app@-"]


def test_route_without_middleware_is_untouched() -> None:
    app = build()
    r = TestClient(app).get("/plain")
    assert r.headers.get_list("x-trail") == ["app@-"]
    plain = next(route for route in app.routes if route.name == "plain")
    tagged = next(route for route in app.routes if route.name == "tagged")
    assert plain.runner.__qualname__.startswith("_direct_runner")
    assert tagged.runner.__qualname__.startswith("with_middleware")


def test_middleware_reads_body_without_stealing_it() -> None:
    r = TestClient(build()).post("/signed", json={"a": 1})
    assert r.json() == {"json": {"a": 1}, "seen": 7}


def test_route_middleware_can_compress_one_route() -> None:
    app = Covet()

    @app.get("/report", middleware=[(GZipMiddleware, {"minimum_size": 10})])
    async def report() -> str:
        return "row " * 100

    @app.get("/other")
    async def other() -> str:
        return "row " * 100

    client = TestClient(app)
    assert client.get("/report", headers={"accept-encoding": "gzip"}).headers["content-encoding"] == "gzip"
    assert "content-encoding" not in client.get("/other", headers={"accept-encoding": "gzip"}).headers


def test_route_middleware_error_becomes_500_without_second_response() -> None:
    class Broken:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            raise RuntimeError("after the response")

    app = Covet()

    @app.get("/x", middleware=[Broken])
    async def x() -> dict[str, int]:
        return {"a": 1}

    r = TestClient(app, raise_server_exceptions=False).get("/x")
    assert r.status_code == 200 and r.json() == {"a": 1}


@pytest.mark.parametrize("bad", [["not middleware"], [(Tag, "name")], (Tag,), "Tag"])
def test_bad_entries_raise_at_registration(bad: Any) -> None:
    app = Covet()
    with pytest.raises(TypeError, match="middleware"):

        @app.get("/x", middleware=bad)
        async def x() -> None: ...

    with pytest.raises(TypeError, match="middleware"):
        Blueprint("b", middleware=bad)


def test_app_middleware_accepts_class_or_pair() -> None:
    app = Covet(middleware=[Tag, (Tag, {"name": "second"})])
    app.get("/")(lambda: {})
    assert TestClient(app).get("/").headers.get_list("x-trail") == ["second@-", "tag@-"]


def test_buffer_body_with_a_content_length_of_thousands_of_digits_is_refused_not_a_500() -> None:
    # int() refuses more than 4300 digits (CPython's limit): the length is bounded before it.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await buffer_body(scope, receive, 1000)
        except BodyTooLarge:
            await send({"type": "http.response.start", "status": 413, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    response = TestClient(app).post("/", content=b"x", headers={"content-length": "9" * 5000})
    assert response.status_code == 413


def test_buffer_body_accepts_a_content_length_with_many_leading_zeros() -> None:
    # "0000…01" is a valid Content-Length of 1 (RFC 9110 §8.6: 1*DIGIT), however many zeros lead.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body, _ = await buffer_body(scope, receive, 1000)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    response = TestClient(app).post("/", content=b"x", headers={"content-length": "0" * 5000 + "1"})
    assert (response.status_code, response.content) == (200, b"x")
