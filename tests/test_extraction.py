"""Request values read by generated code (covet.extraction): the same answers as the walker.

``_extract_into`` (which ``resolve_into`` and WebSocket routes use) is the reference: for each
request below, the code written for the route must give the same values, or the same errors in
the same order. Run against the compiled and the pure-Python parsers (CI runs both builds).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Annotated, Any

import pytest

from covet import Cookie, Covet, Depends, Header, Query, Request
from covet.exceptions import RequestValidationError
from covet.extraction import caller, extractor
from covet.resolution import _extract_into
from covet.solver import Solver
from covet.testing import TestClient


def _app() -> Covet:
    app = Covet()

    @app.get("/items/<int:item_id>/<name>")
    async def every_kind(
        item_id: int,
        name: str,
        request: Request,
        limit: int,
        flag: bool = False,
        q: str | None = None,
        ratio: float = 0.5,
        tags: list[str] = ["a"],  # noqa: B006 - a mutable default, copied per request
        x_trace: Annotated[int | None, Header()] = None,
        accept_list: Annotated[list[str], Header(alias="x-list")] = [],  # noqa: B006
        session: Annotated[str, Cookie()] = "anon",
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> dict[str, Any]:
        return {}

    return app


def _scope(query: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "method": "GET", "path": "/items/3/x", "raw_path": b"/items/3/x",
        "query_string": query, "headers": headers, "path_params": {"item_id": 3, "name": "x"},
    }  # fmt: skip


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        values = run()
    except RequestValidationError as exc:
        return "errors", exc.errors
    values.pop("request", None)
    return "values", values


QUERIES = [
    b"limit=5",
    b"limit=5&flag=yes&q=hello&ratio=2.5&tags=x&tags=y&page=3",
    b"",  # limit missing
    b"limit=five&flag=maybe&ratio=half&page=0",  # every conversion fails, in order
    b"limit=%35&q=%00&flag=1",
    b"limit=-0&flag=OFF&q=",
    b"limit=99999999999999999999999&page=1",
]
HEADERS = [
    [],
    [(b"x-trace", b"12"), (b"x-list", b"a, b"), (b"x-list", b"c"), (b"cookie", b"session=s1")],
    [(b"x-trace", b"twelve"), (b"cookie", b"session=")],
    [(b"x-trace", b"1"), (b"x-trace", b"2"), (b"x-list", b"\xff, \x00")],  # first wins; raw bytes
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("headers", HEADERS)
def test_generated_extraction_matches_the_walker(query: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    plan = _app().routes[-1].plan
    extract = extractor(plan)
    generated = _outcome(lambda: extract(_scope(query, headers), Request(_scope(query, headers)), None))

    def walked() -> dict[str, Any]:
        scope = _scope(query, headers)
        errors: list[dict[str, Any]] = []
        values = _extract_into(plan.request_specs, scope, Request(scope), errors, {})
        if errors:
            raise RequestValidationError(errors)
        return values

    assert generated == _outcome(walked)


def test_mutable_defaults_are_not_shared_between_requests() -> None:
    plan = _app().routes[-1].plan
    extract = extractor(plan)
    first = extract(_scope(b"limit=1", []), Request(_scope(b"limit=1", [])), None)
    first["tags"].append("changed")
    second = extract(_scope(b"limit=1", []), Request(_scope(b"limit=1", [])), None)
    assert second["tags"] == ["a"] and second["accept_list"] == []


def test_generated_source_is_readable_and_in_tracebacks() -> None:
    extract = extractor(_app().routes[-1].plan)
    source = inspect.getsource(extract)
    assert "_raw = _query.get('limit')" in source
    assert "_find_header(scope['headers'], b'x-trace')" in source


def test_query_route_without_request_reads_the_scope() -> None:
    app = Covet()

    @app.get("/sum")
    async def total(a: int, b: int = 2) -> dict[str, int]:
        return {"sum": a + b}

    with TestClient(app) as client:
        assert client.get("/sum?a=1").json() == {"sum": 3}
        assert client.get("/sum?a=1&b=x").json()["detail"][0]["loc"] == ["query", "b"]
        assert client.get("/sum").json()["detail"][0]["loc"] == ["query", "a"]
        # Past the query field limit: a 400 naming it, not a 422 or a 500.
        flood = "&".join(f"k{n}=1" for n in range(1001))
        assert client.get(f"/sum?{flood}").status_code == 400


def test_caller_passes_values_as_keyword_arguments_without_a_dict() -> None:
    # Values go from locals into the call; only list-valued parameters come through a dict.
    plan = _app().routes[-1].plan
    source = inspect.getsource(caller(plan))
    call = source.strip().splitlines()[-1].strip()
    assert call.startswith("return HANDLER(item_id=a__item_id, name=a__name, request=a__request, limit=a__limit")
    assert call.count("**") == 1 and "**a_more" in call  # tags and accept_list

    seen: dict[str, Any] = {}

    async def handler(**kwargs: Any) -> None:
        seen.update(kwargs)

    plan.func = handler
    call_handler = caller(plan)
    scope = _scope(b"limit=5&tags=x&tags=y", [(b"x-list", b"a, b")])
    asyncio.run(call_handler(scope, Request(scope), None))
    seen.pop("request")
    assert seen == _outcome(lambda: extractor(plan)(scope, Request(scope), None))[1]
    assert seen["tags"] == ["x", "y"] and seen["accept_list"] == ["a", "b"] and seen["limit"] == 5


async def _user(x_user: Annotated[str, Header()], page: int = 1) -> str:
    return f"{x_user}:{page}"


def test_solver_calls_dependencies_with_keyword_arguments() -> None:
    app = Covet()

    @app.get("/me")
    async def me(who: Annotated[str, Depends(_user)], tags: list[str] = []) -> dict[str, Any]:  # noqa: B006
        return {"who": who, "tags": tags}

    with TestClient(app) as client:
        assert client.get("/me?page=2&tags=a&tags=b", headers={"x-user": "ann"}).json() == {
            "who": "ann:2", "tags": ["a", "b"],
        }  # fmt: skip
        assert client.get("/me").json()["detail"][0]["loc"] == ["header", "x-user"]
    source = Solver(app.routes[-1].plan, call_handler=True).source
    assert "F1(x_user=k1__x_user, page=k1__page)" in source
    assert "return await HANDLER(**k0_more, who=v1)" in source
