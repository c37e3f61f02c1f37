"""Fuzz harnesses for every header parser: the twins' parsers and those outside them.

See tests/fuzz/fuzzing.py for the three properties each harness checks and the budget.
"""

from __future__ import annotations

from typing import Any

from fuzzing import FUZZ, TWINS, amplified, assert_time_per_byte, check_twins, outcome
from hypothesis import given
from hypothesis import strategies as st

from covet._files import not_modified, parse_range_header
from covet._hosts import is_valid_host
from covet.formparsers import multipart_boundary
from covet.requests import Request, _expected_length

# Strings built from the characters header parsers react to, plus arbitrary ones.
ANY_CHAR = st.integers(0, 0x10FFFF).map(chr)


def texts(tokens: list[str], max_size: int = 30) -> st.SearchStrategy[str]:
    token = st.sampled_from(tokens)
    return st.lists(st.one_of(token, token, ANY_CHAR), max_size=max_size).map("".join)


# fmt: off
CONTENT_TYPE = texts(["text/html", "multipart/form-data", "application/json", ";", "; ", "=", '"', "\\", '\\"',
                      "charset", "boundary", "utf-8", " ", "\t", ",", "q", "0.5", "*/*"])
COOKIE = texts(["a", "sid", "=", ";", "; ", '"', "%", "%41", "%FF", "%zz", " ", "+", ","])
QUERY = texts(["a", "key", "=", "&", "&&", "+", "%", "%2", "%41", "%C3%A9", "%FF", ";", "é"])
ACCEPT = texts(["text/html", "*/*", "application/json", ",", ", ", ";q=", "0.5", "1", "q", "=", ";", '"'])
HOST = texts(["example.com", ":", "80", "[", "]", "::1", "v1.x", "%41", "/", "?", "#", "@", ".", "-", "\\"])
RANGE = texts(["bytes=", "0", "1", "99", "-", ",", ", ", " ", "=", "bytes", "items="])
ETAGS = texts(['"abc"', 'W/"abc"', "*", ",", ", ", '"', "W/", " "])
DATE = texts(["Wed, 21 Oct 2015 07:28:00 GMT", "Mon", ",", " ", "GMT", "2015", ":", "-"])
LENGTH = texts(["0", "1", "5", "99", "-", "+", " ", ",", "1e3", "١"], 6).map(lambda text: text.encode("utf-8", "surrogatepass"))
HEADER_NAMES = [b"host", b"content-length", b"transfer-encoding", b"content-type", b"cookie", b"accept", b"x"]
HEADER_VALUE = st.binary(max_size=12) | st.sampled_from([b"chunked", b"5", b"6", b"a=1", b"example.com", b"text/html"])
HEADERS = st.lists(st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUE), max_size=8)
PATH = st.lists(st.sampled_from([b"/", b"//", b"a", b"%", b"%2F", b"%41", b"%FF", b"\xff", b"%zz"]) | st.binary(max_size=3),
                max_size=20).map(b"".join)
# fmt: on


@FUZZ
@given(CONTENT_TYPE)
def test_fuzz_parse_content_type(raw: str) -> None:
    check_twins("parse_content_type", raw)
    for module in TWINS:
        assert_time_per_byte(module.parse_content_type, amplified(raw))


@FUZZ
@given(ACCEPT)
def test_fuzz_parse_accept(raw: str) -> None:
    check_twins("parse_accept", raw)
    for module in TWINS:
        assert_time_per_byte(module.parse_accept, amplified(raw))


@FUZZ
@given(COOKIE, st.sampled_from([1, 5, 200]))
def test_fuzz_parse_cookie_header(raw: str, limit: int) -> None:
    check_twins("parse_cookie_header", raw, limit)
    for module in TWINS:
        assert_time_per_byte(module.parse_cookie_header, amplified(raw))


@FUZZ
@given(QUERY, st.sampled_from([1, 5, 1000]))
def test_fuzz_parse_query_string(raw: str, limit: int) -> None:
    check_twins("parse_query_string", raw, limit)
    check_twins("parse_query_first", raw, limit)
    encoded = raw.encode("utf-8", "surrogatepass")
    check_twins("parse_query_string", encoded, limit)
    for module in TWINS:
        assert_time_per_byte(module.parse_query_string, amplified(raw))
        assert_time_per_byte(module.parse_query_string, amplified(encoded))


@FUZZ
@given(PATH)
def test_fuzz_decode_path(raw: bytes) -> None:
    check_twins("decode_path", raw)
    for module in TWINS:
        assert_time_per_byte(module.decode_path, amplified(raw))


@FUZZ
@given(HEADERS, st.sampled_from(HEADER_NAMES))
def test_fuzz_header_lists(headers: list[tuple[bytes, bytes]], name: bytes) -> None:
    check_twins("find_header", headers, name)
    check_twins("framing_error", headers)
    for module in TWINS:
        assert_time_per_byte(lambda items, twin=module: twin.find_header(items, name), amplified(headers))
        assert_time_per_byte(module.framing_error, amplified(headers))


@FUZZ
@given(texts(["1", "0", "9", "-", "+", "_", " ", "true", "On", "١"], 25))
def test_fuzz_plain_values(raw: str) -> None:
    check_twins("plain_int", raw)
    check_twins("plain_bool", raw)
    for module in TWINS:
        assert_time_per_byte(module.plain_int, amplified(raw))
        assert_time_per_byte(module.plain_bool, amplified(raw))


# -- header parsers outside the twins ---------------------------------------------------------------


@FUZZ
@given(HOST)
def test_fuzz_host_validation(raw: str) -> None:
    valid = outcome(is_valid_host, raw)[1]
    if valid:
        # Whatever passes can only be an authority: nothing that starts a path, query or userinfo.
        assert not any(char in raw for char in "/?#@\\ \r\n")
    assert_time_per_byte(is_valid_host, amplified(raw))


@FUZZ
@given(RANGE, st.integers(0, 10**6))
def test_fuzz_range_header(raw: str, size: int) -> None:
    result = outcome(parse_range_header, raw, size)[1]
    if isinstance(result, list):
        assert all(0 <= start <= end < size for start, end in result)
    assert_time_per_byte(lambda header: parse_range_header(header, size), amplified(raw))


@FUZZ
@given(ETAGS, DATE)
def test_fuzz_conditional_headers(etags: str, date: str) -> None:
    def check(if_none_match: str, if_modified_since: str) -> Any:
        headers = [(b"if-none-match", if_none_match.encode("utf-8", "surrogatepass"))] if if_none_match else []
        headers.append((b"if-modified-since", if_modified_since.encode("utf-8", "surrogatepass")))
        return not_modified({"type": "http", "method": "GET", "headers": headers}, '"abc"', 0.0)

    outcome(check, etags, date)
    outcome(check, "", date)
    assert_time_per_byte(lambda value: check(value, date), amplified(etags))


@FUZZ
@given(CONTENT_TYPE)
def test_fuzz_multipart_boundary(raw: str) -> None:
    outcome(multipart_boundary, "multipart/form-data; boundary=" + raw)
    outcome(multipart_boundary, raw)
    assert_time_per_byte(multipart_boundary, amplified(raw))


@FUZZ
@given(LENGTH, st.sampled_from([None, 0, 10, 1 << 20]))
def test_fuzz_content_length(raw: bytes, limit: int | None) -> None:
    outcome(_expected_length, [(b"content-length", raw)], limit)


@FUZZ
@given(HEADERS, QUERY)
def test_fuzz_request_header_views(headers: list[tuple[bytes, bytes]], query: str) -> None:
    # What a handler reads off a request: each either works or is a 4xx.
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "root_path": "",
        "query_string": query.encode("utf-8", "surrogatepass"),
        "headers": headers,
        "server": ("testserver", 80),
    }
    for view in ("headers", "cookies", "query_params", "url", "content_type", "base_url", "client"):
        outcome(lambda name: getattr(Request(scope), name), view)
    request = Request(scope)
    assert_time_per_byte(lambda items: Request({**scope, "headers": items}).cookies, amplified(headers))
    outcome(lambda: str(request.url))
