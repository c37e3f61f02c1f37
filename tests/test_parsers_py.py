"""The request parsers seam (``covet._parsers_py`` and its compiled twin)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

# -- parse_query_string ----------------------------------------------------------------------------


def test_query_pairs_in_order(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("a=1&b=2") == [("a", "1"), ("b", "2")]


def test_query_empty_string(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("") == []
    assert parsers_impl.parse_query_string(b"") == []


def test_query_only_ampersand_separates(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("a=1;b=2&c=3") == [("a", "1;b=2"), ("c", "3")]


def test_query_plus_is_space(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("q=x+y&a+b=1") == [("q", "x y"), ("a b", "1")]


def test_query_encoded_plus_stays_plus(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("q=1%2B1") == [("q", "1+1")]


def test_query_percent_decoding(parsers_impl: ModuleType) -> None:
    pairs = parsers_impl.parse_query_string("%6B%65y=caf%C3%A9&amp=%26%3D")
    assert pairs == [("key", "café"), ("amp", "&=")]


def test_query_invalid_percent_escapes_are_kept_literally(parsers_impl: ModuleType) -> None:
    pairs = parsers_impl.parse_query_string("a=%zz&b=%&c=%4&d=100%")
    assert pairs == [("a", "%zz"), ("b", "%"), ("c", "%4"), ("d", "100%")]


def test_query_invalid_utf8_escapes_become_replacement_chars(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("a=%FF%FE&%C3=x") == [("a", "\ufffd\ufffd"), ("\ufffd", "x")]


def test_query_invalid_utf8_raw_bytes_become_replacement_chars(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string(b"a=\xff&b=\xc3\xa9") == [("a", "\ufffd"), ("b", "é")]


def test_query_repeated_keys_keep_order(parsers_impl: ModuleType) -> None:
    pairs = parsers_impl.parse_query_string("a=1&b=2&a=3&a=4")
    assert pairs == [("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")]


def test_query_first_keeps_each_keys_first_value(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_first("a=1&b=x+y&a=2&&c") == {"a": "1", "b": "x y", "c": ""}
    assert parsers_impl.parse_query_first(b"") == {}


def test_query_first_has_the_same_field_limit(parsers_impl: ModuleType) -> None:
    assert len(parsers_impl.parse_query_first("a=1&b=2", 2)) == 2
    with pytest.raises(parsers_impl.ParseError, match="limit is 2"):
        parsers_impl.parse_query_first("a=1&b=2&c=3", 2)


def test_query_empty_fields_are_skipped(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("&&a=1&&&b=2&") == [("a", "1"), ("b", "2")]


def test_query_key_without_equals_has_empty_value(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("flag&a=&b") == [("flag", ""), ("a", ""), ("b", "")]


def test_query_only_first_equals_splits(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("a=b=c") == [("a", "b=c")]


def test_query_max_fields_limit_is_inclusive(parsers_impl: ModuleType) -> None:
    raw = "&".join(f"k{i}=v" for i in range(10))
    assert len(parsers_impl.parse_query_string(raw, 10)) == 10


def test_too_many_query_fields_raise_parse_error(parsers_impl: ModuleType) -> None:
    raw = "&".join(f"k{i}=v" for i in range(11))
    with pytest.raises(parsers_impl.ParseError, match="Too many query parameters"):
        parsers_impl.parse_query_string(raw, 10)


def test_query_flood_with_default_limit_raises_parse_error(parsers_impl: ModuleType) -> None:
    with pytest.raises(parsers_impl.ParseError):
        parsers_impl.parse_query_string("a&" * (parsers_impl.DEFAULT_MAX_FIELDS + 1))


def test_empty_query_fields_do_not_count_toward_max_fields(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_query_string("&" * 5000 + "a=1", 10) == [("a", "1")]


def test_parse_error_is_a_value_error(parsers_impl: ModuleType) -> None:
    assert issubclass(parsers_impl.ParseError, ValueError)


# -- parse_cookie_header ---------------------------------------------------------------------------


def test_cookies_basic(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header("a=1; b=two") == {"a": "1", "b": "two"}


def test_cookies_empty_header(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header("") == {}


def test_cookies_quoted_values_are_unwrapped(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header('a="x y"; b=""; c="') == {"a": "x y", "b": "", "c": '"'}


def test_cookies_spaces_around_names_and_values(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header("  a = 1 ;b=2;  c=3  ") == {"a": "1", "b": "2", "c": "3"}


def test_cookies_parts_without_equals_are_ignored(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header("flag; a=1; ;=nameless") == {"a": "1"}


def test_cookies_first_occurrence_wins(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header("a=1; a=2; b=3; b=4") == {"a": "1", "b": "3"}


def test_cookies_value_may_hold_equals(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_cookie_header("token=abc==; x=1") == {"token": "abc==", "x": "1"}


def test_cookies_percent_escapes_are_decoded(parsers_impl: ModuleType) -> None:
    cookies = parsers_impl.parse_cookie_header("a=caf%C3%A9; b=%zz; c=%FF; d=x+y")
    assert cookies == {"a": "café", "b": "%zz", "c": "\ufffd", "d": "x+y"}


def test_cookies_max_cookies_limit_is_inclusive(parsers_impl: ModuleType) -> None:
    raw = "; ".join(f"c{i}=v" for i in range(5))
    assert len(parsers_impl.parse_cookie_header(raw, 5)) == 5


def test_too_many_cookies_raise_parse_error(parsers_impl: ModuleType) -> None:
    raw = "; ".join(f"c{i}=v" for i in range(6))
    with pytest.raises(parsers_impl.ParseError, match="Too many cookies"):
        parsers_impl.parse_cookie_header(raw, 5)


def test_cookie_flood_with_default_limit_raises_parse_error(parsers_impl: ModuleType) -> None:
    raw = "; ".join(f"c{i}=v" for i in range(parsers_impl.DEFAULT_MAX_COOKIES + 1))
    with pytest.raises(parsers_impl.ParseError):
        parsers_impl.parse_cookie_header(raw)


# -- parse_content_type ----------------------------------------------------------------------------


def test_content_type_is_lowercased_and_params_parsed(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_content_type('Text/HTML; Charset="utf-8"') == (
        "text/html",
        {"charset": "utf-8"},
    )


def test_content_type_without_params(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_content_type("application/json") == ("application/json", {})
    assert parsers_impl.parse_content_type("") == ("", {})


def test_content_type_param_values_keep_their_case(parsers_impl: ModuleType) -> None:
    _, params = parsers_impl.parse_content_type("multipart/form-data; boundary=AbCdEf")
    assert params == {"boundary": "AbCdEf"}


def test_content_type_quoted_param_may_hold_semicolon(parsers_impl: ModuleType) -> None:
    media, params = parsers_impl.parse_content_type('multipart/form-data; boundary="a;b=c"; charset=utf-8')
    assert media == "multipart/form-data"
    assert params == {"boundary": "a;b=c", "charset": "utf-8"}


def test_content_type_quoted_param_escapes(parsers_impl: ModuleType) -> None:
    _, params = parsers_impl.parse_content_type(r'text/plain; name="a\"b\\c"')
    assert params == {"name": 'a"b\\c'}


def test_content_type_spaces_and_malformed_params(parsers_impl: ModuleType) -> None:
    result = parsers_impl.parse_content_type(" text/plain ;; charset = utf-8 ; junk ; =x ;")
    assert result == ("text/plain", {"charset": "utf-8"})


def test_content_type_first_param_wins(parsers_impl: ModuleType) -> None:
    assert parsers_impl.parse_content_type("text/plain; charset=a; CHARSET=b") == (
        "text/plain",
        {"charset": "a"},
    )


def test_content_type_unterminated_quote_does_not_hang_or_raise(parsers_impl: ModuleType) -> None:
    media, params = parsers_impl.parse_content_type('text/plain; a="x; b=y')
    assert media == "text/plain"
    assert "b" not in params


# -- find_header -----------------------------------------------------------------------------------


def test_find_header_returns_first_value(parsers_impl: ModuleType) -> None:
    headers = [(b"host", b"example.org"), (b"x-a", b"1"), (b"x-a", b"2")]
    assert parsers_impl.find_header(headers, b"x-a") == b"1"
    assert parsers_impl.find_header(headers, b"host") == b"example.org"


def test_find_header_missing(parsers_impl: ModuleType) -> None:
    assert parsers_impl.find_header([(b"host", b"x")], b"cookie") is None
    assert parsers_impl.find_header([], b"cookie") is None


def test_find_header_accepts_any_iterable(parsers_impl: ModuleType) -> None:
    headers = iter([(b"a", b"1"), (b"b", b"2")])
    assert parsers_impl.find_header(headers, b"b") == b"2"


# -- differential: the compiled twin must agree with the Python reference --------------------------

_QUERY_CORPUS: list[Any] = [
    "",
    "a",
    "=",
    "==",
    "&",
    "a=1&a=2",
    "a=1;b=2",
    "+=+",
    "%",
    "%%",
    "%2",
    "%zz=%gg",
    "%FF=%FE",
    "%C3%A9=%E2%82%AC",
    "a=%00",
    "a=\x00b",
    "k=v&" * 50,
    "é=ü",
    "a=%2B%20+",
    b"a=\xff\xfe",
    b"\xc3\xa9=\xc3",
    b"a=1&b",
]
_COOKIE_CORPUS = [
    "",
    ";",
    "=",
    "a",
    "a=",
    '"',
    'a="',
    'a=""',
    'a="b"c"',
    "a=1;a=2",
    " a = 1 ; ; b=2 ",
    "a=%",
    "a=%FF",
    "a=%C3%A9",
    "a=b=c",
    "\x00=\x00",
    "é=ü",
]
_CONTENT_TYPE_CORPUS = [
    "",
    ";",
    ";;;",
    "TEXT/PLAIN",
    "text/plain; charset",
    'text/plain; a="',
    'text/plain; a="\\',
    'text/plain; a="x\\"; y"; b=2',
    'a; b="c;d"; e=f',
    "a; =b; c=",
    "a; B=1; b=2",
    " ; x=1",
]


def test_compiled_parsers_agree_with_python_on_hostile_inputs() -> None:
    try:
        compiled = importlib.import_module("covet._speedups._parsers")
    except ImportError:
        pytest.skip("covet._speedups._parsers is not built (pure-Python install)")
    python = importlib.import_module("covet._parsers_py")

    def outcome(func: Any, *args: Any) -> Any:
        try:
            return ("ok", func(*args))
        except ValueError as exc:
            return ("error", type(exc).__name__)

    for raw in _QUERY_CORPUS:
        for limit in (1, 3, 1000):
            assert outcome(compiled.parse_query_string, raw, limit) == outcome(
                python.parse_query_string, raw, limit
            ), (raw, limit)
    for raw in _COOKIE_CORPUS:
        for limit in (1, 200):
            assert outcome(compiled.parse_cookie_header, raw, limit) == outcome(
                python.parse_cookie_header, raw, limit
            ), (raw, limit)
    for raw in _CONTENT_TYPE_CORPUS:
        assert outcome(compiled.parse_content_type, raw) == outcome(python.parse_content_type, raw), raw
    headers = [(b"a", b"1"), (b"b", b""), (b"a", b"2")]
    for name in (b"a", b"b", b"c", b""):
        assert compiled.find_header(headers, name) == python.find_header(headers, name), name


@pytest.mark.parametrize("raw", ["0", "7", "42", "123456789012345678"])
def test_plain_int_converts_plain_decimals(parsers_impl: ModuleType, raw: str) -> None:
    assert parsers_impl.plain_int(raw) == int(raw)


@pytest.mark.parametrize(
    "raw", ["", "-1", "+1", "01", "00", " 1", "1 ", "1_000", "1.0", "1e3", "١٢", "²", "1234567890123456789", "x"]
)
def test_plain_int_leaves_everything_else_to_msgspec(parsers_impl: ModuleType, raw: str) -> None:
    assert parsers_impl.plain_int(raw) is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("TRUE", True), ("yes", True), ("on", True), ("1", True),
     ("false", False), ("No", False), ("off", False), ("0", False)],
)  # fmt: skip
def test_plain_bool_knows_fastapis_words(parsers_impl: ModuleType, raw: str, value: bool) -> None:
    assert parsers_impl.plain_bool(raw) is value


@pytest.mark.parametrize("raw", ["", "t", "2", "truthy", " true", "nope"])
def test_plain_bool_leaves_everything_else_to_msgspec(parsers_impl: ModuleType, raw: str) -> None:
    assert parsers_impl.plain_bool(raw) is None
