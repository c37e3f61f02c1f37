"""Handler parameters: path, query, header, cookie, body, form and file binding; Depends; validation."""

from __future__ import annotations

import dataclasses
import enum
import gc
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Annotated, Any, Optional, TypedDict

import anyio
import msgspec
import pytest

from covet import (
    BackgroundTasks,
    Body,
    Cookie,
    Covet,
    Depends,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    UploadFile,
)
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a leaked resource (ResourceWarning) fails the test that leaked it."""
    yield
    gc.collect()


@pytest.fixture
def app() -> Covet:
    return Covet()


@pytest.fixture
def client(app: Covet) -> TestClient:
    return TestClient(app)


def raw_post(app: Covet, path: str, body: bytes, content_type: bytes = b"application/json") -> list[Any]:
    """POST straight into the ASGI app and return the types of the messages it sent."""
    log: list[Any] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"t"),
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
        ],
        "scheme": "http",
        "server": ("t", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        log.append(message["type"])

    async def main() -> None:
        with anyio.fail_after(5):
            await app(scope, receive, send)

    anyio.run(main)
    return log


def errors_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    return response.json()["detail"]  # type: ignore[no-any-return]


def locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in errors_of(response)]


# --- path parameters --------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_path_param_is_converted(app: Covet, client: TestClient) -> None:
    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        return {"item_id": item_id, "type": type(item_id).__name__}

    assert client.get("/items/42").json() == {"item_id": 42, "type": "int"}


def test_path_param_msgspec_constraint_violation_is_422(app: Covet, client: TestClient) -> None:
    @app.get("/items/{item_id}")
    async def item(item_id: Annotated[int, msgspec.Meta(ge=1)]) -> dict[str, Any]:
        return {"item_id": item_id}

    assert client.get("/items/5").json() == {"item_id": 5}
    response = client.get("/items/0")
    (error,) = errors_of(response)
    assert error["loc"] == ["path", "item_id"]
    assert ">= 1" in error["msg"]


def test_path_param_str_constraint_violation_is_422(app: Covet, client: TestClient) -> None:
    @app.get("/users/<name>")
    async def user(name: Annotated[str, msgspec.Meta(max_length=5)]) -> dict[str, Any]:
        return {"name": name}

    assert client.get("/users/ada").json() == {"name": "ada"}
    assert locs(client.get("/users/bartholomew")) == [["path", "name"]]


def test_path_param_enum_is_validated(app: Covet, client: TestClient) -> None:
    @app.get("/paint/<color>")
    async def paint(color: Color) -> dict[str, Any]:
        return {"color": color.name}

    assert client.get("/paint/red").json() == {"color": "RED"}
    assert locs(client.get("/paint/green")) == [["path", "color"]]


# --- query parameters -------------------------------------------------------------------------------


def test_query_scalars_are_converted(app: Covet, client: TestClient) -> None:
    @app.get("/search")
    async def search(
        limit: int,
        ratio: float,
        active: bool,
        color: Color,
        since: datetime,
        ident: uuid.UUID,
    ) -> dict[str, Any]:
        return {
            "limit": limit,
            "ratio": ratio,
            "active": active,
            "color": color.name,
            "since": [since.year, since.tzinfo is not None],
            "ident": ident.hex,
            "types": [type(v).__name__ for v in (limit, ratio, active)],
        }

    ident = uuid.uuid4()
    response = client.get(
        "/search",
        params={
            "limit": "10",
            "ratio": "0.5",
            "active": "true",
            "color": "blue",
            "since": "2024-05-01T12:00:00Z",
            "ident": str(ident),
        },
    )
    assert response.json() == {
        "limit": 10,
        "ratio": 0.5,
        "active": True,
        "color": "BLUE",
        "since": [2024, True],
        "ident": ident.hex,
        "types": ["int", "float", "bool"],
    }


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_query_bool_spellings(app: Covet, client: TestClient, raw: str, expected: bool) -> None:
    @app.get("/")
    async def index(flag: bool) -> dict[str, bool]:
        return {"flag": flag}

    assert client.get("/", params={"flag": raw}).json() == {"flag": expected}


def test_query_defaults_optional_and_lists(app: Covet, client: TestClient) -> None:
    @app.get("/items")
    async def items(
        page: int = 1,
        q: Optional[str] = None,  # noqa: UP045 - the typing spelling must work too
        size: int | None = None,
        ids: list[int] = [],  # noqa: B006 - covet copies mutable defaults per request
        tags: Annotated[list[str], Query()] = ["all"],  # noqa: B006
    ) -> dict[str, Any]:
        ids.append(0)  # must not leak into the next request's default
        return {"page": page, "q": q, "size": size, "ids": ids, "tags": tags}

    assert client.get("/items").json() == {"page": 1, "q": None, "size": None, "ids": [0], "tags": ["all"]}
    assert client.get("/items").json()["ids"] == [0]
    response = client.get("/items?page=3&q=lamp&size=5&ids=4&ids=5&tags=a&tags=b")
    assert response.json() == {"page": 3, "q": "lamp", "size": 5, "ids": [4, 5, 0], "tags": ["a", "b"]}


def test_missing_required_query_param_is_422(app: Covet, client: TestClient) -> None:
    @app.get("/items")
    async def items(x: int) -> dict[str, Any]:
        return {"x": x}

    response = client.get("/items")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["query", "x"], "msg": "Field required", "type": "missing"}]
    }


def test_invalid_query_value_is_422_with_message(app: Covet, client: TestClient) -> None:
    @app.get("/items")
    async def items(limit: int, ids: list[int] = []) -> dict[str, Any]:  # noqa: B006
        return {}

    (error,) = errors_of(client.get("/items?limit=ten"))
    assert error["loc"] == ["query", "limit"]
    assert "int" in error["msg"]
    assert error["type"]
    (error,) = errors_of(client.get("/items?limit=1&ids=1&ids=x"))
    assert error["loc"] == ["query", "ids", 1]


def test_query_constraint_via_annotated_meta(app: Covet, client: TestClient) -> None:
    @app.get("/items")
    async def items(limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10) -> dict[str, int]:
        return {"limit": limit}

    assert client.get("/items?limit=100").json() == {"limit": 100}
    assert locs(client.get("/items?limit=101")) == [["query", "limit"]]
    assert locs(client.get("/items?limit=0")) == [["query", "limit"]]


def test_every_failing_parameter_is_listed_in_one_422(app: Covet, client: TestClient) -> None:
    class Item(msgspec.Struct):
        name: str

    @app.post("/items/<int:item_id>")
    async def create(
        item_id: int,
        item: Item,
        limit: int,
        required: str,
        x_token: Annotated[str, Header()],
        session: Annotated[int, Cookie()],
    ) -> dict[str, Any]:
        return {}  # pragma: no cover

    response = client.post("/items/1?limit=many", json={"name": 5}, headers={"cookie": "session=abc"})
    found = locs(response)
    assert ["query", "limit"] in found
    assert ["query", "required"] in found
    assert ["header", "x-token"] in found
    assert ["cookie", "session"] in found
    assert ["body", "name"] in found
    assert ["body", "price"] in found  # the module-level Item (annotations are resolved there)
    assert len(found) == 6


def test_query_alias(app: Covet, client: TestClient) -> None:
    @app.get("/items")
    async def items(page_size: Annotated[int, Query(alias="page-size")] = 20) -> dict[str, int]:
        return {"page_size": page_size}

    assert client.get("/items?page-size=5").json() == {"page_size": 5}
    assert client.get("/items?page_size=5").json() == {"page_size": 20}
    assert locs(client.get("/items?page-size=x")) == [["query", "page-size"]]


def test_query_default_given_in_marker(app: Covet, client: TestClient) -> None:
    @app.get("/items")
    async def items(page: Annotated[int, Query(3)], other: int = Query(4)) -> dict[str, int]:
        return {"page": page, "other": other}

    assert client.get("/items").json() == {"page": 3, "other": 4}


# --- headers and cookies ----------------------------------------------------------------------------


def test_header_maps_underscores_to_dashes(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(
        x_token: Annotated[str, Header()],
        user_agent: Annotated[str | None, Header()] = None,
        x_count: Annotated[int, Header()] = 0,
    ) -> dict[str, Any]:
        return {"token": x_token, "agent": user_agent, "count": x_count}

    response = client.get("/", headers={"X-Token": "abc", "User-Agent": "probe/1", "X-Count": "3"})
    assert response.json() == {"token": "abc", "agent": "probe/1", "count": 3}
    assert errors_of(client.get("/")) == [
        {"loc": ["header", "x-token"], "msg": "Field required", "type": "missing"}
    ]


def test_header_list_collects_repeated_headers(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(x_tag: Annotated[list[str], Header()] = []) -> dict[str, Any]:  # noqa: B006
        return {"tags": x_tag}

    assert client.get("/", headers=[("X-Tag", "a"), ("X-Tag", "b")]).json() == {"tags": ["a", "b"]}


def test_header_without_underscore_conversion(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(x_odd: Annotated[str, Header(convert_underscores=False)] = "none") -> dict[str, str]:
        return {"v": x_odd}

    assert client.get("/", headers={"x_odd": "raw"}).json() == {"v": "raw"}
    assert client.get("/", headers={"x-odd": "dashed"}).json() == {"v": "none"}


def test_cookie_param(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(
        session_id: Annotated[str | None, Cookie()] = None,
        visits: Annotated[int, Cookie()] = 0,
    ) -> dict[str, Any]:
        return {"session_id": session_id, "visits": visits}

    assert client.get("/").json() == {"session_id": None, "visits": 0}
    response = client.get("/", headers={"cookie": "session_id=xyz; visits=3"})
    assert response.json() == {"session_id": "xyz", "visits": 3}
    assert locs(client.get("/", headers={"cookie": "visits=many"})) == [["cookie", "visits"]]


# --- JSON bodies ------------------------------------------------------------------------------------


class Item(msgspec.Struct):
    name: str
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []


@dataclasses.dataclass
class Address:
    city: str
    zip: str


class Profile(TypedDict):
    nickname: str
    age: int


class Order(msgspec.Struct):
    customer: str
    items: list[Item]


def test_struct_body(app: Covet, client: TestClient) -> None:
    @app.post("/items", status_code=201)
    async def create(item: Item) -> dict[str, Any]:
        return {"name": item.name, "price": item.price, "tags": item.tags, "kind": type(item).__name__}

    response = client.post("/items", json={"name": "lamp", "price": 9.5})
    assert response.status_code == 201
    assert response.json() == {"name": "lamp", "price": 9.5, "tags": [], "kind": "Item"}


def test_dataclass_body(app: Covet, client: TestClient) -> None:
    @app.post("/addresses")
    async def create(address: Address) -> dict[str, Any]:
        assert isinstance(address, Address)
        return {"city": address.city}

    assert client.post("/addresses", json={"city": "Oslo", "zip": "0150"}).json() == {"city": "Oslo"}
    assert locs(client.post("/addresses", json={"city": "Oslo"})) == [["body", "zip"]]


def test_typeddict_body(app: Covet, client: TestClient) -> None:
    @app.post("/profiles")
    async def create(profile: Profile) -> dict[str, Any]:
        return {"nickname": profile["nickname"], "age": profile["age"]}

    assert client.post("/profiles", json={"nickname": "ada", "age": 36}).json() == {
        "nickname": "ada",
        "age": 36,
    }
    assert locs(client.post("/profiles", json={"nickname": "ada", "age": "old"})) == [["body", "age"]]


def test_list_of_structs_body(app: Covet, client: TestClient) -> None:
    @app.post("/batch")
    async def batch(items: list[Item]) -> dict[str, Any]:
        return {"names": [item.name for item in items]}

    response = client.post("/batch", json=[{"name": "a", "price": 1}, {"name": "b", "price": 2}])
    assert response.json() == {"names": ["a", "b"]}
    assert locs(client.post("/batch", json=[{"name": "a", "price": 1}, {"name": "b", "price": -2}])) == [
        ["body", 1, "price"]
    ]


def test_nested_body_error_loc(app: Covet, client: TestClient) -> None:
    @app.post("/orders")
    async def create(order: Order) -> dict[str, Any]:
        return {}  # pragma: no cover

    response = client.post("/orders", json={"customer": "ada", "items": [{"name": "lamp", "price": "cheap"}]})
    (error,) = errors_of(response)
    assert error["loc"] == ["body", "items", 0, "price"]
    assert "float" in error["msg"]


def test_nested_body_missing_field_loc(app: Covet, client: TestClient) -> None:
    @app.post("/orders")
    async def create(order: Order) -> dict[str, Any]:
        return {}  # pragma: no cover

    response = client.post("/orders", json={"customer": "ada", "items": [{"price": 1}]})
    assert errors_of(response) == [
        {"loc": ["body", "items", 0, "name"], "msg": "Field required", "type": "missing"}
    ]


def test_json_body_with_text_plain_is_415_and_never_reaches_handler(app: Covet, client: TestClient) -> None:
    # A cross-site form can POST text/plain without a CORS preflight: it must not be parsed as JSON.
    reached: list[Item] = []

    @app.post("/items")
    async def create(item: Item) -> None:
        reached.append(item)

    response = client.post(
        "/items", content=json.dumps({"name": "x", "price": 1}), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert reached == []


@pytest.mark.parametrize(
    "content_type", [None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_json_body_with_non_json_content_type_is_415(
    app: Covet, client: TestClient, content_type: str | None
) -> None:
    @app.post("/items")
    async def create(item: Item) -> None:
        raise AssertionError("handler must not run")  # pragma: no cover

    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/items", content=b'{"name": "x", "price": 1}', headers=headers)
    assert response.status_code == 415


def test_json_body_accepts_json_suffix_media_types(app: Covet, client: TestClient) -> None:
    @app.post("/items")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    response = client.post(
        "/items",
        content=b'{"name": "x", "price": 1}',
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.json() == {"name": "x"}
    response = client.post(
        "/items",
        content=b'{"name": "y", "price": 1}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json() == {"name": "y"}


def test_empty_body_on_required_body_is_422(app: Covet, client: TestClient) -> None:
    @app.post("/items")
    async def create(item: Item) -> None:
        raise AssertionError("handler must not run")  # pragma: no cover

    response = client.post("/items", headers={"content-type": "application/json"})
    assert errors_of(response) == [{"loc": ["body"], "msg": "Field required", "type": "missing"}]


def test_empty_body_on_optional_body_uses_default(app: Covet, client: TestClient) -> None:
    @app.post("/items")
    async def create(item: Item | None = None) -> dict[str, Any]:
        return {"item": item is not None}

    assert client.post("/items").json() == {"item": False}
    assert client.post("/items", json={"name": "a", "price": 1}).json() == {"item": True}


def test_malformed_json_body_is_400_not_500(app: Covet, client: TestClient) -> None:
    @app.post("/items")
    async def create(item: Item) -> None:
        raise AssertionError("handler must not run")  # pragma: no cover

    response = client.post("/items", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_invalid_utf8_in_json_body_is_400_not_500(app: Covet) -> None:
    @app.post("/items")
    async def create(item: Item) -> None:
        raise AssertionError("handler must not run")  # pragma: no cover

    client = TestClient(app, raise_server_exceptions=False)
    response = client.post(
        "/items", content=b'{"name": "\xff", "price": 1}', headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)


def test_body_embed_reads_named_key(app: Covet, client: TestClient) -> None:
    @app.post("/items")
    async def create(item: Annotated[Item, Body(embed=True)]) -> dict[str, str]:
        return {"name": item.name}

    assert client.post("/items", json={"item": {"name": "lamp", "price": 2}}).json() == {"name": "lamp"}
    assert locs(client.post("/items", json={"name": "lamp", "price": 2})) == [["body", "item"]]


def test_scalar_body_param_embedded(app: Covet, client: TestClient) -> None:
    @app.post("/count")
    async def count(n: Annotated[int, Body(embed=True)]) -> dict[str, int]:
        return {"n": n}

    assert client.post("/count", json={"n": 4}).json() == {"n": 4}
    assert locs(client.post("/count", json={"n": "four"})) == [["body", "n"]]


def test_multiple_body_params_are_embedded(app: Covet, client: TestClient) -> None:
    @app.post("/ship")
    async def ship(item: Item, address: Address, note: Annotated[str, Body()] = "none") -> dict[str, Any]:
        return {"item": item.name, "city": address.city, "note": note}

    response = client.post(
        "/ship", json={"item": {"name": "lamp", "price": 1}, "address": {"city": "Oslo", "zip": "1"}}
    )
    assert response.json() == {"item": "lamp", "city": "Oslo", "note": "none"}
    assert locs(client.post("/ship", json={"item": {"name": "lamp", "price": 1}})) == [["body", "address"]]
    assert locs(
        client.post(
            "/ship", json={"item": {"name": "lamp", "price": 0}, "address": {"city": "Oslo", "zip": "1"}}
        )
    ) == [["body", "item", "price"]]


def test_dict_body(app: Covet, client: TestClient) -> None:
    @app.post("/scores")
    async def scores(data: dict[str, int]) -> dict[str, int]:
        return {"total": sum(data.values())}

    assert client.post("/scores", json={"a": 1, "b": 2}).json() == {"total": 3}
    assert locs(client.post("/scores", json={"a": "x"}))[0][0] == "body"


# --- dependencies -----------------------------------------------------------------------------------


def current_user(x_user: Annotated[str, Header()] = "anonymous") -> str:
    return x_user


def test_annotated_depends_with_module_level_dependency(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
        return {"user": user}

    assert client.get("/").json() == {"user": "anonymous"}
    assert client.get("/", headers={"x-user": "ada"}).json() == {"user": "ada"}


def test_sync_and_async_dependencies(app: Covet, client: TestClient) -> None:
    def sync_dep() -> str:
        return "sync"

    async def async_dep() -> str:
        return "async"

    @app.get("/")
    async def index(
        a: str = Depends(sync_dep),
        b: str = Depends(async_dep),
    ) -> dict[str, str]:
        return {"a": a, "b": b}

    assert client.get("/").json() == {"a": "sync", "b": "async"}


def test_dependency_takes_request_parameters(app: Covet, client: TestClient) -> None:
    def pagination(page: int = 1, size: Annotated[int, Query(alias="page-size")] = 10) -> dict[str, int]:
        return {"offset": (page - 1) * size, "limit": size}

    @app.get("/items")
    async def items(paging: dict[str, int] = Depends(pagination)) -> dict[str, int]:
        return paging

    assert client.get("/items?page=3&page-size=5").json() == {"offset": 10, "limit": 5}
    assert locs(client.get("/items?page=x")) == [["query", "page"]]


def test_sub_dependencies(app: Covet, client: TestClient) -> None:
    def token(x_token: Annotated[str, Header()]) -> str:
        return x_token

    async def user(tok: str = Depends(token)) -> dict[str, str]:
        if tok != "good":
            raise HTTPException(401, "bad token")
        return {"name": "ada"}

    @app.get("/me")
    async def me(current: dict[str, str] = Depends(user)) -> dict[str, str]:
        return current

    assert client.get("/me", headers={"x-token": "good"}).json() == {"name": "ada"}
    assert client.get("/me", headers={"x-token": "bad"}).status_code == 401
    assert locs(client.get("/me")) == [["header", "x-token"]]


class Paging:
    def __init__(self, page: int = 1) -> None:
        self.page = page


def test_dependency_class(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(paging: Paging = Depends(Paging)) -> dict[str, int]:
        return {"page": paging.page}

    assert client.get("/?page=2").json() == {"page": 2}


def test_dependency_runs_once_per_request(app: Covet, client: TestClient) -> None:
    calls: list[int] = []

    def counter() -> int:
        calls.append(1)
        return len(calls)

    def first(n: int = Depends(counter)) -> int:
        return n

    def second(n: int = Depends(counter)) -> int:
        return n

    @app.get("/")
    async def index(
        a: int = Depends(first), b: int = Depends(second), c: int = Depends(counter)
    ) -> list[int]:
        return [a, b, c]

    assert client.get("/").json() == [1, 1, 1]
    assert client.get("/").json() == [2, 2, 2]  # a new request computes it again
    assert len(calls) == 2


def test_dependency_use_cache_false_runs_every_time(app: Covet, client: TestClient) -> None:
    calls: list[int] = []

    def counter() -> int:
        calls.append(1)
        return len(calls)

    @app.get("/")
    async def index(
        a: int = Depends(counter, use_cache=False), b: int = Depends(counter, use_cache=False)
    ) -> list[int]:
        return [a, b]

    assert client.get("/").json() == [1, 2]


def test_generator_dependency_teardown_runs_after_the_response(app: Covet) -> None:
    log: list[Any] = []

    def resource() -> Iterator[str]:
        log.append("setup")
        yield "res"
        log.append("teardown")

    async def async_resource() -> AsyncIterator[str]:
        log.append("async setup")
        yield "ares"
        log.append("async teardown")

    @app.post("/")
    async def index(r: str = Depends(resource), a: str = Depends(async_resource)) -> dict[str, str]:
        log.append(f"handler {r} {a}")
        return {}

    sent = raw_post(app, "/", b"")
    assert sent == ["http.response.start", "http.response.body"]
    # Teardown runs in reverse order of setup, like nested ``with`` blocks.
    assert log == ["setup", "async setup", "handler res ares", "async teardown", "teardown"]


def test_generator_teardown_happens_after_body_is_sent(app: Covet) -> None:
    log: list[str] = []

    async def resource() -> AsyncIterator[None]:
        yield
        log.append("teardown")

    @app.get("/")
    async def index(_: None = Depends(resource)) -> str:
        return "ok"

    async def main() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "root_path": "",
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("t", 80),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            log.append(message["type"])

        await app(scope, receive, send)

    anyio.run(main)
    assert log == ["http.response.start", "http.response.body", "teardown"]


def test_generator_dependency_teardown_sees_the_handler_exception(app: Covet) -> None:
    seen: list[BaseException] = []

    def transaction() -> Iterator[str]:
        try:
            yield "tx"
        except Exception as exc:
            seen.append(exc)
            raise

    @app.get("/")
    async def index(tx: str = Depends(transaction)) -> None:
        raise LookupError("handler failed")

    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert len(seen) == 1 and isinstance(seen[0], LookupError)


def test_generator_dependency_can_translate_the_handler_exception(app: Covet, client: TestClient) -> None:
    async def translate() -> AsyncIterator[None]:
        try:
            yield
        except KeyError as exc:
            raise HTTPException(404, f"missing {exc.args[0]}") from exc

    @app.get("/")
    async def index(_: None = Depends(translate)) -> None:
        raise KeyError("widget")

    response = client.get("/")
    assert response.status_code == 404
    assert response.json() == {"detail": "missing widget"}


def test_generator_dependency_sees_http_exception(app: Covet, client: TestClient) -> None:
    seen: list[int] = []

    async def watcher() -> AsyncIterator[None]:
        try:
            yield
        except HTTPException as exc:
            seen.append(exc.status_code)
            raise

    @app.get("/")
    async def index(_: None = Depends(watcher)) -> None:
        raise HTTPException(409)

    assert client.get("/").status_code == 409
    assert seen == [409]


def _self_cycle() -> Any:
    def a(x: int = 0) -> int:
        return x  # pragma: no cover

    a.__defaults__ = (Depends(a),)
    return a


def _mutual_cycle() -> Any:
    def a(x: int = 0) -> int:
        return x  # pragma: no cover

    def b(y: Any = Depends(a)) -> int:
        return 1  # pragma: no cover

    a.__defaults__ = (Depends(b),)
    return a


@pytest.mark.parametrize("make", [_self_cycle, _mutual_cycle], ids=["self", "mutual"])
def test_dependency_cycle_raises_at_registration(app: Covet, make: Any) -> None:
    dep = make()

    def handler(v: Any = Depends(dep)) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="[Cc]ycle"):
        app.add_route("/", handler)


def test_route_dependencies_run_without_passing_values(app: Covet, client: TestClient) -> None:
    log: list[str] = []

    def require_key(x_key: Annotated[str | None, Header()] = None) -> None:
        log.append("checked")
        if x_key != "secret":
            raise HTTPException(403, "no key")

    @app.get("/admin", dependencies=[Depends(require_key)])
    async def admin() -> dict[str, bool]:
        log.append("handler")
        return {"ok": True}

    assert client.get("/admin").status_code == 403
    assert log == ["checked"]
    assert client.get("/admin", headers={"x-key": "secret"}).json() == {"ok": True}
    assert log == ["checked", "checked", "handler"]


def test_route_dependencies_must_be_depends(app: Covet) -> None:
    with pytest.raises(TypeError, match="Depends"):

        @app.get("/", dependencies=[lambda: None])
        async def index() -> None:
            return None  # pragma: no cover


def test_background_tasks_run_after_the_response(app: Covet) -> None:
    log: list[Any] = []

    def sync_task(value: str) -> None:
        log.append(f"sync {value}")

    async def async_task(value: str, *, suffix: str) -> None:
        log.append(f"async {value}{suffix}")

    @app.post("/")
    async def index(tasks: BackgroundTasks) -> dict[str, bool]:
        tasks.add_task(sync_task, "one")
        tasks.add_task(async_task, "two", suffix="!")
        log.append("handler")
        return {"ok": True}

    async def main() -> None:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "root_path": "",
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("t", 80),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            log.append(message["type"])

        await app(scope, receive, send)

    anyio.run(main)
    assert log == ["handler", "http.response.start", "http.response.body", "sync one", "async two!"]


def test_background_tasks_shared_between_dependency_and_handler(app: Covet, client: TestClient) -> None:
    log: list[str] = []

    def audit(tasks: BackgroundTasks) -> None:
        tasks.add_task(log.append, "from dependency")

    @app.get("/")
    async def index(tasks: BackgroundTasks, _: None = Depends(audit)) -> None:
        tasks.add_task(log.append, "from handler")

    assert client.get("/").status_code == 204
    assert log == ["from dependency", "from handler"]


def test_dependency_overrides(app: Covet, client: TestClient) -> None:
    def real_db() -> str:
        raise AssertionError("the real database must not be used")  # pragma: no cover

    def fake_db(name: str = "fake") -> str:
        return name

    @app.get("/")
    async def index(db: str = Depends(real_db)) -> dict[str, str]:
        return {"db": db}

    app.dependency_overrides[real_db] = fake_db
    assert client.get("/").json() == {"db": "fake"}
    assert client.get("/?name=other").json() == {"db": "other"}


def test_dependency_overrides_apply_to_sub_dependencies(app: Covet, client: TestClient) -> None:
    def settings() -> str:
        return "prod"

    def service(env: str = Depends(settings)) -> str:
        return f"service@{env}"

    @app.get("/")
    async def index(svc: str = Depends(service)) -> dict[str, str]:
        return {"svc": svc}

    assert client.get("/").json() == {"svc": "service@prod"}
    app.dependency_overrides[settings] = lambda: "test"
    assert client.get("/").json() == {"svc": "service@test"}
    app.dependency_overrides.clear()
    assert client.get("/").json() == {"svc": "service@prod"}


# --- registration errors ----------------------------------------------------------------------------


class Database:
    """Not something a query string can hold."""


def test_unsupported_annotation_raises_at_registration(app: Covet) -> None:
    def handler(when: str | datetime) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="'when'") as info:
        app.add_route("/", handler)
    assert "handler" in str(info.value)


def test_plain_class_annotation_raises_at_registration(app: Covet) -> None:
    # Usually a forgotten Depends(): it can never be filled from a query string.
    def handler(db: Database) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="'db'"):
        app.add_route("/", handler)


def test_positional_only_parameter_raises_at_registration(app: Covet) -> None:
    def handler(q: str, /) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="positional-only"):
        app.add_route("/", handler)


def test_two_markers_on_one_parameter_raise(app: Covet) -> None:
    def handler(q: Annotated[str, Query(), Header()]) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="'q'"):
        app.add_route("/", handler)


def test_json_body_and_form_in_one_handler_raise(app: Covet) -> None:
    def handler(item: Item, name: Annotated[str, Form()]) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="Form"):
        app.add_route("/", handler)


def test_path_placeholder_without_parameter_raises(app: Covet) -> None:
    def handler() -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="'item_id'"):
        app.add_route("/items/<int:item_id>", handler)


# --- forms and files --------------------------------------------------------------------------------


def test_form_fields_are_converted(app: Covet, client: TestClient) -> None:
    @app.post("/login")
    async def login(
        username: Annotated[str, Form()],
        remember: Annotated[bool, Form()] = False,
        age: Annotated[int | None, Form()] = None,
    ) -> dict[str, Any]:
        return {"username": username, "remember": remember, "age": age}

    response = client.post("/login", data={"username": "ada", "remember": "true", "age": "36"})
    assert response.json() == {"username": "ada", "remember": True, "age": 36}
    assert client.post("/login", data={"username": "bob"}).json() == {
        "username": "bob",
        "remember": False,
        "age": None,
    }
    errors = errors_of(client.post("/login", data={"age": "old"}))
    assert [error["loc"] for error in errors] == [["body", "username"], ["body", "age"]]
    assert errors[0]["type"] == "missing"
    assert "int" in errors[1]["msg"]


def test_form_list_field(app: Covet, client: TestClient) -> None:
    @app.post("/tags")
    async def tags(tag: Annotated[list[str], Form()]) -> dict[str, Any]:
        return {"tags": tag}

    assert client.post("/tags", data={"tag": ["a", "b"]}).json() == {"tags": ["a", "b"]}


def test_file_upload_binding(app: Covet, client: TestClient) -> None:
    @app.post("/upload")
    async def upload(doc: Annotated[UploadFile, File()], title: Annotated[str, Form()]) -> dict[str, Any]:
        return {
            "title": title,
            "name": doc.filename,
            "type": doc.content_type,
            "data": (await doc.read()).decode(),
        }

    response = client.post(
        "/upload", data={"title": "notes"}, files={"doc": ("notes.txt", b"hello", "text/plain")}
    )
    assert response.json() == {"title": "notes", "name": "notes.txt", "type": "text/plain", "data": "hello"}


def test_upload_file_annotation_without_marker(app: Covet, client: TestClient) -> None:
    @app.post("/upload")
    async def upload(doc: UploadFile) -> dict[str, Any]:
        return {"size": doc.size}

    assert client.post("/upload", files={"doc": ("a.bin", b"12345")}).json() == {"size": 5}


def test_list_of_upload_files(app: Covet, client: TestClient) -> None:
    @app.post("/upload")
    async def upload(files: Annotated[list[UploadFile], File()]) -> dict[str, Any]:
        return {"names": [f.filename for f in files], "data": [(await f.read()).decode() for f in files]}

    response = client.post(
        "/upload", files=[("files", ("a.txt", b"A", "text/plain")), ("files", ("b.txt", b"B", "text/plain"))]
    )
    assert response.json() == {"names": ["a.txt", "b.txt"], "data": ["A", "B"]}


def test_missing_file_is_422(app: Covet, client: TestClient) -> None:
    @app.post("/upload")
    async def upload(doc: Annotated[UploadFile, File()]) -> None:
        return None  # pragma: no cover

    response = client.post("/upload", data={"other": "x"}, files={"unrelated": ("a.txt", b"A")})
    assert errors_of(response) == [{"loc": ["body", "doc"], "msg": "Field required", "type": "missing"}]


def test_text_field_where_file_expected_is_422(app: Covet, client: TestClient) -> None:
    @app.post("/upload")
    async def upload(doc: Annotated[UploadFile, File()]) -> None:
        return None  # pragma: no cover

    assert locs(client.post("/upload", data={"doc": "not a file"})) == [["body", "doc"]]


def test_file_as_bytes(app: Covet, client: TestClient) -> None:
    @app.post("/upload")
    async def upload(data: Annotated[bytes, File()]) -> dict[str, Any]:
        return {"type": type(data).__name__, "len": len(data)}

    response = client.post("/upload", files={"data": ("a.bin", b"\x00\x01\x02")})
    assert response.json() == {"type": "bytes", "len": 3}


# --- request and misc ------------------------------------------------------------------------------


def test_request_annotation_gets_the_request(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(req: Request, q: str = "") -> dict[str, Any]:
        return {"path": req.path, "q": q}

    assert client.get("/?q=1").json() == {"path": "/", "q": "1"}


def test_unannotated_parameter_is_a_string_query_param(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(q, n=5):  # type: ignore[no-untyped-def]
        return {"q": q, "n": n}

    assert client.get("/?q=7").json() == {"q": "7", "n": 5}
    assert locs(client.get("/")) == [["query", "q"]]


def test_validation_error_handler_can_reformat(app: Covet, client: TestClient) -> None:
    from covet import RequestValidationError

    @app.errorhandler(RequestValidationError)
    def reformat(exc: RequestValidationError) -> tuple[dict[str, Any], int]:
        return {"problems": len(exc.errors)}, 400

    @app.get("/")
    async def index(a: int, b: int) -> None:
        return None  # pragma: no cover

    response = client.get("/")
    assert response.status_code == 400
    assert response.json() == {"problems": 2}


def test_datetime_query_naive_and_aware(app: Covet, client: TestClient) -> None:
    @app.get("/")
    async def index(at: datetime) -> dict[str, Any]:
        return {"utc": at.astimezone(timezone.utc).isoformat() if at.tzinfo else None}

    assert client.get("/?at=2024-01-01T10:00:00%2B02:00").json() == {"utc": "2024-01-01T08:00:00+00:00"}
    assert locs(client.get("/?at=yesterday")) == [["query", "at"]]


# --- FastAPI habits: lists hidden in unions, blank form fields, marker keywords -------------------


@pytest.mark.parametrize(
    "annotation",
    [
        Annotated[list[str] | None, Query()],
        Annotated[Optional[list[str]], Query()],  # noqa: UP045 - the spelling under test
        Optional[Annotated[list[str], Query()]],  # noqa: UP045
        list[str] | None,
        Annotated[list[str] | None, Query(max_length=5)],
    ],
    ids=["pipe-none", "optional", "annotated-inside-optional", "no-marker", "with-constraint"],
)
def test_optional_list_query_collects_repeated_values(annotation: Any) -> None:
    app = Covet()

    async def search(q: Any = None) -> dict[str, Any]:
        return {"q": q}

    search.__annotations__["q"] = annotation
    app.get("/items")(search)
    client = TestClient(app)
    assert client.get("/items?q=foo&q=bar").json() == {"q": ["foo", "bar"]}
    assert client.get("/items?q=one").json() == {"q": ["one"]}
    assert client.get("/items").json() == {"q": None}


def test_optional_list_of_ints_and_bools_converts_each_value(app: Covet, client: TestClient) -> None:
    @app.get("/n")
    async def numbers(
        n: Annotated[list[int] | None, Query()] = None, flags: list[bool] | None = None
    ) -> dict[str, Any]:
        return {"n": n, "flags": flags}

    assert client.get("/n?n=1&n=2&flags=yes&flags=off").json() == {"n": [1, 2], "flags": [True, False]}
    r = client.get("/n?n=1&n=x")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "n", 1]


def test_optional_list_header_is_comma_separated_over_repeated_lines(app: Covet, client: TestClient) -> None:
    # One meaning, RFC 9110's, which the OpenAPI document states: "X-Token: a, b" is ["a", "b"],
    # and several lines of one header are one list.
    @app.get("/h")
    async def tokens(x_token: Annotated[list[str] | None, Header()] = None) -> dict[str, Any]:
        return {"x_token": x_token}

    assert client.get("/h", headers={"X-Token": "a, b"}).json() == {"x_token": ["a", "b"]}
    assert client.get("/h", headers=[("X-Token", "a"), ("X-Token", "b,c")]).json() == {"x_token": ["a", "b", "c"]}
    assert client.get("/h", headers={"X-Token": '"x,y", z'}).json() == {"x_token": ['"x,y"', "z"]}
    assert client.get("/h", headers={"X-Token": " , "}).json() == {"x_token": None}
    assert client.get("/h").json() == {"x_token": None}


def test_optional_list_form_field_collects_repeated_values(app: Covet, client: TestClient) -> None:
    @app.post("/f")
    async def form(tags: Annotated[list[str] | None, Form()] = None, ids: Annotated[list[int] | None, Form()] = None) -> dict[str, Any]:
        return {"tags": tags, "ids": ids}

    assert client.post("/f", data={"tags": ["a", "b"], "ids": ["1", "2"]}).json() == {"tags": ["a", "b"], "ids": [1, 2]}
    assert client.post("/f", data={"other": "x"}).json() == {"tags": None, "ids": None}
    # Blank inputs among repeated number fields are "not filled in"; blank text stays text.
    assert client.post("/f", data={"tags": ["", "b"], "ids": ["", "3"]}).json() == {"tags": ["", "b"], "ids": [3]}


def test_optional_list_of_uploads_collects_files(app: Covet, client: TestClient) -> None:
    @app.post("/up")
    async def upload(files: Annotated[list[UploadFile] | None, File()] = None) -> dict[str, Any]:
        return {"names": None if files is None else [f.filename for f in files]}

    files = [("files", ("a.txt", b"1", "text/plain")), ("files", ("b.txt", b"2", "text/plain"))]
    assert client.post("/up", files=files).json() == {"names": ["a.txt", "b.txt"]}
    assert client.post("/up", data={"x": "1"}).json() == {"names": None}


def test_unmarked_optional_upload_list_is_a_file_parameter(app: Covet, client: TestClient) -> None:
    @app.post("/up")
    async def upload(files: list[UploadFile] | None = None) -> dict[str, Any]:
        return {"count": 0 if files is None else len(files)}

    assert client.post("/up", files=[("files", ("a.txt", b"1"))]).json() == {"count": 1}


def test_empty_html_form_field_is_none_for_optional_int(app: Covet, client: TestClient) -> None:
    @app.post("/people")
    async def person(
        name: Annotated[str, Form()],
        age: Annotated[int | None, Form()] = None,
        nickname: Annotated[str | None, Form()] = None,
        note: Annotated[str, Form()] = "-",
        score: Annotated[float, Form()] = 1.5,
    ) -> dict[str, Any]:
        return {"name": name, "age": age, "nickname": nickname, "note": note, "score": score}

    r = client.post("/people", content=b"name=Ada&age=&nickname=&note=&score=", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.json() == {"name": "Ada", "age": None, "nickname": None, "note": "", "score": 1.5}
    # A plain str keeps what was typed, empty or not.
    r = client.post("/people", content=b"name=", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.json()["name"] == ""


def test_empty_required_number_form_field_is_reported_missing(app: Covet, client: TestClient) -> None:
    @app.post("/age")
    async def age(age: Annotated[int, Form()]) -> dict[str, Any]:
        return {"age": age}  # pragma: no cover

    r = client.post("/age", data={"age": ""})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["body", "age"], "msg": "Field required", "type": "missing"}]


def test_empty_file_input_is_absent(app: Covet, client: TestClient) -> None:
    # What a browser sends for <input type=file> left empty: a part with filename="" and no content.
    @app.post("/avatar")
    async def avatar(name: Annotated[str, Form()], photo: Annotated[UploadFile | None, File()] = None) -> dict[str, Any]:
        return {"name": name, "photo": None if photo is None else photo.filename}

    body = (
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n'
        b'--b\r\nContent-Disposition: form-data; name="photo"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )
    r = client.post("/avatar", content=body, headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.json() == {"name": "Ada", "photo": None}


def test_bad_brace_uuid_is_reported_with_bad_query_values(app: Covet, client: TestClient) -> None:
    @app.get("/params/{item_id}")
    async def params(item_id: uuid.UUID, a: int, b: float, c: bool) -> dict[str, Any]:
        return {}  # pragma: no cover

    r = client.get("/params/not-a-uuid?a=x&b=y&c=z")
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["path", "item_id"], ["query", "a"], ["query", "b"], ["query", "c"]]


def test_explicit_uuid_converter_is_still_404(app: Covet, client: TestClient) -> None:
    @app.get("/a/<uuid:item_id>")
    async def flask_style(item_id: uuid.UUID) -> dict[str, Any]:
        return {}  # pragma: no cover

    @app.get("/b/{item_id:uuid}")
    async def brace_style(item_id: uuid.UUID) -> dict[str, Any]:
        return {}  # pragma: no cover

    assert client.get("/a/nope").status_code == 404
    assert client.get("/b/nope").status_code == 404


def test_every_bad_json_field_is_listed_in_one_422(app: Covet, client: TestClient) -> None:
    @app.post("/products")
    async def create(product: Product) -> dict[str, Any]:
        return {}  # pragma: no cover

    r = client.post("/products", json={"name": 1, "price": -1})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body", "name"], "msg": "Expected `str`, got `int`", "type": "type_error"},
        {"loc": ["body", "price"], "msg": "Expected `float` >= 0.0", "type": "value_error"},
    ]


FASTAPI_KEYWORDS = [
    ("gt", 0, "0", "1"),
    ("ge", 1, "0", "1"),
    ("lt", 10, "10", "9"),
    ("le", 100, "101", "100"),
    ("multiple_of", 5, "7", "10"),
]


@pytest.mark.parametrize(("keyword", "bound", "bad", "good"), FASTAPI_KEYWORDS)
def test_fastapi_numeric_keywords_on_query_marker(keyword: str, bound: int, bad: str, good: str) -> None:
    app = Covet()

    async def number(n: Any) -> dict[str, Any]:
        return {"n": n}

    # Set after definition: with postponed annotations a local name is not resolvable.
    number.__annotations__["n"] = Annotated[int, Query(**{keyword: bound})]
    app.get("/n")(number)
    client = TestClient(app)
    assert client.get(f"/n?n={good}").json() == {"n": int(good)}
    r = client.get(f"/n?n={bad}")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "n"]


def test_fastapi_string_keywords_on_every_marker(app: Covet, client: TestClient) -> None:
    @app.post("/s/{code}")
    async def strings(
        code: Annotated[str, Path(pattern="^[A-Z]+$")],
        q: Annotated[str, Query(min_length=3)],
        old: Annotated[str | None, Query(regex="^x")] = None,
        x_tag: Annotated[str | None, Header(max_length=4)] = None,
        pet: Annotated[str | None, Cookie(max_length=3)] = None,
        limit: Annotated[int | None, Query(le=100)] = None,
    ) -> dict[str, Any]:
        return {"code": code, "q": q, "old": old, "tag": x_tag, "pet": pet, "limit": limit}

    ok = client.post("/s/AB?q=abc&old=xy&limit=100", headers={"x-tag": "abcd", "cookie": "pet=cat"})
    assert ok.json() == {"code": "AB", "q": "abc", "old": "xy", "tag": "abcd", "pet": "cat", "limit": 100}
    bad = client.post("/s/ab?q=ab&old=y&limit=101", headers={"x-tag": "abcde", "cookie": "pet=dogs"})
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [
        ["path", "code"],
        ["query", "q"],
        ["query", "old"],
        ["header", "x-tag"],
        ["cookie", "pet"],
        ["query", "limit"],
    ]


def test_fastapi_keywords_on_body_and_form_markers(app: Covet, client: TestClient) -> None:
    @app.post("/b")
    async def body(qty: Annotated[int, Body(ge=1, embed=True)]) -> dict[str, Any]:
        return {"qty": qty}

    @app.post("/f")
    async def form(name: Annotated[str, Form(min_length=2)]) -> dict[str, Any]:
        return {"name": name}

    assert client.post("/b", json={"qty": 2}).json() == {"qty": 2}
    assert client.post("/b", json={"qty": 0}).json()["detail"][0]["loc"] == ["body", "qty"]
    assert client.post("/f", data={"name": "Al"}).json() == {"name": "Al"}
    assert client.post("/f", data={"name": "A"}).json()["detail"][0]["loc"] == ["body", "name"]


def test_path_marker_constrains_a_path_parameter(app: Covet, client: TestClient) -> None:
    @app.get("/items/{item_id}")
    async def item(item_id: Annotated[int, Path(ge=1, title="Item ID")]) -> dict[str, Any]:
        return {"item_id": item_id}

    @app.get("/old/<item_id>")
    async def old(item_id: int = Path(..., le=9)) -> dict[str, Any]:
        return {"item_id": item_id}

    assert client.get("/items/3").json() == {"item_id": 3}
    assert client.get("/items/0").json()["detail"][0]["loc"] == ["path", "item_id"]
    assert client.get("/old/9").json() == {"item_id": 9}
    assert client.get("/old/10").status_code == 422


def test_ellipsis_default_means_required(app: Covet, client: TestClient) -> None:
    @app.get("/q")
    async def q(q: str = Query(...), n: Annotated[int, Query(...)] = ...) -> dict[str, Any]:  # type: ignore[assignment]
        return {"q": q, "n": n}

    assert client.get("/q?q=a&n=1").json() == {"q": "a", "n": 1}
    assert [e["loc"] for e in client.get("/q").json()["detail"]] == [["query", "q"], ["query", "n"]]


def test_path_marker_with_default_fails_at_registration(app: Covet) -> None:
    with pytest.raises(TypeError, match="remove its default"):

        @app.get("/items/{item_id}")
        async def item(item_id: Annotated[int, Path(3)]) -> None: ...


def test_path_marker_without_placeholder_fails_at_registration(app: Covet) -> None:
    with pytest.raises(TypeError, match="no placeholder"):

        @app.get("/items")
        async def item(item_id: Annotated[int, Path()]) -> None: ...


@pytest.mark.parametrize(
    ("keyword", "advice"),
    [("max_digits", "Decimal"), ("strict", "laxly"), ("default_factory", "default in the signature"), ("spam", "it takes")],
)
def test_unsupported_fastapi_marker_keyword_says_how(keyword: str, advice: str) -> None:
    with pytest.raises(TypeError, match=advice) as info:
        Query(**{keyword: 1})
    assert keyword in str(info.value)


def test_constraint_that_does_not_fit_the_type_fails_at_registration(app: Covet) -> None:
    with pytest.raises(TypeError, match=r"list\[Annotated\[int, msgspec.Meta\(le=100\)\]\]"):

        @app.get("/items")
        async def items(ids: Annotated[list[int], Query(le=100)]) -> None: ...


def test_list_cookie_fails_at_registration(app: Covet) -> None:
    with pytest.raises(TypeError, match="a cookie holds one value"):

        @app.get("/c")
        async def cookies(ids: Annotated[list[str] | None, Cookie()] = None) -> None: ...


def test_file_marker_constraints_fail_at_registration(app: Covet) -> None:
    with pytest.raises(TypeError, match="max_file_size"):

        @app.post("/f")
        async def upload(f: Annotated[bytes, File(max_length=10)]) -> None: ...


class Product(msgspec.Struct):
    name: str
    price: Annotated[float, msgspec.Meta(ge=0)]


def test_upload_file_marker_constraints_fail_with_the_file_message(app: Covet) -> None:
    with pytest.raises(TypeError, match="File\\(\\) takes no constraints"):

        @app.post("/f")
        async def upload(f: Annotated[UploadFile, File(min_length=1)]) -> None: ...


@pytest.mark.parametrize("alias", ["x-€", "x token", "x:token", "x\r\ny"])
def test_header_alias_that_is_not_a_field_name_fails_at_registration(app: Covet, alias: str) -> None:
    # Such a header can never arrive (RFC 9110 §5.1): say so at startup, not per request.
    with pytest.raises(TypeError, match="not an HTTP header name"):

        @app.get("/h")
        async def handler(v: str = Header("d", alias=alias)) -> None: ...
