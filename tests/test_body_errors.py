"""covet._body_errors: a JSON body with several bad fields gets one 422 listing every problem."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, TypedDict

import msgspec
import pytest

from covet import Body, Covet
from covet._body_errors import MAX_BODY_ERRORS, body_errors
from covet.testing import TestClient


class Line(msgspec.Struct):
    sku: str
    qty: Annotated[int, msgspec.Meta(gt=0)]


class Order(msgspec.Struct, forbid_unknown_fields=True):
    customer: str
    lines: list[Line]
    notes: dict[str, int] = {}
    rush: bool | None = None


class Renamed(msgspec.Struct, rename="camel"):
    first_name: str
    zip_code: int


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: int


class Checked(msgspec.Struct):
    low: int
    high: int

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


def errors(annotation: Any, data: Any) -> list[dict[str, Any]]:
    body = msgspec.json.encode(data)
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(body, type=annotation, strict=False)
    return body_errors(annotation, body, info.value, ["body"])


def test_every_bad_field_of_a_nested_struct_is_listed() -> None:
    found = errors(
        Order,
        {"customer": 5, "lines": [{"sku": "a", "qty": 0}, {"qty": "x"}], "notes": {"a": "b"}, "rush": "maybe", "extra": 1},
    )
    assert [e["loc"] for e in found] == [
        ["body", "customer"],
        ["body", "lines", 0, "qty"],
        ["body", "lines", 1, "sku"],
        ["body", "lines", 1, "qty"],
        ["body", "notes", "a"],
        ["body", "rush"],
        ["body", "extra"],
    ]
    assert found[2] == {"loc": ["body", "lines", 1, "sku"], "msg": "Field required", "type": "missing"}
    assert found[-1]["msg"] == "Object contains unknown field `extra`"


def test_renamed_fields_are_reported_by_their_json_names() -> None:
    found = errors(Renamed, {"firstName": 1, "zipCode": "x"})
    assert [e["loc"] for e in found] == [["body", "firstName"], ["body", "zipCode"]]


def test_dataclass_and_typeddict_bodies_list_every_field() -> None:
    assert [e["loc"] for e in errors(Point, {"x": "a", "y": "b"})] == [["body", "x"], ["body", "y"]]
    assert [e["loc"] for e in errors(Movie, {"year": "then"})] == [["body", "title"], ["body", "year"]]


def test_list_body_reports_each_bad_item() -> None:
    found = errors(list[Line], [{"sku": "a", "qty": 1}, {"sku": 2, "qty": 1}, {"sku": "c", "qty": -1}])
    assert [e["loc"] for e in found] == [["body", 1, "sku"], ["body", 2, "qty"]]


def test_long_list_finds_bad_items_past_the_first_chunks() -> None:
    items: list[Any] = [{"sku": "a", "qty": 1}] * 1000
    items[700] = {"sku": "a", "qty": 0}
    items[999] = {"qty": 1}
    found = errors(list[Line], items)
    assert [e["loc"] for e in found] == [["body", 700, "qty"], ["body", 999, "sku"]]
    found = errors(dict[str, Line], {f"k{i}": item for i, item in enumerate(items)})
    assert [e["loc"] for e in found] == [["body", "k700", "qty"], ["body", "k999", "sku"]]


def test_constraint_on_a_whole_list_is_listed_with_its_bad_items() -> None:
    found = errors(Annotated[list[int], msgspec.Meta(max_length=2)], ["x", 1, 2])
    assert [e["loc"] for e in found] == [["body"], ["body", 0]]


def test_check_in_post_init_is_still_reported() -> None:
    (found,) = errors(Checked, {"low": 3, "high": 1})
    assert found["loc"] == ["body"] and "low must not exceed high" in found["msg"]


def test_huge_bad_body_gets_a_bounded_list_of_problems() -> None:
    found = errors(list[int], ["x"] * (MAX_BODY_ERRORS * 5))
    assert len(found) == MAX_BODY_ERRORS


def test_deeply_nested_bad_body_does_not_recurse_without_bound() -> None:
    annotation: Any = int
    data: Any = "x"
    for _ in range(200):
        annotation = list[annotation]
        data = [data]
    (found,) = errors(annotation, data)
    assert found["loc"][0] == "body"


def test_embedded_body_parameters_list_every_problem() -> None:
    app = Covet()

    @app.post("/move")
    async def move(
        point: Point, speed: Annotated[int, Body(ge=1)], label: Annotated[str, Body()]
    ) -> dict[str, Any]:
        return {}  # pragma: no cover

    r = TestClient(app).post("/move", json={"point": {"x": "a"}, "speed": 0, "label": 3})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [
        ["body", "point", "x"],
        ["body", "speed"],
        ["body", "label"],
    ]


def test_valid_body_never_walks(monkeypatch: pytest.MonkeyPatch) -> None:
    # The walk runs on the error path only: a valid body must not pay for it.
    import covet.resolution

    def fail(*args: Any) -> list[dict[str, Any]]:
        raise AssertionError("body_errors ran for a valid body")

    monkeypatch.setattr(covet.resolution, "body_errors", fail)
    app = Covet()

    @app.post("/orders")
    async def create(order: Order) -> dict[str, Any]:
        return {"customer": order.customer}

    r = TestClient(app).post("/orders", json={"customer": "ada", "lines": [{"sku": "a", "qty": 1}]})
    assert r.json() == {"customer": "ada"}
