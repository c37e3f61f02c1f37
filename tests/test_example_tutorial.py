"""examples/tutorial.py: the FastAPI tutorial chapters ported to covet, driven end to end.

Every endpoint gets its happy path and its failure. The example module is loaded fresh for each
test (under a unique name), so its module-level state (sessions, clients, accounts) starts clean.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tutorial.py"
_counter = itertools.count()


@pytest.fixture
def tutorial(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = f"_covet_example_tutorial_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(tutorial: ModuleType) -> Iterator[TestClient]:
    with TestClient(tutorial.app) as c:
        yield c


def locs(response: httpx.Response) -> list[list[object]]:
    """The ``loc`` of every entry of a 422 body."""
    return [error["loc"] for error in response.json()["detail"]]


# --- first steps ----------------------------------------------------------------------------------


def test_root_says_hello(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "Hello from covet"}


def test_unknown_path_is_404(client: TestClient) -> None:
    assert client.get("/nowhere").status_code == 404


# --- path parameters --------------------------------------------------------------------------------


def test_static_path_wins_over_parameter(client: TestClient) -> None:
    assert client.get("/users/me").json() == {"user_id": "the current user"}
    assert client.get("/users/ada").json() == {"user_id": "ada"}


@pytest.mark.parametrize(
    ("name", "message"),
    [("alexnet", "Deep learning FTW!"), ("lenet", "LeCNN all the images"), ("resnet", "Have some residuals")],
)
def test_enum_path_parameter(client: TestClient, name: str, message: str) -> None:
    assert client.get(f"/models/{name}").json() == {"model_name": name, "message": message}


def test_enum_path_parameter_rejects_other_values(client: TestClient) -> None:
    r = client.get("/models/vgg")
    assert r.status_code == 422
    assert locs(r) == [["path", "model_name"]]


def test_path_converter_keeps_slashes(client: TestClient) -> None:
    assert client.get("/files/home/me/notes.txt").json() == {"file_path": "home/me/notes.txt"}


def test_path_converter_takes_any_character(client: TestClient) -> None:
    # Found by schemathesis: a "path" parameter is any non-empty text, line breaks included.
    r = client.get("/files/notes%0Adraft.txt")
    assert r.status_code == 200
    assert r.json() == {"file_path": "notes\ndraft.txt"}


def test_int_path_parameter_is_converted(client: TestClient) -> None:
    assert client.get("/items/42").json()["item_id"] == 42


def test_non_int_brace_path_segment_is_422(client: TestClient) -> None:
    # "{item_id}" has no converter, so the annotation validates it like a query value (FastAPI).
    r = client.get("/items/foo")
    assert r.status_code == 422
    assert locs(r) == [["path", "item_id"]]


# --- query parameters -------------------------------------------------------------------------------


def test_query_defaults_and_values(client: TestClient) -> None:
    assert client.get("/items").json() == [{"item_name": "Foo"}, {"item_name": "Bar"}, {"item_name": "Baz"}]
    assert client.get("/items", params={"skip": 1, "limit": 1}).json() == [{"item_name": "Bar"}]


def test_query_type_error_is_422_with_loc(client: TestClient) -> None:
    r = client.get("/items", params={"limit": "many"})
    assert r.status_code == 422
    assert locs(r) == [["query", "limit"]]


def test_optional_query_and_bool_flag(client: TestClient) -> None:
    long = client.get("/items/5").json()
    assert long == {"item_id": 5, "description": "This is an amazing item that has a long description"}
    assert client.get("/items/5", params={"q": "x", "short": "true"}).json() == {"item_id": 5, "q": "x"}
    assert client.get("/items/5", params={"short": "1"}).json() == {"item_id": 5}
    assert "description" in client.get("/items/5", params={"short": "false"}).json()


@pytest.mark.parametrize("spelling", ["yes", "on"])
def test_bool_flag_accepts_fastapi_spellings(client: TestClient, spelling: str) -> None:
    # The FastAPI tutorial shows ?short=yes and ?short=on; a port must keep accepting them.
    r = client.get("/items/5", params={"short": spelling})
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": 5}


def test_bool_flag_rejects_garbage(client: TestClient) -> None:
    r = client.get("/items/5", params={"short": "maybe"})
    assert r.status_code == 422
    assert locs(r) == [["query", "short"]]


def test_required_query_parameter(client: TestClient) -> None:
    r = client.get("/users/7/items/abc", params={"needy": "sooo"})
    assert r.json() == {
        "item_id": "abc",
        "owner_id": 7,
        "needy": "sooo",
        "description": "This is an amazing item that has a long description",
    }
    missing = client.get("/users/7/items/abc")
    assert missing.status_code == 422
    assert missing.json()["detail"] == [
        {"loc": ["query", "needy"], "msg": "Field required", "type": "missing"}
    ]


def test_query_errors_are_all_reported(client: TestClient) -> None:
    r = client.get("/search", params=[("item-query", "ba"), ("tag", "x"), ("limit", "0")])
    assert r.status_code == 422
    assert locs(r) == [["query", "item-query"], ["query", "limit"]]


def test_search_happy_path(client: TestClient) -> None:
    r = client.get("/search", params=[("item-query", "bar"), ("tag", "x"), ("tag", "y")])
    assert r.status_code == 200
    assert r.json() == {"query": "bar", "tags": ["x", "y"], "limit": 10, "items": [{"item_name": "Bar"}]}
    # The alias is the only name: ?q= is not the parameter.
    assert client.get("/search", params={"q": "zzz"}).json()["query"] is None


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"item-query": "BAR"}, ["query", "item-query"]),  # pattern: lower case only
        ({"item-query": "x" * 51}, ["query", "item-query"]),  # max_length
        ({"limit": "0"}, ["query", "limit"]),  # ge=1
        ({"limit": "101"}, ["query", "limit"]),  # le=100
    ],
)
def test_search_constraints(client: TestClient, params: dict[str, str], loc: list[str]) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 422
    assert locs(r) == [loc]


# --- request body -----------------------------------------------------------------------------------


def test_create_item_with_optional_fields(client: TestClient) -> None:
    r = client.post("/items", json={"name": "Lamp", "price": 10.5, "tax": 1.5})
    assert r.status_code == 201
    assert r.json() == {
        "name": "Lamp",
        "price": 10.5,
        "description": None,
        "tax": 1.5,
        "price_with_tax": 12.0,
    }
    bare = client.post("/items", json={"name": "Rug", "price": 3})
    assert bare.json()["price_with_tax"] == 3.0 and bare.json()["tax"] is None


def test_create_item_validation(client: TestClient) -> None:
    r = client.post("/items", json={"name": "Lamp"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["body", "price"], "msg": "Field required", "type": "missing"}]
    negative = client.post("/items", json={"name": "Lamp", "price": -1})
    assert negative.status_code == 422
    assert locs(negative) == [["body", "price"]]
    empty = client.post("/items")
    assert empty.status_code == 422
    assert locs(empty) == [["body"]]


def test_malformed_json_is_a_client_error(client: TestClient) -> None:
    r = client.post("/items", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)
    assert "detail" in r.json()


def test_body_path_and_query_together(client: TestClient) -> None:
    r = client.put("/items/3", params={"q": "new"}, json={"name": "Mug", "price": 4})
    assert r.json() == {
        "item_id": 3,
        "item": {"name": "Mug", "price": 4.0, "description": None, "tax": None},
        "q": "new",
    }
    bad = client.put("/items/3", params={"q": "new"}, json={"name": 5, "price": 4})
    assert bad.status_code == 422
    assert locs(bad) == [["body", "name"]]


def test_integral_float_is_an_integer(client: TestClient) -> None:
    # Found by schemathesis: OpenAPI documents "importance" as {"type": "integer"}, and in JSON
    # Schema 4.0 is an integer (FastAPI accepts it too); 4.5 is not.
    body = {"item": {"name": "Mug", "price": 4}, "owner": {"username": "ada"}}
    r = client.put("/items/9/owner", json={**body, "importance": 4.0})
    assert r.status_code == 200, r.text
    assert r.json()["importance"] == 4
    fractional = client.put("/items/9/owner", json={**body, "importance": 4.5})
    assert fractional.status_code == 422
    assert locs(fractional) == [["body", "importance"]]


def test_embedded_body(client: TestClient) -> None:
    r = client.put("/items/3/embedded", json={"item": {"name": "Mug", "price": 4}})
    assert r.status_code == 200
    assert r.json()["item"]["name"] == "Mug"
    unwrapped = client.put("/items/3/embedded", json={"name": "Mug", "price": 4})
    assert unwrapped.status_code == 422
    assert locs(unwrapped) == [["body", "item"]]


def test_multiple_body_parameters(client: TestClient) -> None:
    body = {"item": {"name": "Mug", "price": 4}, "owner": {"username": "ada"}, "importance": 5}
    r = client.put("/items/9/owner", json=body)
    assert r.json() == {
        "item_id": 9,
        "item": {"name": "Mug", "price": 4.0, "description": None, "tax": None},
        "owner": {"username": "ada", "full_name": None},
        "importance": 5,
    }
    too_important = client.put("/items/9/owner", json={**body, "importance": 9})
    assert too_important.status_code == 422
    assert locs(too_important) == [["body", "importance"]]
    no_owner = client.put("/items/9/owner", json={"item": body["item"], "importance": 1})
    assert locs(no_owner) == [["body", "owner"]]
    nested = client.put("/items/9/owner", json={**body, "owner": {"username": 1}})
    assert locs(nested) == [["body", "owner", "username"]]


# --- headers and cookies ----------------------------------------------------------------------------


def test_headers_underscores_and_repeats(client: TestClient) -> None:
    r = client.get("/headers", headers=[("user-agent", "tester/1.0"), ("x-token", "a"), ("x-token", "b")])
    assert r.json() == {"user_agent": "tester/1.0", "x_token": ["a", "b"]}
    assert client.get("/headers", headers={"user-agent": "t"}).json()["x_token"] == []


def test_cookie_parameter(client: TestClient) -> None:
    assert client.get("/cookies").json() == {"ads_id": None}
    assert client.get("/cookies", cookies={"ads_id": "abc123"}).json() == {"ads_id": "abc123"}


# --- dependencies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/catalog/items", "/catalog/users"])
def test_function_dependency_shared_by_endpoints(client: TestClient, path: str) -> None:
    assert client.get(path).json() == {"q": None, "skip": 0, "limit": 100}
    assert client.get(path, params={"q": "x", "skip": 2, "limit": 5}).json() == {
        "q": "x",
        "skip": 2,
        "limit": 5,
    }
    r = client.get(path, params={"limit": -1})
    assert r.status_code == 422
    assert locs(r) == [["query", "limit"]]


def test_class_dependency(client: TestClient) -> None:
    assert client.get("/catalog/page", params={"skip": 1, "limit": 1}).json() == {
        "q": None,
        "items": [{"item_name": "Bar"}],
    }
    r = client.get("/catalog/page", params={"skip": "first"})
    assert r.status_code == 422
    assert locs(r) == [["query", "skip"]]


def test_sub_dependency_query_or_cookie(client: TestClient) -> None:
    assert client.get("/catalog/query").json() == {"q_or_cookie": None}
    assert client.get("/catalog/query", cookies={"last_query": "old"}).json() == {"q_or_cookie": "old"}
    both = client.get("/catalog/query", params={"q": "new"}, cookies={"last_query": "old"})
    assert both.json() == {"q_or_cookie": "new"}


GOOD_HEADERS = {"x-token": "fake-super-secret-token", "x-key": "fake-super-secret-key"}


def test_decorator_dependencies_accept_good_headers(client: TestClient) -> None:
    r = client.get("/protected/items", headers=GOOD_HEADERS)
    assert r.status_code == 200
    assert r.json() == [{"item": "Portal Gun"}, {"item": "Plumbus"}]


def test_decorator_dependencies_reject_bad_token(client: TestClient) -> None:
    r = client.get("/protected/items", headers={**GOOD_HEADERS, "x-token": "guess"})
    assert r.status_code == 400
    assert r.json() == {"detail": "X-Token header invalid"}


def test_decorator_dependencies_reject_bad_key(client: TestClient) -> None:
    r = client.get("/protected/items", headers={**GOOD_HEADERS, "x-key": "guess"})
    assert r.status_code == 401
    assert r.json() == {"detail": "X-Key header invalid"}
    assert r.headers["www-authenticate"] == "Key"


def test_decorator_dependencies_report_missing_headers(client: TestClient) -> None:
    r = client.get("/protected/items")
    assert r.status_code == 422
    assert locs(r) == [["header", "x-token"], ["header", "x-key"]]


def test_yield_dependency_tears_down_after_response(client: TestClient, tutorial: ModuleType) -> None:
    r = client.get("/db/items/3")
    assert r.json() == {"id": 3, "name": "Item 3"}
    (session,) = tutorial.SESSIONS
    assert session.closed and session.error is None


def test_yield_dependency_sees_handler_error(client: TestClient, tutorial: ModuleType) -> None:
    r = client.get("/db/items/500")
    assert r.status_code == 404
    assert r.json() == {"detail": "Item not found"}
    (session,) = tutorial.SESSIONS
    assert session.closed
    assert session.error is not None and session.error.status_code == 404


def test_each_request_gets_its_own_session(client: TestClient, tutorial: ModuleType) -> None:
    client.get("/db/items/1")
    client.get("/db/items/2")
    assert len(tutorial.SESSIONS) == 2
    assert all(session.closed for session in tutorial.SESSIONS)


def test_path_constraint_from_meta(client: TestClient, tutorial: ModuleType) -> None:
    # Annotated[int, msgspec.Meta(ge=1)] is FastAPI's Path(ge=1): 0 must be refused, before the
    # dependency runs.
    r = client.get("/db/items/0")
    assert r.status_code == 422
    assert locs(r) == [["path", "item_id"]]


def test_app_scoped_dependency_lives_as_long_as_the_app(tutorial: ModuleType) -> None:
    with TestClient(tutorial.app) as client:
        # Made at startup, before any request.
        assert len(tutorial.CLIENTS) == 1
        first = client.get("/pool").json()
        second = client.get("/pool").json()
        assert first["client_id"] == second["client_id"]
        assert (first["requests"], second["requests"]) == (1, 2)
        assert len(tutorial.CLIENTS) == 1
        assert not tutorial.CLIENTS[0].closed
    assert tutorial.CLIENTS[0].closed


# --- handling errors --------------------------------------------------------------------------------


def test_http_exception_with_headers(client: TestClient) -> None:
    assert client.get("/articles/intro").json() == {"slug": "intro", "text": "Welcome to the tutorial"}
    r = client.get("/articles/missing")
    assert r.status_code == 404
    assert r.json() == {"detail": "Article not found"}
    assert r.headers["x-error"] == "missing-article"


def test_custom_exception_handler(client: TestClient) -> None:
    assert client.get("/unicorns/sparkle").json() == {"unicorn_name": "sparkle"}
    r = client.get("/unicorns/yolo")
    assert r.status_code == 418
    assert r.json() == {"message": "Oops! yolo did something. There goes a rainbow..."}


def test_response_model_drops_the_password(client: TestClient) -> None:
    user = {"username": "bob", "password": "hunter2", "email": "bob@example.com"}
    r = client.post("/accounts", json=user)
    assert r.status_code == 201
    assert r.json() == {"username": "bob", "email": "bob@example.com", "full_name": None}
    assert "hunter2" not in r.text


def test_response_model_on_stored_user(client: TestClient) -> None:
    r = client.get("/accounts/alice")
    assert r.json() == {"username": "alice", "email": "alice@example.com", "full_name": "Alice Liddell"}
    assert "hashed" not in r.text
    missing = client.get("/accounts/nobody")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "User not found"}


def test_account_validation(client: TestClient) -> None:
    r = client.post("/accounts", json={"username": "bob", "password": "x"})
    assert r.status_code == 422
    assert locs(r) == [["body", "email"]]
