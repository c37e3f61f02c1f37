"""Differential tests: each pure-Python twin and its compiled build must agree on every input.

The ``.py`` files are the specification and Cython compiles the same files, so any difference in
outcome (return value, or exception type and message) is a bug. Hypothesis feeds generated inputs
built from the characters each parser reacts to; the named tests below feed the hostile corpus,
one test per attack or malformation they defend against. Routes are built by ``covet.routing``
from real templates, so the matchers see the specs an application would give them.
"""

from __future__ import annotations

import importlib
import os
import reprlib
import uuid
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import covet._parsers_py as py_parsers
import covet._router_py as py_router
from covet.exceptions import ParseError
from covet.routing import Route, parse_path


def _compiled(name: str) -> ModuleType:
    # As tests/conftest.py does: skip when the twin is not built, unless CI demands it.
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("COVET_REQUIRE_EXTENSIONS"):
            raise
        pytest.skip(f"{name} is not built (pure-Python install)", allow_module_level=True)


c_parsers = _compiled("covet._speedups._parsers")
c_router = _compiled("covet._speedups._router")

# Deterministic (CI reruns see the same examples) and nothing written to .hypothesis/.
FAST = settings(max_examples=120, deadline=None, derandomize=True, database=None)
SLOW = settings(max_examples=40, deadline=None, derandomize=True, database=None)

_short = reprlib.Repr()
_short.maxstring = 120
_short.maxother = 120


# -- comparing outcomes ----------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    # Plain equality would let 1 == 1.0 == True or a list/tuple swap slip through, and ignores dict
    # order; compare the types and the order too.
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_canonical(item) for item in value])
    if isinstance(value, dict):
        return ("dict", [(_canonical(key), _canonical(item)) for key, item in value.items()])
    return (type(value).__name__, value)


def _outcome(func: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        result = func(*args)
    except ParseError as exc:
        # The contract's own errors: the message reaches clients, so it must match too.
        return ("raised", type(exc), str(exc))
    except Exception as exc:
        # Misuse outside the contract (a non-str path, a malformed header item): the same type of
        # error is enough; Cython words some built-in errors differently.
        return ("raised", type(exc))
    return ("returned", _canonical(result))


def agree(name: str, *args: Any) -> tuple[Any, ...]:
    """Call parser ``name`` in both twins with ``args``; fail unless the outcomes are identical."""
    expected = _outcome(getattr(py_parsers, name), *args)
    actual = _outcome(getattr(c_parsers, name), *args)
    assert actual == expected, (
        f"{name}{_short.repr(args)}: py {_short.repr(expected)}, c {_short.repr(actual)}"
    )
    return expected


def agree_find_header(make_headers: Callable[[], Iterable[Any]], name: Any) -> tuple[Any, ...]:
    """``find_header`` takes any iterable, possibly one-shot, so each twin gets a fresh one."""
    expected = _outcome(py_parsers.find_header, make_headers(), name)
    actual = _outcome(c_parsers.find_header, make_headers(), name)
    assert actual == expected, (
        f"find_header(..., {name!r}): py {_short.repr(expected)}, c {_short.repr(actual)}"
    )
    return expected


# -- the route table -------------------------------------------------------------------------------

# Converter -> the annotation a handler would give the parameter.
_ANNOTATION = {
    "int": "int",
    "float": "float",
    "uuid": "uuid.UUID",
    "path": "str",
    "str": "str",
    "string": "str",
}

#: (template, hints for parameters written without a converter).
ROUTES: list[tuple[str, dict[str, str]]] = [
    ("/", {}),
    ("/users", {}),
    ("/users/", {}),
    ("/users/me", {}),
    ("/users/me", {}),  # a second route on one template: the leaf holds both values
    ("/users/<int:user_id>", {}),
    ("/users/<user_id>", {}),
    ("/users/<int:user_id>/posts/<slug>", {}),
    ("/users/{user_id:float}/score", {}),
    ("/users/{user_id}/avatar", {"user_id": "int"}),  # no converter: any segment, the annotation validates
    ("/files/<name>.<ext>", {}),
    ("/files/<name>", {}),
    ("/files/<path:rest>", {}),
    ("/static/<path:p>", {}),
    ("/dl/<path:p>.zip", {}),
    ("/items/{price:float}", {}),
    ("/objects/<uuid:u>", {}),
    ("/objects/<uuid:u>/raw", {}),
    ("/v<int:version>/items", {}),
    ("/range/<int:lo>-<int:hi>", {}),
    ("/n/{n:int}", {}),
    ("/<slug>/edit", {}),
    ("/<a>/<b>/<c>", {}),
    ("/double//slash", {}),
    ("/deep/<a>/<b>/<c>/<d>/<e>/<f>/<g>/<h>", {}),
]


def make_route(template: str, name: str, hints: dict[str, str] | None = None) -> Route:
    """A ``Route`` for ``template`` with a handler that takes exactly its parameters."""
    hints = hints or {}
    params = [token for token in parse_path(template) if isinstance(token, tuple)]
    signature = ", ".join(
        f"{param}: {hints.get(param) or _ANNOTATION[conv or 'str']}" for param, conv in params
    )
    namespace: dict[str, Any] = {"uuid": uuid}
    # A generated handler: Route inspects its signature, and each template needs its own.
    exec(f"def {name}({signature}) -> None:\n    pass\n", namespace)
    return Route(template, namespace[name], methods=["GET"], name=name)


def build_matchers(routes: list[tuple[str, dict[str, str]]]) -> tuple[Any, Any]:
    py_matcher, c_matcher = py_router.Matcher(), c_router.Matcher()
    for index, (template, hints) in enumerate(routes):
        route = make_route(template, f"route{index}", hints)
        specs = route.segment_specs()
        value = f"{index}:{template}"
        py_matcher.add(specs, value)
        c_matcher.add(specs, value)
    return py_matcher, c_matcher


PY_MATCHER, C_MATCHER = build_matchers(ROUTES)


def agree_lookup(path: Any, matchers: tuple[Any, Any] = (PY_MATCHER, C_MATCHER)) -> tuple[Any, ...]:
    """``lookup(path)`` in both matchers; fail unless the outcomes are identical."""
    expected = _outcome(matchers[0].lookup, path)
    actual = _outcome(matchers[1].lookup, path)
    assert actual == expected, (
        f"lookup({_short.repr(path)}): py {_short.repr(expected)}, c {_short.repr(actual)}"
    )
    return expected


def first_match(path: str) -> tuple[list[Any], dict[str, Any]] | None:
    agree_lookup(path)
    found = PY_MATCHER.lookup(path)
    return found[0] if found else None


# -- strategies ------------------------------------------------------------------------------------

# Any code point, lone surrogates included, without Hypothesis's unicode tables.
ANY_CHAR = st.integers(0, 0x10FFFF).map(chr)


def _joined(tokens: list[str], max_size: int) -> st.SearchStrategy[str]:
    """Strings built from the tokens a parser reacts to, one in four an arbitrary character."""
    token = st.sampled_from(tokens)
    return st.lists(st.one_of(token, token, token, ANY_CHAR), max_size=max_size).map("".join)


def _list_of(
    item: st.SearchStrategy[str], separators: list[str], max_size: int = 8
) -> st.SearchStrategy[str]:
    """Well-formed lists (``a=1&b=2``...): the structure a parser expects, with hostile items."""
    return st.tuples(st.lists(item, max_size=max_size), st.sampled_from(separators)).map(
        lambda drawn: drawn[1].join(drawn[0])
    )


def _pair(
    name: st.SearchStrategy[str], value: st.SearchStrategy[str], signs: list[str]
) -> st.SearchStrategy[str]:
    return st.tuples(name, st.sampled_from(signs), value).map("".join)


# The token tables stay compact (the formatter would give every token its own line).
# fmt: off
_QUERY_TOKENS = ["a", "b", "key", "=", "==", "&", "&&", ";", "+", "%", "%2", "%2B", "%2b", "%20", "%26",
                 "%3D", "%2F", "%00", "%C3", "%A9", "%C3%A9", "%FF", "%zz", "%E2%82", "%ED%A0%80", "é",
                 "\x00", "\ud800", " "]
_QUERY_ATOM = _joined(_QUERY_TOKENS, 5)
QUERY = _joined(_QUERY_TOKENS, 25) | _list_of(_pair(_QUERY_ATOM, _QUERY_ATOM, ["=", "", "=="]), ["&", "&&", ";"])
QUERY_BYTES = st.binary(max_size=40) | QUERY.map(lambda text: text.encode("utf-8", "surrogatepass"))

_COOKIE_TOKENS = ["a", "b", "sid", "=", "==", ";", "; ", " ", "\t", '"', '""', "%", "%3D", "%22", "%3B",
                  "%FF", "%C3%A9", "+", ",", "é", "\ud800", "\x00"]
_COOKIE_ATOM = _joined(_COOKIE_TOKENS, 5)
_COOKIE_VALUE = _COOKIE_ATOM | _COOKIE_ATOM.map(lambda value: f'"{value}"')
COOKIE = _joined(_COOKIE_TOKENS, 25) | _list_of(_pair(_COOKIE_ATOM, _COOKIE_VALUE, ["=", "", " = "]), ["; ", ";"])

_CT_TOKENS = ["text/html", "Application/JSON", "multipart/form-data", ";", "; ", "charset", "CharSet", "=",
              "utf-8", '"', "\\", '\\"', "\\\\", "boundary", " ", "\t", "é", "\ud800", ","]
_CT_ATOM = _joined(_CT_TOKENS, 4)
_CT_PARAM = _pair(_CT_ATOM, _CT_ATOM | _CT_ATOM.map(lambda value: f'"{value}"'), ["=", "", " = "])
CONTENT_TYPE = _joined(_CT_TOKENS, 25) | st.tuples(_CT_ATOM, _list_of(_CT_PARAM, [";", "; "], 4)).map(";".join)

_ACCEPT_TOKENS = ["text/html", "TEXT/HTML", "application/json", "application/xhtml+xml", "*/*", "text/*", ",",
                  ", ", ";", "q", "Q", "=", "q=", ";q=", "0", "1", ".", "0.", "0.5", "0.123", "0.1234",
                  "1.000", "1.0001", "2", "-0", ".5", "level=1", " ", '"', "é", "\ud800"]
_MEDIA_RANGE = st.sampled_from(["text/html", "TEXT/HTML", "application/json", "*/*", "text/*", "", "x"]) | _joined(
    _ACCEPT_TOKENS, 3
)
_WEIGHT = st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=0.8", ";level=1", ";q=abc", ";q=1.5", ";q=0.001",
                           ";q=0.0001", "; Q=0.3", ';q="0.5"'])
ACCEPT = _joined(_ACCEPT_TOKENS, 25) | _list_of(st.tuples(_MEDIA_RANGE, _WEIGHT).map("".join), [",", ", "], 10)

PATH_BYTES = st.lists(
    st.sampled_from(
        [b"/", b"//", b"a", b"%", b"%2", b"%2F", b"%2f", b"%00", b"\x00", b"%C3%A9", b"%C3", b"%FF",
         b"\xff", b"\xc3\xa9", b"%zz", b"%25", b"%252F", b"+", b"%2B", b"?", b"%ED%A0%80", b"%C0%AF"]
    )
    | st.binary(max_size=4),
    max_size=20,
).map(b"".join)

HEADER_NAMES = [b"accept", b"content-type", b"cookie", b"host", b"Accept", b"", b"accept ", b"x-\xff"]
HEADERS = st.lists(
    st.tuples(st.sampled_from(HEADER_NAMES), st.binary(max_size=8))
    | st.lists(st.sampled_from(HEADER_NAMES) | st.binary(max_size=8), min_size=2, max_size=2),
    max_size=12,
)

SEGMENT = st.sampled_from(
    ["", "users", "me", "posts", "score", "avatar", "files", "static", "dl", "items", "objects", "raw",
     "edit", "n", "deep", "double", "slash", "range", "v", "v1", "v١", "0", "42", "007", "1.5", "1.",
     ".5", "1e3", "-1", "+1", "1_000", "١٢٣", "²", "１２", "a.b", "a.b.c", ".", "..", "x.zip", ".zip",
     "1-2", "1--2", "-", "12345678-1234-5678-1234-567812345678", "12345678123456781234567812345678",
     "%2F", "%00", "\x00", "\n", "é", "\ud800", " ", "9" * 40]
) | st.lists(ANY_CHAR | st.sampled_from(list("09./-az")), max_size=6).map("".join)
# fmt: on

# A parameter's text: usually one segment, sometimes several (what a <path:...> may swallow).
PARAM_TEXT = SEGMENT | st.lists(SEGMENT, min_size=2, max_size=4).map("/".join)
_SUFFIX = st.sampled_from(["", "", "", "/", "//", "/x", "/edit", "/raw", "/posts/1"])


def filled_paths(routes: list[tuple[str, dict[str, str]]]) -> st.SearchStrategy[str]:
    """Paths made from the table's own templates with hostile text in the parameters.

    Random paths rarely reach a dynamic leaf; these hit every kind of spec.
    """
    tokens = [parse_path(template) for template, _ in routes]

    @st.composite
    def fill(draw: st.DrawFn) -> str:
        template = draw(st.sampled_from(tokens))
        text = "".join(token if isinstance(token, str) else draw(PARAM_TEXT) for token in template)
        return text + draw(_SUFFIX)

    return fill()


PATH = st.lists(SEGMENT, max_size=10).map(lambda segments: "/" + "/".join(segments)) | filled_paths(ROUTES)


# -- the API itself --------------------------------------------------------------------------------


def test_twins_export_the_same_api() -> None:
    assert sorted(c_parsers.__all__) == sorted(py_parsers.__all__)
    assert sorted(c_router.__all__) == sorted(py_router.__all__)
    assert c_parsers.ParseError is py_parsers.ParseError
    for limit in ("DEFAULT_MAX_FIELDS", "DEFAULT_MAX_COOKIES", "DEFAULT_MAX_ACCEPT", "DEFAULT_MAX_PARAMS", "DEFAULT_MAX_LENGTH"):
        assert getattr(c_parsers, limit) == getattr(py_parsers, limit), limit
    # covet.routing builds specs with one module's constants and feeds them to either matcher.
    assert (c_router.STATIC, c_router.PARAM, c_router.PATTERN, c_router.TAIL) == (
        py_router.STATIC,
        py_router.PARAM,
        py_router.PATTERN,
        py_router.TAIL,
    )


# -- generated inputs ------------------------------------------------------------------------------


@FAST
@given(QUERY, st.sampled_from([0, 1, 2, 3, 5, 8, 1000]))
def test_generated_query_strings_agree(raw: str, max_fields: int) -> None:
    agree("parse_query_string", raw, max_fields)
    agree("parse_query_first", raw, max_fields)


@FAST
@given(QUERY_BYTES, st.sampled_from([0, 1, 3, 1000]))
def test_generated_query_bytes_agree(raw: bytes, max_fields: int) -> None:
    agree("parse_query_string", raw, max_fields)
    agree("parse_query_first", raw, max_fields)


@FAST
@given(COOKIE, st.sampled_from([0, 1, 2, 3, 200]))
def test_generated_cookie_headers_agree(raw: str, max_cookies: int) -> None:
    agree("parse_cookie_header", raw, max_cookies)


@FAST
@given(CONTENT_TYPE)
def test_generated_content_types_agree(raw: str) -> None:
    agree("parse_content_type", raw)


@FAST
@given(ACCEPT, st.sampled_from([0, 1, 2, 3, 64]))
def test_generated_accept_headers_agree(raw: str, max_items: int) -> None:
    agree("parse_accept", raw, max_items)


@FAST
@given(HEADERS, st.sampled_from(HEADER_NAMES))
def test_generated_header_lists_agree(headers: list[Any], name: bytes) -> None:
    agree_find_header(lambda: headers, name)
    agree_find_header(lambda: iter(headers), name)


@FAST
@given(HEADERS)
def test_generated_header_lists_frame_alike(headers: list[Any]) -> None:
    agree("framing_error", headers)


@FAST
@given(PATH_BYTES)
def test_generated_raw_paths_decode_alike(raw: bytes) -> None:
    agree("decode_path", raw)


# Digits of several scripts, signs, separators and spaces: what a number may be misspelled with.
NUMBERISH = st.lists(st.sampled_from(list("0123456789+-_. e١²") + ["x", "é"]), max_size=22).map("".join)


@FAST
@given(NUMBERISH | st.text(max_size=20))
def test_generated_plain_ints_agree_with_each_other_and_with_msgspec(raw: str) -> None:
    outcome = agree("plain_int", raw)
    if outcome[1][1] is not None:
        # A value the shortcut gives must be exactly what msgspec would have made of the string.
        assert outcome == ("returned", _canonical(msgspec.convert(raw, int, strict=False)))


@FAST
@given(st.sampled_from(["true", "FALSE", "On", "off", "yes", "NO", "1", "0", "", "2", "truthy"]) | st.text(max_size=8))
def test_generated_plain_bools_agree(raw: str) -> None:
    agree("plain_bool", raw)


@FAST
@given(PATH)
def test_generated_paths_match_alike(path: str) -> None:
    agree_lookup(path)


@FAST
@given(st.lists(ANY_CHAR | st.sampled_from(list("/./-0١")), max_size=30).map("".join))
def test_generated_unsegmented_paths_match_alike(path: str) -> None:
    agree_lookup(path)
    agree_lookup("/" + path)


_SEGMENT_TEMPLATES = [
    "users",
    "posts",
    "a.b",
    "",
    "<int:{0}>",
    "<{0}>",
    "{{{0}:float}}",
    "<uuid:{0}>",
    "<{0}>.<{1}>",
    "v<int:{0}>",
    "<int:{0}>-<int:{1}>",
    "x<{0}>y",
]
_TAIL_TEMPLATES = ["<path:{0}>", "<path:{0}>.zip", "<{0}>/<path:{1}>"]


@st.composite
def route_tables(draw: st.DrawFn) -> list[tuple[str, dict[str, str]]]:
    """Route tables of 1-6 templates mixing static, converted, mixed and tail segments."""
    table: list[tuple[str, dict[str, str]]] = []
    for _ in range(draw(st.integers(1, 6))):
        names = (f"p{index}" for index in range(100))
        pieces = [
            piece.format(next(names), next(names))
            for piece in draw(st.lists(st.sampled_from(_SEGMENT_TEMPLATES), max_size=4))
        ]
        if draw(st.booleans()):
            pieces.append(draw(st.sampled_from(_TAIL_TEMPLATES)).format(next(names), next(names)))
        table.append(("/" + "/".join(pieces), {}))
    return table


@SLOW
@given(route_tables(), st.data())
def test_generated_route_tables_match_alike(
    routes: list[tuple[str, dict[str, str]]], data: st.DataObject
) -> None:
    matchers = build_matchers(routes)
    paths = st.lists(PATH | filled_paths(routes), min_size=1, max_size=8)
    for path in data.draw(paths):
        agree_lookup(path, matchers)


# -- hostile inputs, one test per thing they defend against ----------------------------------------


def test_double_slashes_give_empty_segments_alike() -> None:
    for path in [
        "//x",
        "//",
        "///",
        "/users//posts",
        "/users/42//posts/x",
        "/double//slash",
        "/double/slash",
        "/files//",
        "/static//a//b",
        "/dl//.zip",
    ]:
        agree_lookup(path)
    assert first_match("//x") is None  # an empty segment never fills a parameter
    assert first_match("/double//slash") == (["23:/double//slash"], {})
    for raw in [b"//x", b"/a//b", b"//%2F/"]:
        agree("decode_path", raw)
    agree("parse_query_string", "next=//evil.example&&a=1")


def test_encoded_slash_is_data_not_a_separator_alike() -> None:
    assert agree("decode_path", b"/files/a%2Fb.txt") == ("returned", ("str", "/files/a/b.txt"))
    for raw in [b"/%2F", b"/%2f%2F", b"/a%252Fb", b"%2F%2F"]:
        agree("decode_path", raw)
    # A router fed the raw (undecoded) path must treat %2F as segment text.
    for path in ["/files/a%2Fb.txt", "/%2F", "/users/%2F", "/users/%2F/posts/x", "/static/%2F..%2F"]:
        agree_lookup(path)
    assert first_match("/users/%2F") == (["6:/users/<user_id>"], {"user_id": "%2F"})
    agree("parse_query_string", "a=%2F&%2F=b&c=%2f")
    agree("parse_cookie_header", "path=%2Fadmin; b=%2f")


def test_nul_bytes_raw_and_escaped_alike() -> None:
    for path in ["/users/\x00", "/users/%00", "/files/a\x00.txt", "/static/\x00/x", "/\x00", "/objects/\x00"]:
        agree_lookup(path)
    for raw in [b"/a%00b", b"/\x00", b"%00"]:
        agree("decode_path", raw)
    agree("parse_query_string", "a=%00&\x00=b&c=\x00%00")
    agree("parse_query_string", b"a=%00&\x00=b")
    agree("parse_cookie_header", "a=\x00; \x00=b; c=%00")
    agree("parse_content_type", "text/plain; charset=\x00; \x00=x")
    agree("parse_accept", "text/html\x00, \x00/*;q=0.5")
    agree_find_header(lambda: [(b"\x00", b"x"), (b"accept", b"\x00")], b"accept")


def test_overlong_10k_segments_alike() -> None:
    long = "a" * 10_000
    for path in [
        f"/users/{long}",
        f"/users/{'1' * 10_000}",
        f"/files/{long}.{long}",
        f"/files/{long}",
        f"/objects/{'f' * 10_000}",
        f"/{long}/edit",
        f"/v{long}/items",
        f"/static/{long}",
        f"/dl/{long}.zip",
        f"/{long}",
    ]:
        agree_lookup(path)
    agree("decode_path", b"/" + b"%41" * 10_000)
    agree("decode_path", b"/" + b"%FF" * 10_000)
    agree("parse_query_string", f"{long}={long}&b={'%41' * 10_000}")
    agree("parse_cookie_header", f"a={long}; {long}=b")
    agree("parse_content_type", f'text/{long}; charset={long}; x="{long}"')
    agree("parse_accept", f"text/{long};q=0.5, */*")


def test_thousand_segment_paths_alike() -> None:
    many = "/".join(["a"] * 1000)
    for path in [
        f"/{many}",
        f"/static/{many}",
        f"/files/{many}",
        f"/dl/{many}.zip",
        f"/users/1/posts/{many}",
        f"/deep/{many}",
        "/" * 1000,
        f"/{many}/edit",
    ]:
        agree_lookup(path)
    assert first_match(f"/static/{many}") == (["13:/static/<path:p>"], {"p": many})
    agree("decode_path", ("/" + many).encode())
    agree("decode_path", b"/%2F" * 1000)


def test_invalid_utf8_becomes_replacement_chars_alike() -> None:
    for raw in [
        b"a=\xff\xfe&\xc3=x",
        b"a=%FF&b=\xc3",
        b"\xed\xa0\x80=1",
        b"%C0%AF=%E2%82",
        b"a=\xf4\x90\x80\x80",
    ]:
        agree("parse_query_string", raw)
    assert agree("parse_query_string", b"a=\xff") == (
        "returned",
        ("list", [("tuple", [("str", "a"), ("str", "\ufffd")])]),
    )
    for raw in [
        b"/%FF%FE",
        b"/%C3",
        b"/%C3%28",
        b"/%ED%A0%80",
        b"/%C0%AF",
        b"/%F4%90%80%80",
        b"/\xff%FF",
        b"/\xc3\xa9",
    ]:
        agree("decode_path", raw)
    agree("parse_cookie_header", "a=%FF; b=%C3%A9; c=%ED%A0%80")


def test_lone_surrogates_in_str_pass_through_alike() -> None:
    agree("parse_query_string", "a=\ud800&\udfff=%41&b=\ud800%FF+")
    agree("parse_cookie_header", 'a=\ud800; \udc00=b; c="\ud800"; d=\ud800%41')
    agree("parse_content_type", 'text/\ud800; charset="\udc00"')
    agree("parse_accept", "text/\ud800;q=0.5, \udc00")
    for path in ["/users/\ud800", "/files/\ud800.\udc00", "/static/\ud800/\udfff", "/\ud800/edit"]:
        agree_lookup(path)


def test_repeated_keys_keep_order_and_first_cookie_wins_alike() -> None:
    agree("parse_query_string", "a=1&a=2&b=3&a=4")
    assert agree("parse_query_first", "a=1&a=2&b=3&a=4") == (
        "returned",
        ("dict", [(("str", "a"), ("str", "1")), (("str", "b"), ("str", "3"))]),
    )
    assert agree("parse_cookie_header", "a=1; a=2; b=3") == (
        "returned",
        ("dict", [(("str", "a"), ("str", "1")), (("str", "b"), ("str", "3"))]),
    )
    agree("parse_cookie_header", "a=; a=2")
    agree("parse_content_type", "text/plain; charset=a; CHARSET=b; charset=c")
    agree("parse_accept", "text/html, text/html;q=0.5, TEXT/HTML;q=0.9")
    agree_find_header(lambda: [(b"accept", b"1"), (b"accept", b"2")], b"accept")


def test_semicolons_in_query_are_data_alike() -> None:
    assert agree("parse_query_string", "a=1;b=2&c=3") == (
        "returned",
        ("list", [("tuple", [("str", "a"), ("str", "1;b=2")]), ("tuple", [("str", "c"), ("str", "3")])]),
    )
    for raw in [";", ";;", "a;b", ";=;", "a=%3B;", "&;&"]:
        agree("parse_query_string", raw)


def test_plus_is_space_and_encoded_plus_is_plus_alike() -> None:
    for raw in ["a+b=c+d", "x=%2B", "%2B=1", "x=1%2b1", "+=+", "x=++%2B++", b"a+b=%2B"]:
        agree("parse_query_string", raw)
    # Cookies and paths keep "+" literally.
    agree("parse_cookie_header", "a=1+1; b=%2B")
    agree("decode_path", b"/a+b%2B")
    agree_lookup("/users/a+b")


def test_quoted_cookie_values_alike() -> None:
    for raw in [
        'a="x"',
        'a=""',
        'a="',
        'a="x',
        'a=x"',
        'a=" spaced "',
        'a="%41"',
        'a="x;y"; b=1',
        'a = "x" ; b="y"',
        'a="\\"x\\""',
        '"a"=1',
        'a=""""',
    ]:
        agree("parse_cookie_header", raw)


def test_cookie_values_containing_equals_alike() -> None:
    assert agree("parse_cookie_header", "token=abc==; b=c=d") == (
        "returned",
        ("dict", [(("str", "token"), ("str", "abc==")), (("str", "b"), ("str", "c=d"))]),
    )
    for raw in ["a==", "a==b", "a=%3D%3D", 'a="b=c"']:
        agree("parse_cookie_header", raw)


def test_empty_names_alike() -> None:
    for raw in ["=x; a=1", " =x", "=", ";=;", "a=1;;; =2", " ; ; "]:
        agree("parse_cookie_header", raw)
    for raw in ["=x&=&a", "=", "&=&", "=%41"]:
        agree("parse_query_string", raw)
    for raw in ["text/html; =x; charset=", "; a=b", ";", "", "   "]:
        agree("parse_content_type", raw)
    for raw in [";q=1, ,", ",", " , ; ,", ";", ""]:
        agree("parse_accept", raw)
    agree_find_header(lambda: [(b"", b"x")], b"")


def test_huge_ints_in_int_segments_alike() -> None:
    # CPython refuses int() of more than 4300 digits: the converter must fall through, not fail.
    for digits in [4300, 4301, 10_000]:
        for path in [
            f"/users/{'9' * digits}",
            f"/users/{'9' * digits}/posts/x",
            f"/v{'9' * digits}/items",
            f"/range/{'9' * digits}-1",
            f"/n/{'9' * digits}",
            f"/users/{'0' * digits}1",
        ]:
            agree_lookup(path)
    assert first_match(f"/users/{'9' * 5000}") == (["6:/users/<user_id>"], {"user_id": "9" * 5000})
    # float() of 400 digits is inf, which the float converter refuses.
    for path in [f"/items/{'9' * 400}", f"/items/{'9' * 400}.5", f"/items/1.{'9' * 400}"]:
        agree_lookup(path)
    assert first_match(f"/items/{'9' * 400}") is None


def test_unicode_digits_in_int_segments_alike() -> None:
    for path in [
        "/users/١٢٣",
        "/users/١٢٣/posts/x",
        "/v١/items",
        "/range/١-٢",
        "/items/١.٥",
        "/n/١٢٣",
        "/users/²",
        "/users/１２３",
        "/users/٤٢/avatar",
        "/objects/١٢٣٤٥٦٧٨-1234-5678-1234-567812345678",
    ]:
        agree_lookup(path)
    # int("١٢٣") == 123, but the converter's regex is ASCII: these are text, never numbers.
    assert first_match("/users/١٢٣") == (["6:/users/<user_id>"], {"user_id": "١٢٣"})
    assert first_match("/n/١٢٣") is None


def test_too_many_items_raise_the_same_parse_error() -> None:
    for raw, limit in [
        ("a&b&c", 2),
        ("a&b", 1),
        ("a", 0),
        ("&&&a&&&", 1),
        ("a&&b&&", 2),
        ("&" * 5000, 1),
        ("&".join(["a"] * 1001), 1000),
        ("&".join(["a"] * 1000), 1000),
    ]:
        agree("parse_query_string", raw, limit)
        agree("parse_query_string", raw.encode(), limit)
    assert agree("parse_query_string", "a&b&c", 2)[:2] == ("raised", py_parsers.ParseError)
    for raw, limit in [("a=1; b=2; c=3", 2), ("a=1;;;", 3), (";" * 201, 200), ("a=1", 0)]:
        agree("parse_cookie_header", raw, limit)
    for raw, limit in [("a/b, c/d", 1), ("," * 64, 64), ("," * 63, 64), (",".join(["*/*"] * 1000), 64)]:
        agree("parse_accept", raw, limit)


def test_quadratic_content_type_floods_refused_alike() -> None:
    for raw in [
        "application/json" + ";" * 1_000_000,
        "a/b;" + ";" * 64,
        "a/b;" + ";" * 65,
        'a/b; x="' + ";" * 10_000,
        "a/b; x=" + '""' * 64,
        "a/b; x=" + '""' * 65,
        'a/b; x="' + '\\"' * 3000 + '"',
        "a/b; x=" + "y" * 8192,
        "a/b; x=" + "y" * 8185,
    ]:
        agree("parse_content_type", raw)
    for raw in ["," * 1_000_000, "text/html;" + "q" * 9000]:
        agree("parse_accept", raw)
    agree("parse_cookie_header", ";" * 1_000_000)


def test_request_smuggling_framing_alike() -> None:
    for headers in [
        [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
        [(b"transfer-encoding", b"chunked"), (b"content-length", b"5")],
        [(b"content-length", b"5"), (b"content-length", b"6")],
        [(b"content-length", b"5"), (b"content-length", b"5")],
        [(b"Content-Length", b"5"), (b"transfer-encoding", b"chunked")],
        [],
    ]:
        agree("framing_error", headers)
        agree_find_header(lambda items=headers: iter(items), b"content-length")


def test_quoted_semicolons_and_backslashes_in_content_type_alike() -> None:
    for raw in [
        'multipart/form-data; boundary="a;b"; charset=x',
        'text/plain; a="\\";b=c',
        'x/y; a="\\\\"; b=1',
        'x/y; a="unterminated; b=2',
        'x/y; a=\\"; b=2',
        'x/y; a="\\q"',
        ' TEXT/Plain ;CharSet = "UTF-8" ',
    ]:
        agree("parse_content_type", raw)


def test_malformed_quality_values_alike() -> None:
    for q in [
        "abc",
        "1.5",
        "0.0001",
        "-1",
        "",
        " 0.5",
        "0.5 ",
        '"0.5"',
        "1.",
        "0.",
        "01",
        "1.0000",
        "nan",
        "inf",
        "0x1",
        "٠.٥",
        "1e0",
    ]:
        agree("parse_accept", f"text/html;q={q}, application/json;q=0.5")
    agree("parse_accept", "text/html;Q=0.5;q=0.9, a/b; q = 0.3")


def test_unusual_header_lists_alike() -> None:
    headers = [(b"host", b"x"), (b"Accept", b"upper"), (b"accept", b"lower"), (b"accept", b"second")]
    agree_find_header(lambda: headers, b"accept")
    agree_find_header(lambda: iter(headers), b"accept")
    agree_find_header(lambda: (pair for pair in headers), b"cookie")
    agree_find_header(lambda: [[b"accept", bytearray(b"list items")]], b"accept")
    agree_find_header(lambda: [], b"accept")
    agree_find_header(lambda: headers, "accept")  # a str name never equals bytes


# -- known disagreements: inputs outside the contract, kept strict so a fix is noticed -------------


def test_malformed_header_items_fail_alike() -> None:
    agree_find_header(lambda: [(b"accept",)], b"accept")
    agree_find_header(lambda: [None], b"accept")


def test_non_str_paths_fail_alike() -> None:
    agree_lookup(None)


def test_templates_deeper_than_the_limit_are_refused_alike() -> None:
    # A recursive walk over a template thousands of segments deep would exhaust the Python stack
    # (and the C stack of the compiled twin); both refuse such a template when it is added.
    for router in (py_router, c_router):
        with pytest.raises(ValueError, match="segments"):
            router.Matcher().add([(router.STATIC, "a")] * (router.MAX_SEGMENTS + 1), "deep")


def test_templates_at_the_depth_limit_match_alike() -> None:
    depth = py_router.MAX_SEGMENTS
    py_matcher, c_matcher = py_router.Matcher(), c_router.Matcher()
    for matcher in (py_matcher, c_matcher):
        matcher.add([(py_router.STATIC, "a")] * depth, "deep")
    agree_lookup("/" + "/".join(["a"] * depth), (py_matcher, c_matcher))
