"""Dependency resolution compiled per route (covet.solver): the same answers as resolve_into.

The solver writes a route's dependency tree down once, as a flat list of steps; these tests pin the
decisions that walk makes (caching, skipping a dependency whose inputs failed, error order) and
compare a request served by the solver with the same request served by resolve_into (which
requests take while any dependency override is set).
"""

# No `from __future__ import annotations`: handlers here annotate with local dependencies.
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import msgspec
import pytest

from covet import BackgroundTasks, Covet, Depends, Header, Query
from covet.testing import TestClient

pytestmark = pytest.mark.usefixtures("serving_mode")


class Item(msgspec.Struct):
    name: str


def test_cached_dependency_that_failed_is_not_called_again_and_skips_its_dependents() -> None:
    calls: list[str] = []

    def token(x_token: Annotated[int, Header()]) -> int:
        calls.append("token")
        return x_token

    def user(t: Annotated[int, Depends(token)]) -> str:
        calls.append("user")
        return f"user{t}"

    def audit(t: Annotated[int, Depends(token)]) -> str:
        calls.append("audit")
        return "audited"

    app = Covet()

    @app.get("/")
    def handler(u: Annotated[str, Depends(user)], a: Annotated[str, Depends(audit)]) -> dict[str, str]:
        calls.append("handler")
        return {"u": u, "a": a}

    with TestClient(app) as client:
        bad = client.get("/", headers={"x-token": "nope"})
        assert bad.status_code == 422
        # One error: token is not asked again for audit, whose input already failed.
        assert [error["loc"] for error in bad.json()["detail"]] == [["header", "x-token"]]
        assert calls == []
        ok = client.get("/", headers={"x-token": "7"})
        assert ok.json() == {"u": "user7", "a": "audited"}
        assert calls == ["token", "user", "audit", "handler"]


def test_validation_errors_listed_in_resolution_order() -> None:
    def route_dep(x_route: Annotated[int, Header()]) -> None:
        return None

    def param_dep(x_param: Annotated[int, Header()]) -> int:
        return x_param

    app = Covet()

    @app.post("/", dependencies=[Depends(route_dep)])
    async def handler(
        item: Item, p: Annotated[int, Depends(param_dep)], q: Annotated[int, Query()]
    ) -> dict[str, Any]:
        return {}

    with TestClient(app) as client:
        response = client.post("/?q=x", json={"name": 1}, headers={"x-route": "a", "x-param": "b"})
    assert response.status_code == 422
    locations = [error["loc"][:2] for error in response.json()["detail"]]
    # Route dependencies, request values, parameter dependencies, then the body.
    assert locations == [["header", "x-route"], ["query", "q"], ["header", "x-param"], ["body", "name"]]


def test_solver_and_override_fallback_give_the_same_answer() -> None:
    events: list[str] = []

    async def session() -> AsyncIterator[str]:
        events.append("open")
        yield "s"
        events.append("close")

    def sync_resource() -> Iterator[str]:
        events.append("sync-open")
        yield "r"
        events.append("sync-close")

    def limit() -> int:
        return 10

    async def app_wide() -> str:
        return "app"

    async def user(s: Annotated[str, Depends(session)], x_user: Annotated[str, Header()] = "anon") -> str:
        return f"{x_user}@{s}"

    app = Covet()

    @app.post("/items/<int:item_id>")
    async def create(
        item_id: int,
        item: Item,
        tasks: BackgroundTasks,
        u: Annotated[str, Depends(user)],
        s: Annotated[str, Depends(session)],
        r: Annotated[str, Depends(sync_resource)],
        n: Annotated[int, Depends(limit)],
        w: Annotated[str, Depends(app_wide, scope="app")],
    ) -> dict[str, Any]:
        tasks.add_task(events.append, "task")
        return {"id": item_id, "name": item.name, "u": u, "s": s, "r": r, "n": n, "w": w}

    expected = {"id": 3, "name": "a", "u": "bo@s", "s": "s", "r": "r", "n": 10, "w": "app"}
    with TestClient(app) as client:
        solved = client.post("/items/3", json={"name": "a"}, headers={"x-user": "bo"})
        assert solved.json() == expected
        assert events == ["open", "sync-open", "sync-close", "close", "task"]
        events.clear()
        # Any override sends the request through resolve_into; an override of an unused function
        # changes nothing else.
        app.dependency_overrides[print] = print
        fallback = client.post("/items/3", json={"name": "a"}, headers={"x-user": "bo"})
        assert fallback.json() == expected
        assert events == ["open", "sync-open", "sync-close", "close", "task"]


def test_dependency_with_use_cache_false_is_computed_again_by_the_solver() -> None:
    counter = iter(range(100))

    def number() -> int:
        return next(counter)

    def twice(
        a: Annotated[int, Depends(number, use_cache=False)],
        b: Annotated[int, Depends(number, use_cache=False)],
    ) -> list[int]:
        return [a, b]

    app = Covet()

    @app.get("/")
    def handler(
        pair: Annotated[list[int], Depends(twice)], again: Annotated[int, Depends(number)]
    ) -> dict[str, Any]:
        return {"pair": pair, "again": again}

    with TestClient(app) as client:
        assert client.get("/").json() == {"pair": [0, 1], "again": 2}


def test_override_of_a_security_dependency_sees_its_scopes() -> None:
    from covet import Security
    from covet.security import SecurityScopes

    def real(security_scopes: SecurityScopes) -> list[str]:
        return ["real", *security_scopes.scopes]

    def fake(security_scopes: SecurityScopes) -> list[str]:
        return ["fake", *security_scopes.scopes]

    app = Covet()

    @app.get("/")
    def handler(seen: Annotated[list[str], Security(real, scopes=["items:read"])]) -> list[str]:
        return seen

    with TestClient(app) as client:
        assert client.get("/").json() == ["real", "items:read"]
        app.dependency_overrides[real] = fake
        assert client.get("/").json() == ["fake", "items:read"]


def test_body_read_without_a_request_reaches_the_error_handler_and_dependencies_read_later() -> None:
    # The solver reads a JSON body off the scope when no value needs the Request (here: a header
    # and the body); a Request made afterwards (an error handler, a dependency walked per request
    # under an override) must find that body, not try to read the spent channel again.
    import covet
    from covet import Request

    def user(x_user: Annotated[str, Header()]) -> str:
        return x_user

    async def refuse(u: Annotated[str, Depends(user)]) -> str:
        if u == "bad":
            raise LookupError(u)
        return u

    app = Covet()

    @app.errorhandler(LookupError)
    async def seen(exc: LookupError) -> dict[str, Any]:
        return {"body": await covet.request.json(), "user": str(exc)}

    @app.post("/")
    async def handler(item: Item, u: Annotated[str, Depends(refuse)]) -> dict[str, str]:
        return {"name": item.name, "u": u}

    with TestClient(app) as client:
        ok = client.post("/", json={"name": "a"}, headers={"x-user": "ann"})
        assert ok.json() == {"name": "a", "u": "ann"}
        failed = client.post("/", json={"name": "b"}, headers={"x-user": "bad"})
        assert failed.json() == {"body": {"name": "b"}, "user": "bad"}
        missing = client.post("/", json={"name": "c"})
        assert missing.status_code == 422
        assert [error["loc"] for error in missing.json()["detail"]] == [["header", "x-user"]]

        async def as_request(request: Request) -> str:
            return (await request.json())["name"] + "!"

        app.dependency_overrides[refuse] = as_request
        try:
            assert client.post("/", json={"name": "d"}).json() == {"name": "d", "u": "d!"}
        finally:
            app.dependency_overrides.clear()
