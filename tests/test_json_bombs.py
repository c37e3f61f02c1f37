"""JSON nesting bombs and other undecodable JSON: a 400 that says why, on every JSON path."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest

from covet import Covet, Request
from covet.params import Body, Form
from covet.testing import TestClient

BOMBS = {
    "arrays-1000-deep": b"[" * 1000 + b"]" * 1000,
    "arrays-100000-open": b"[" * 100_000,
    "objects-2000-deep": b'{"a":' * 2000,
    "mixed-deep": b'[{"a":' * 600,
}


class Item(msgspec.Struct):
    name: str
    extra: Any = None


@pytest.fixture
def client() -> TestClient:
    app = Covet()

    @app.post("/request-json")
    async def request_json(request: Request) -> dict[str, str]:
        return {"type": type(await request.json()).__name__}

    @app.post("/typed-any")
    async def typed_any(payload: Annotated[Any, Body()]) -> dict[str, str]:
        return {"type": type(payload).__name__}

    @app.post("/typed-list")
    async def typed_list(items: list[Item]) -> dict[str, int]:
        return {"n": len(items)}

    @app.post("/typed-struct")
    async def typed_struct(item: Item) -> dict[str, str]:
        return {"name": item.name}

    @app.post("/embedded")
    async def embedded(
        a: Annotated[Any, Body(embed=True)], b: Annotated[int, Body(embed=True)] = 0
    ) -> dict[str, int]:
        return {"b": b}

    @app.post("/form-field")
    async def form_field(data: Annotated[dict[str, Any], Form()]) -> dict[str, int]:
        return {"n": len(data)}

    return TestClient(app, raise_server_exceptions=True)


def _wrapped(path: str, bomb: bytes) -> bytes:
    if path == "/typed-struct":
        return b'{"name":"x","extra":' + bomb
    if path == "/embedded":
        return b'{"a":' + bomb
    if path == "/typed-list":
        return b'[{"name":"x","extra":' + bomb
    return bomb


@pytest.mark.parametrize("path", ["/request-json", "/typed-any", "/typed-list", "/typed-struct", "/embedded"])
@pytest.mark.parametrize("name", list(BOMBS))
def test_json_nesting_bomb_is_400(client: TestClient, path: str, name: str) -> None:
    body = _wrapped(path, BOMBS[name])
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Malformed JSON body: nested too deeply (arrays or objects inside each other)."
    }


@pytest.mark.parametrize("path", ["/request-json", "/typed-any", "/typed-struct"])
@pytest.mark.parametrize(
    "body", [b"{", b"nul", b"\xff\xfe", b'{"name": "x"} trailing', b"[1,]", b'"\\ud800"', b"1e999999"]
)
def test_undecodable_json_is_400(client: TestClient, path: str, body: bytes) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    # 400 for JSON that does not decode; a typed body may also find a value it cannot take (422).
    assert response.status_code == 400 or (response.status_code == 422 and path != "/request-json")
    assert response.json()["detail"]


def test_json_nesting_bomb_in_a_form_field_is_a_client_error(client: TestClient) -> None:
    # Form fields are text converted to the annotation, never parsed as JSON: a bomb is just a
    # string that is not an object (422), and never a 500.
    response = client.post("/form-field", data={"data": "[" * 100_000})
    assert response.status_code == 422


def test_nesting_within_the_limit_still_decodes(client: TestClient) -> None:
    body = b"[" * 200 + b"]" * 200
    assert client.post("/request-json", content=body).json() == {"type": "list"}
    assert client.post("/typed-any", content=body, headers={"content-type": "application/json"}).json() == {
        "type": "list"
    }
