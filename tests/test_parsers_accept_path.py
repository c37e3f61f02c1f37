"""``parse_accept`` and ``decode_path`` in both twins, and the debug page's choice of HTML or JSON."""

from __future__ import annotations

from types import ModuleType

import pytest

from covet import Covet
from covet.testing import TestClient

BROWSER_ACCEPT = "text/html,application/xhtml+xml,*/*;q=0.8"

# -- parse_accept: ordering ------------------------------------------------------------------------


def test_accept_orders_ranges_by_quality(parsers_impl: ModuleType) -> None:
    ranked = parsers_impl.parse_accept("text/plain;q=0.5, text/html, application/json;q=0.9")
    assert ranked == [("text/html", 1.0), ("application/json", 0.9), ("text/plain", 0.5)]


def test_accept_equal_weights_keep_the_client_order(parsers_impl: ModuleType) -> None:
    ranked = parsers_impl.parse_accept("b/b;q=0.5, a/a, d/d;q=0.5, c/c, e/e;q=0.5")
    assert ranked == [("a/a", 1.0), ("c/c", 1.0), ("b/b", 0.5), ("d/d", 0.5), ("e/e", 0.5)]


def test_accept_browser_header(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_accept(BROWSER_ACCEPT) == [
        ("text/html", 1.0),
        ("application/xhtml+xml", 1.0),
        ("*/*", 0.8),
    ]


def test_accept_weights_are_floats(parsers_impl: ModuleType) -> None:
    ranked = parsers_impl.parse_accept("a/a;q=1, b/b;q=0.123, c/c")
    assert ranked == [("a/a", 1.0), ("c/c", 1.0), ("b/b", 0.123)]
    assert all(type(q) is float for _, q in ranked)


# -- parse_accept: weights -------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["0", "0.", "0.0", "0.000"])
def test_accept_q_zero_drops_the_range(parsers_impl: ModuleType, q: str) -> None:
    assert parsers_impl.parse_accept(f"text/html;q={q}, application/json") == [("application/json", 1.0)]


@pytest.mark.parametrize("q", ["1", "1.", "1.0", "1.000"])
def test_accept_q_one_spellings(parsers_impl: ModuleType, q: str) -> None:
    assert parsers_impl.parse_accept(f"text/html;q={q}") == [("text/html", 1.0)]


@pytest.mark.parametrize(
    "q",
    [
        "abc",
        "",
        "1.5",
        "2",
        "1.0001",
        "0.0001",
        "-1",
        "-0",
        ".5",
        "01",
        "1e0",
        "0x1",
        "nan",
        "inf",
        "٠.٥",
        "0.5x",
    ],
)
def test_accept_malformed_q_counts_as_a_refusal(parsers_impl: ModuleType, q: str) -> None:
    # RFC 9110 weights are 0 to 1 with at most three decimals; anything else must not fail the request.
    assert parsers_impl.parse_accept(f"text/html;q={q}, application/json;q=0.5") == [
        ("application/json", 0.5)
    ]


def test_accept_first_q_parameter_wins(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_accept("text/html;q=0.2;q=0.9") == [("text/html", 0.2)]


def test_accept_other_parameters_are_ignored(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_accept("text/html;level=1;q=0.7, text/plain;format=flowed") == [
        ("text/plain", 1.0),
        ("text/html", 0.7),
    ]


# -- parse_accept: spelling ------------------------------------------------------------------------


def test_accept_whitespace_around_ranges_and_parameters(parsers_impl: ModuleType) -> None:
    ranked = parsers_impl.parse_accept("  text/html ;  q = 0.5 ,\tapplication/json\t,  ")
    assert ranked == [("application/json", 1.0), ("text/html", 0.5)]


def test_accept_case_is_folded(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_accept("TEXT/HTML;Q=0.5, Application/JSON") == [
        ("application/json", 1.0),
        ("text/html", 0.5),
    ]


def test_accept_empty_header_and_empty_ranges(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_accept("") == []
    assert parsers_impl.parse_accept(" , ,;q=1,") == []
    assert parsers_impl.parse_accept(",text/html,,") == [("text/html", 1.0)]


# -- parse_accept: limits --------------------------------------------------------------------------


def test_accept_too_many_ranges_is_a_parse_error(parsers_impl: ModuleType) -> None:
    with pytest.raises(parsers_impl.ParseError, match="limit is 64"):
        parsers_impl.parse_accept(",".join(["text/html"] * 65))
    assert len(parsers_impl.parse_accept(",".join(["text/html"] * 64))) == 64


def test_accept_empty_items_count_towards_the_limit(parsers_impl: ModuleType) -> None:
    # The limit bounds the split, before any work per item: commas alone can exhaust it.
    with pytest.raises(parsers_impl.ParseError):
        parsers_impl.parse_accept("," * 64)
    assert parsers_impl.parse_accept("," * 63) == []


def test_accept_custom_limit(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_accept("a/a, b/b", 2) == [("a/a", 1.0), ("b/b", 1.0)]
    with pytest.raises(parsers_impl.ParseError, match="limit is 2"):
        parsers_impl.parse_accept("a/a, b/b, c/c", 2)


def test_accept_parse_error_is_a_value_error(parsers_impl: ModuleType) -> None:
    assert issubclass(parsers_impl.ParseError, ValueError)


# -- decode_path -----------------------------------------------------------------------------------


def test_decode_path_without_escapes_is_unchanged(parsers_impl: ModuleType) -> None:
    assert parsers_impl.decode_path(b"/users/42/posts/hello-world") == "/users/42/posts/hello-world"
    assert parsers_impl.decode_path(b"") == ""


def test_decode_path_encoded_slash_becomes_a_slash(parsers_impl: ModuleType) -> None:
    # As ASGI servers build scope["path"]; the raw form stays in scope["raw_path"].
    assert parsers_impl.decode_path(b"/files/a%2Fb.txt") == "/files/a/b.txt"
    assert parsers_impl.decode_path(b"/files/a%2fb.txt") == "/files/a/b.txt"


def test_decode_path_decodes_only_once(parsers_impl: ModuleType) -> None:
    assert parsers_impl.decode_path(b"/a%252Fb") == "/a%2Fb"


def test_decode_path_utf8_escapes(parsers_impl: ModuleType) -> None:
    assert parsers_impl.decode_path(b"/caf%C3%A9/%E2%82%AC") == "/café/€"


def test_decode_path_plus_is_not_a_space(parsers_impl: ModuleType) -> None:
    assert parsers_impl.decode_path(b"/a+b%20c%2B") == "/a+b c+"


def test_decode_path_nul_escape(parsers_impl: ModuleType) -> None:
    assert parsers_impl.decode_path(b"/a%00b") == "/a\x00b"


def test_decode_path_invalid_escapes_are_kept_literally(parsers_impl: ModuleType) -> None:
    assert parsers_impl.decode_path(b"/%zz/%/%4/100%/%%41") == "/%zz/%/%4/100%/%A"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"/%FF", "/\ufffd"),
        (b"/%C3", "/\ufffd"),  # truncated sequence
        (b"/%C3%28", "/\ufffd("),  # bad continuation byte
        (b"/%C0%AF", "/\ufffd\ufffd"),  # overlong encoding of "/"
        (b"/%ED%A0%80", "/\ufffd\ufffd\ufffd"),  # an encoded surrogate
        (b"/%F4%90%80%80", "/\ufffd\ufffd\ufffd\ufffd"),  # beyond U+10FFFF
        (b"/ok%FFok", "/ok\ufffdok"),
    ],
)
def test_decode_path_invalid_utf8_escapes_become_replacement_chars(
    parsers_impl: ModuleType, raw: bytes, decoded: str
) -> None:
    assert parsers_impl.decode_path(raw) == decoded


def test_decode_path_raw_non_ascii_bytes_are_latin1(parsers_impl: ModuleType) -> None:
    # A client should have escaped them; HTTP/1.1 header bytes are Latin-1, and so are these.
    assert parsers_impl.decode_path(b"/caf\xc3\xa9") == "/caf\xc3\xa9"
    assert parsers_impl.decode_path(b"/\xff") == "/\xff"
    assert parsers_impl.decode_path(b"/\xe9%20x") == "/\xe9 x"


def test_decode_path_raw_byte_and_escape_never_combine(parsers_impl: ModuleType) -> None:
    # b"\xc3" is Latin-1 text and "%A9" a lone UTF-8 continuation byte: two characters, not "é".
    assert parsers_impl.decode_path(b"/\xc3%A9") == "/\xc3\ufffd"


# -- the debug error page through the app ----------------------------------------------------------


def _failing_app() -> Covet:
    app = Covet(debug=True)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the handler broke")

    return app


def test_debug_error_page_is_html_for_a_browser_accept() -> None:
    client = TestClient(_failing_app(), raise_server_exceptions=False)
    response = client.get("/boom", headers={"accept": BROWSER_ACCEPT})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "RuntimeError: the handler broke" in response.text


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "*/*",  # curl's default, and httpx's
        "text/html;q=0.5, application/json",
        "text/html;q=0",
        ",".join(["text/html"] * 65),  # too many ranges to parse: JSON, not a failure of the error page
    ],
    ids=["json", "any-curl-default", "json-preferred", "html-refused", "unparseable"],
)
def test_debug_error_page_is_json_otherwise(accept: str) -> None:
    client = TestClient(_failing_app(), raise_server_exceptions=False)
    response = client.get("/boom", headers={"accept": accept})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "RuntimeError: the handler broke"


def test_debug_error_page_is_json_for_the_client_default_accept() -> None:
    response = TestClient(_failing_app(), raise_server_exceptions=False).get("/boom")
    assert response.request.headers["accept"] == "*/*"
    assert response.headers["content-type"].startswith("application/json")
