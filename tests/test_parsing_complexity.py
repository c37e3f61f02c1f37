"""Quadratic header parsing: every header parser runs in time linear in its input.

Each test times a parser on a hostile input of size n and of size 8n and demands a ratio well
under 64 (what quadratic work gives): linear work gives 8, a parser that refuses early about 1.
These are complexity checks, not speed checks: the bound (24) leaves room for caches and a busy
machine, the best of several runs counts (garbage collection off, as timeit does), and n is large
enough that one run takes a measurable time.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from covet._files import not_modified, parse_range_header
from covet._hosts import is_valid_host
from covet.datastructures import Headers
from covet.exceptions import HTTPException, ParseError
from covet.formparsers import MultipartParser, UrlencodedParser, multipart_boundary
from covet.requests import Request

GROWTH = 8  # the large input is this many times the small one
RATIO = 24.0  # linear: ~8, quadratic: ~64
N = 25_000


def _best_time(func: Callable[[Any], Any], value: Any, repeats: int = 5) -> float:
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            started = time.process_time()
            try:
                func(value)
            except (ParseError, ValueError, HTTPException):
                pass  # refusing is fine; how long it took to refuse is what counts
            best = min(best, time.process_time() - started)
    finally:
        if enabled:
            gc.enable()
    return best


def assert_linear(func: Callable[[Any], Any], make: Callable[[int], Any], n: int = N) -> None:
    small_input, large_input = make(n), make(GROWTH * n)
    for _attempt in range(6):  # a busy machine (or a parallel test run) can slow one measurement; quadratic work fails all
        small = _best_time(func, small_input)
        large = _best_time(func, large_input)
        # Below a tenth of a millisecond the clock is noise; such a parse is bounded anyway.
        if large < max(small, 1e-4) * RATIO:
            return
    raise AssertionError(f"{func}: {small * 1e3:.3f} ms for n={n}, {large * 1e3:.3f} ms for {GROWTH}n")


# -- the twins (covet._parsers_py and its compiled build) -------------------------------------------

CONTENT_TYPES: dict[str, Callable[[int], str]] = {
    "semicolon-flood": lambda n: "application/json" + ";" * n,
    "long-quoted-value-with-escapes": lambda n: 'x/y; a="' + '\\"' * n + '"',
    "unterminated-quote-with-semicolons": lambda n: 'x/y; a="' + ";" * n,
    "quote-flood": lambda n: "x/y; " + '"' * n,
    "backslash-flood": lambda n: 'x/y; a="' + "\\" * n,
    "long-name-and-value": lambda n: "x/y; " + "a" * n + "=" + "b" * n,
    "many-params-long-values": lambda n: "x/y" + "".join(f"; p{i}={'v' * (n // 60)}" for i in range(60)),
    "long-media-type": lambda n: "x" * n,
}


@pytest.mark.parametrize("name", list(CONTENT_TYPES))
def test_quadratic_content_type(parsers_impl: ModuleType, name: str) -> None:
    parse = parsers_impl.parse_content_type
    assert_linear(parse, CONTENT_TYPES[name])
    # The scan itself, with the limits lifted: linear too, not merely cut short.
    assert_linear(lambda raw: parse(raw, 10**9, 10**9), CONTENT_TYPES[name])


def test_content_type_limits(parsers_impl: ModuleType) -> None:
    parse = parsers_impl.parse_content_type
    with pytest.raises(ParseError, match="Too many parameters"):
        parse("a/b;" + ";" * 65)  # the first ';' ends the media type, then 65 (empty) parameters
    assert parse("a/b;" + ";" * 64) == ("a/b", {})
    assert len(parse("a/b" + "".join(f"; p{i}=v" for i in range(64)))[1]) == 64
    with pytest.raises(ParseError, match="Too many parameters"):
        parse("a/b" + "".join(f"; p{i}=v" for i in range(65)))
    with pytest.raises(ParseError, match="Too many quoted strings"):
        parse("a/b; x=" + '""' * 65)
    with pytest.raises(ParseError, match="longer than 8192"):
        parse("a/b; x=" + "y" * 8192)
    with pytest.raises(ParseError, match="longer than 8192"):
        parse("a" * 8193)
    assert parse("a" * 8192) == ("a" * 8192, {})


ACCEPTS: dict[str, Callable[[int], str]] = {
    "comma-flood": lambda n: "," * n,
    "semicolon-flood-in-one-range": lambda n: "text/html" + ";" * n,
    "long-quality": lambda n: "text/html;q=0." + "0" * n,
    "long-ranges": lambda n: ", ".join(["text/" + "h" * (n // 60)] * 60),
}


@pytest.mark.parametrize("name", list(ACCEPTS))
def test_quadratic_accept(parsers_impl: ModuleType, name: str) -> None:
    assert_linear(parsers_impl.parse_accept, ACCEPTS[name])


COOKIES: dict[str, Callable[[int], str]] = {
    "semicolon-flood": lambda n: ";" * n,
    "long-escaped-value": lambda n: "a=" + "%41" * (n // 4),
    "long-quoted-value": lambda n: 'a="' + "x" * n + '"',
    "equals-flood": lambda n: "a" + "=" * n,
    "many-long-cookies": lambda n: "; ".join(f"c{i}={'v' * (n // 150)}" for i in range(150)),
}


@pytest.mark.parametrize("name", list(COOKIES))
def test_quadratic_cookie(parsers_impl: ModuleType, name: str) -> None:
    assert_linear(parsers_impl.parse_cookie_header, COOKIES[name])


QUERIES: dict[str, Callable[[int], str]] = {
    "ampersand-flood": lambda n: "&" * n,
    "fields-at-the-limit": lambda n: "&".join(f"k{i}={'v' * (n // 900)}" for i in range(900)),
    "long-escaped-value": lambda n: "a=" + "%41+" * n,
    "equals-flood": lambda n: "a" + "=" * n,
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_quadratic_query_string(parsers_impl: ModuleType, name: str) -> None:
    assert_linear(parsers_impl.parse_query_string, QUERIES[name], N // 2)
    assert_linear(parsers_impl.parse_query_first, QUERIES[name], N // 2)
    assert_linear(parsers_impl.parse_query_string, lambda n: QUERIES[name](n).encode(), N // 2)


def test_quadratic_decode_path(parsers_impl: ModuleType) -> None:
    assert_linear(parsers_impl.decode_path, lambda n: b"/%41" * n)
    assert_linear(parsers_impl.decode_path, lambda n: b"/" * n)


def test_quadratic_header_lists(parsers_impl: ModuleType) -> None:
    assert_linear(lambda headers: parsers_impl.find_header(headers, b"host"), lambda n: [(b"x-a", b"b")] * n)
    assert_linear(parsers_impl.framing_error, lambda n: [(b"content-length", b"1")] * n)


def test_quadratic_plain_values(parsers_impl: ModuleType) -> None:
    assert_linear(parsers_impl.plain_int, lambda n: "1" * n)
    assert_linear(parsers_impl.plain_bool, lambda n: "T" * n)


# -- header parsing outside the twins --------------------------------------------------------------


def test_quadratic_host_validation() -> None:
    assert_linear(is_valid_host, lambda n: "a" * n)
    assert_linear(is_valid_host, lambda n: "[" + ":" * n + "]")
    assert_linear(is_valid_host, lambda n: "%41" * n)


def test_quadratic_request_headers() -> None:
    def read(headers: list[tuple[bytes, bytes]]) -> Any:
        request = Request({"type": "http", "headers": headers, "method": "GET", "path": "/", "query_string": b""})
        return request.headers.get("x-missing"), request.cookies, request.content_type

    assert_linear(read, lambda n: [(b"cookie", b"a=1")] * (n // 10))
    assert_linear(read, lambda n: [(b"cookie", b"a" * n)])
    assert_linear(read, lambda n: [(b"content-type", b"a/b" + b";" * n)])
    assert_linear(lambda headers: Headers(raw=headers).getlist("a"), lambda n: [(b"a", b"b")] * n)


def test_quadratic_multipart_headers() -> None:
    assert_linear(multipart_boundary, lambda n: "multipart/form-data; boundary=" + "a" * n)
    assert_linear(multipart_boundary, lambda n: "multipart/form-data" + ";" * n)

    def feed(body: bytes) -> Any:
        parser = MultipartParser(b"xyz")
        return parser.feed(body)

    # A part header block of parameters, and a header block arriving a byte at a time.
    disposition = lambda n: b'--xyz\r\nContent-Disposition: form-data; name="a"' + b";" * min(n, 8000) + b"\r\n\r\n"  # noqa: E731
    assert_linear(feed, lambda n: disposition(n))

    def feed_bytes(body: bytes) -> Any:
        parser = MultipartParser(b"xyz")
        for index in range(len(body)):
            parser.feed(body[index : index + 1])

    assert_linear(feed_bytes, lambda n: b"--xyz\r\nX: " + b"a" * (n // 10), n=N)


def test_quadratic_urlencoded_body() -> None:
    def feed(body: bytes) -> Any:
        parser = UrlencodedParser()
        return parser.feed(body) + parser.close()

    assert_linear(feed, lambda n: b"&" * n)
    assert_linear(feed, lambda n: b"a=" + b"%41" * n)


def test_quadratic_range_and_validators() -> None:
    assert_linear(lambda header: parse_range_header(header, 10**9), lambda n: "bytes=" + "," * n)
    assert_linear(lambda header: parse_range_header(header, 10**9), lambda n: "bytes=" + "1" * n + "-")

    def check(header: bytes) -> Any:
        scope = {"type": "http", "method": "GET", "headers": [(b"if-none-match", header)]}
        return not_modified(scope, '"abc"', 0.0)

    assert_linear(check, lambda n: b'"x", ' * n)


# -- the debug page's secret masking (covet.observability.debug_page) ------------------------------

MASKED_TEXTS: dict[str, Callable[[int], str]] = {
    "dotted-run": lambda n: "a." * (n // 2),
    "secret-word-flood": lambda n: "pass-" * (n // 5),
    "quoted-key-flood": lambda n: "'a': " * (n // 5),
    "equals-flood": lambda n: "x=" * (n // 2),
    "scheme-flood": lambda n: "a://" * (n // 4),
    "long-credential": lambda n: "Bearer " + "a" * n,
    "closing-brackets": lambda n: "password=" + ")" * n + "a",
    "quote-run": lambda n: "'pass" * (n // 5),
    "long-secret-name": lambda n: "pass" * (n // 4) + "=x",
}


@pytest.mark.parametrize("name", list(MASKED_TEXTS))
def test_quadratic_debug_page_masking(name: str) -> None:
    # The page masks secrets inside header and query values and reprs: a long value must not
    # stall the event loop (regexes that search for the secret word inside a run backtrack).
    from covet.observability.debug_page import _mask_text

    assert_linear(_mask_text, MASKED_TEXTS[name], n=4_000)
