"""Path converters: convert/to_string of the built-ins, and custom converters via register_convertor."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import pytest

from covet import Covet
from covet.convertors import (
    CONVERTORS,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
    register_convertor,
)
from covet.testing import TestClient


@pytest.fixture
def restore_convertors() -> Iterator[None]:
    """register_convertor() changes a process-wide table; put it back after the test."""
    saved = dict(CONVERTORS)
    yield
    CONVERTORS.clear()
    CONVERTORS.update(saved)


class Slug(Convertor):
    regex = "[a-z0-9]+(?:-[a-z0-9]+)*"


class Even(Convertor):
    regex = "[0-9]+"
    python_type = int

    def convert(self, value: str) -> int:
        number = int(value)
        if number % 2:
            raise ValueError(f"{value!r} is odd")
        return number

    def to_string(self, value: object) -> str:
        return str(value)


class Lang(Convertor):
    # A capture group in a converter regex is natural to write.
    regex = "(en|fr)"


# -- built-ins -------------------------------------------------------------------------------------


def test_builtin_names_are_registered() -> None:
    assert {"str", "int", "float", "path", "uuid"} <= set(CONVERTORS)


def test_str_convert_and_to_string() -> None:
    conv = StringConvertor()
    assert conv.convert("héllo") == "héllo"
    assert conv.to_string("a b/c?") == "a%20b%2Fc%3F"
    assert conv.to_string(42) == "42"
    assert conv.pattern.fullmatch("a/b") is None


def test_str_to_string_refuses_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        StringConvertor().to_string("")


def test_int_convert_and_to_string() -> None:
    conv = IntegerConvertor()
    assert conv.convert("007") == 7
    assert conv.to_string(42) == "42"
    assert conv.to_string("13") == "13"
    assert conv.pattern.fullmatch("-1") is None
    assert conv.pattern.fullmatch("1.0") is None


def test_int_to_string_refuses_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        IntegerConvertor().to_string(-1)


def test_int_to_string_refuses_non_numbers() -> None:
    with pytest.raises(ValueError):
        IntegerConvertor().to_string("abc")


def test_int_convert_of_huge_digit_string_raises_value_error() -> None:
    with pytest.raises(ValueError):
        IntegerConvertor().convert("9" * 5001)


def test_float_convert_and_to_string() -> None:
    conv = FloatConvertor()
    assert conv.convert("2.5") == 2.5
    assert conv.convert("3") == 3.0
    assert conv.to_string(2.5) == "2.5"
    assert conv.to_string(3.0) == "3"
    assert conv.pattern.fullmatch("1e5") is None
    assert conv.pattern.fullmatch("nan") is None


def test_float_convert_refuses_overflow_to_infinity() -> None:
    with pytest.raises(ValueError):
        FloatConvertor().convert("9" * 400)


@pytest.mark.parametrize("value", [-1.0, math.inf, -math.inf, math.nan])
def test_float_to_string_refuses_negative_and_non_finite(value: float) -> None:
    with pytest.raises(ValueError):
        FloatConvertor().to_string(value)


@pytest.mark.parametrize("value", [0.0, 0.5, 0.1, 3.0, 123456.789, 1e20, 1e-5, 1e-7, 2.5e-12])
def test_float_to_string_round_trips_through_its_own_regex(value: float) -> None:
    # url_for must never build a path that the same route then answers with 404.
    conv = FloatConvertor()
    text = conv.to_string(value)
    assert conv.pattern.fullmatch(text), text
    assert conv.convert(text) == value


def test_path_convert_and_to_string() -> None:
    conv = PathConvertor()
    assert conv.convert("a/b/c") == "a/b/c"
    assert conv.to_string("dir/a b.txt") == "dir/a%20b.txt"
    assert conv.pattern.fullmatch("a/b") is not None
    assert conv.multi_segment is True


def test_path_to_string_refuses_empty() -> None:
    with pytest.raises(ValueError):
        PathConvertor().to_string("")


def test_uuid_convert_and_to_string() -> None:
    conv = UUIDConvertor()
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert conv.convert("12345678-1234-5678-1234-567812345678") == value
    assert conv.convert("12345678123456781234567812345678") == value
    assert conv.to_string(value) == "12345678-1234-5678-1234-567812345678"
    assert conv.to_string("12345678123456781234567812345678") == "12345678-1234-5678-1234-567812345678"


def test_uuid_to_string_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        UUIDConvertor().to_string("not-a-uuid")


def test_subclass_regex_is_compiled_once() -> None:
    assert Slug.pattern.pattern == Slug.regex
    assert Slug.pattern.fullmatch("a-b-c")
    assert not Slug.pattern.fullmatch("a--b")


# -- url_for reports to_string errors --------------------------------------------------------------


def test_url_for_reports_value_that_does_not_fit() -> None:
    app = Covet(openapi_url=None)

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    with pytest.raises(ValueError, match="does not fit"):
        app.url_for("item", item_id=-3)
    with pytest.raises(ValueError, match="item_id="):
        app.url_for("item", item_id="abc")


def test_url_for_with_float_builds_a_routable_path() -> None:
    app = Covet(openapi_url=None)

    @app.get("/f/<float:x>")
    async def f(x: float) -> dict[str, float]:
        return {"x": x}

    client = TestClient(app)
    for value in (2.5, 0.00001):
        response = client.get(app.url_for("f", x=value))
        assert response.status_code == 200, (value, response.status_code)
        assert response.json() == {"x": value}


# -- register_convertor ----------------------------------------------------------------------------


def test_register_convertor_refuses_non_convertor(restore_convertors: None) -> None:
    with pytest.raises(TypeError, match="Convertor instance"):
        register_convertor("bad", "[a-z]+")  # type: ignore[arg-type]
    assert "bad" not in CONVERTORS


def test_custom_convertor_usable_in_both_syntaxes(restore_convertors: None) -> None:
    register_convertor("slug", Slug())
    app = Covet(openapi_url=None)

    @app.get("/posts/<slug:slug>")
    async def post(slug: str) -> dict[str, str]:
        return {"slug": slug}

    @app.get("/tags/{tag:slug}")
    async def tag(tag: str) -> dict[str, str]:
        return {"tag": tag}

    client = TestClient(app)
    assert client.get("/posts/hello-world").json() == {"slug": "hello-world"}
    assert client.get("/tags/py-3").json() == {"tag": "py-3"}
    assert client.get("/posts/Hello_World").status_code == 404
    assert client.get("/tags/a--b").status_code == 404
    assert app.url_for("post", slug="x-y") == "/posts/x-y"


def test_custom_convertor_convert_value_error_is_404(restore_convertors: None) -> None:
    register_convertor("even", Even())
    app = Covet(openapi_url=None)

    @app.get("/even/<even:n>")
    async def even(n: int) -> dict[str, int]:
        return {"n": n}

    client = TestClient(app)
    assert client.get("/even/4").json() == {"n": 4}
    assert client.get("/even/3").status_code == 404
    assert app.url_for("even", n=8) == "/even/8"


def test_custom_convertor_in_mixed_segment(restore_convertors: None) -> None:
    register_convertor("even", Even())
    app = Covet(openapi_url=None)

    @app.get("/page-<even:n>.html")
    async def page(n: int) -> dict[str, int]:
        return {"n": n}

    client = TestClient(app)
    assert client.get("/page-6.html").json() == {"n": 6}
    assert client.get("/page-7.html").status_code == 404


def test_custom_convertor_with_capture_group_in_whole_segment(restore_convertors: None) -> None:
    register_convertor("lang", Lang())
    app = Covet(openapi_url=None)

    @app.get("/docs/<lang:lang>")
    async def docs(lang: str) -> dict[str, str]:
        return {"lang": lang}

    client = TestClient(app)
    assert client.get("/docs/fr").json() == {"lang": "fr"}
    assert client.get("/docs/de").status_code == 404


def test_custom_convertor_with_capture_group_in_mixed_segment(restore_convertors: None) -> None:
    # The converter's own group must not shift the following parameter's group.
    register_convertor("lang", Lang())
    app = Covet(openapi_url=None)

    @app.get("/doc-<lang:lang>-<int:n>")
    async def doc(lang: str, n: int) -> dict[str, object]:
        return {"lang": lang, "n": n}

    client = TestClient(app)
    assert client.get("/doc-en-5").json() == {"lang": "en", "n": 5}


def test_custom_convertor_with_capture_group_before_path_tail(restore_convertors: None) -> None:
    register_convertor("lang", Lang())
    app = Covet(openapi_url=None)

    @app.get("/<lang:lang>/<path:rest>")
    async def localized(lang: str, rest: str) -> dict[str, str]:
        return {"lang": lang, "rest": rest}

    client = TestClient(app)
    assert client.get("/en/a/b").json() == {"lang": "en", "rest": "a/b"}
