"""Fuzz harnesses for every body parser: multipart, urlencoded, whole-body reads and JSON.

See tests/fuzz/fuzzing.py for the properties and the budget. Body parsers have no compiled
twin; the suite runs once per build, so they are fuzzed over each build's header parsers. Being
sans-IO, they get one more property: the result does not depend on how the body is chunked.
"""

from __future__ import annotations

from typing import Any

import anyio
from asgi_raw import call
from fuzzing import FUZZ, amplified, assert_time_per_byte, outcome
from hypothesis import given
from hypothesis import strategies as st

from covet import Covet, Request
from covet.formparsers import PART_DATA, FormLimits, MultipartParser, UrlencodedParser, parse_form
from covet.requests import read_body

LIMITS = FormLimits(max_fields=50, max_files=5, max_field_size=4096, max_header_size=512, max_part_headers=4)
BOUNDARY = b"xyz"

# fmt: off
MULTIPART = st.lists(st.sampled_from([
    b"--xyz", b"--xyz--", b"\r\n", b"\r\n\r\n", b"Content-Disposition: form-data; name=\"a\"",
    b"Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"", b"Content-Type: text/plain",
    b"; charset=latin-1", b"data", b"\r", b"\n", b"-", b"--", b"x", b":", b";", b"\"", b"\xff",
]) | st.binary(max_size=4), max_size=40).map(b"".join)
URLENCODED = st.lists(st.sampled_from([b"a", b"=", b"&", b"&&", b"+", b"%", b"%41", b"%FF", b"%zz", b"\xff", b";"])
                      | st.binary(max_size=3), max_size=40).map(b"".join)
JSONISH = st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"a"', b":", b",", b"1", b"1e999", b"null", b"\\",
                                    b'"', b"\xff", b" ", b"true"]), max_size=40).map(b"".join)
CONTENT_TYPES = st.sampled_from([
    "", "multipart/form-data; boundary=xyz", "multipart/form-data", "multipart/form-data; boundary=\"xyz\"",
    "application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data; boundary=" + "x" * 300,
    "application/x-www-form-urlencoded" + ";" * 100, "multipart/form-data; boundary=xyz" + ";" * 100,
])
# fmt: on


@st.composite
def chunked(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """``body`` cut at drawn places (maybe into single bytes)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    edges = [0, *cuts, len(body)]
    return [body[start:end] for start, end in zip(edges, edges[1:])]


def bytewise(body: bytes) -> list[bytes]:
    """``body`` as one-byte chunks."""
    return [body[index : index + 1] for index in range(len(body))]


def _merged(events: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    merged: list[tuple[int, Any]] = []
    for kind, payload in events:
        if kind == PART_DATA and merged and merged[-1][0] == PART_DATA:
            merged[-1] = (PART_DATA, merged[-1][1] + payload)
        else:
            merged.append((kind, payload))
    return merged


def _multipart(chunks: list[bytes]) -> list[tuple[int, Any]]:
    parser = MultipartParser(BOUNDARY, LIMITS)
    events: list[tuple[int, Any]] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    parser.close()
    return _merged(events)


@FUZZ
@given(MULTIPART, st.data())
def test_fuzz_multipart_parser(body: bytes, data: st.DataObject) -> None:
    whole = outcome(_multipart, [body])
    pieces = outcome(_multipart, data.draw(chunked(body)))
    if whole[0] == "returned" and pieces[0] == "returned":
        assert pieces == whole  # chunking never changes what was parsed
    assert_time_per_byte(_multipart, [amplified(body)], size=len(body) * 400)
    assert_time_per_byte(_multipart, bytewise(amplified(body)[:4000]), size=4000)  # a byte at a time


def _urlencoded(chunks: list[bytes]) -> list[tuple[str, str]]:
    parser = UrlencodedParser(LIMITS)
    pairs: list[tuple[str, str]] = []
    for chunk in chunks:
        pairs += parser.feed(chunk)
    return pairs + parser.close()


@FUZZ
@given(URLENCODED, st.data())
def test_fuzz_urlencoded_parser(body: bytes, data: st.DataObject) -> None:
    whole = outcome(_urlencoded, [body])
    pieces = outcome(_urlencoded, data.draw(chunked(body)))
    assert pieces == whole
    assert_time_per_byte(_urlencoded, [amplified(body)], size=len(body) * 400)


async def _stream(chunks: list[bytes]) -> Any:
    for chunk in chunks:
        yield chunk


def _form(content_type: str, chunks: list[bytes]) -> list[tuple[str, str]]:
    async def run() -> list[tuple[str, str]]:
        form = await parse_form(_stream(chunks), content_type, LIMITS)
        try:
            return [(key, value if isinstance(value, str) else f"<file {value.filename}>") for key, value in form.multi_items()]
        finally:
            await form.close()

    return anyio.run(run)


@FUZZ
@given(CONTENT_TYPES, MULTIPART | URLENCODED, st.data())
def test_fuzz_parse_form(content_type: str, body: bytes, data: st.DataObject) -> None:
    whole = outcome(_form, content_type, [body])
    assert outcome(_form, content_type, data.draw(chunked(body))) == whole


def _read(headers: list[tuple[bytes, bytes]], chunks: list[bytes], limit: int | None) -> bytes:
    messages = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if messages:
        messages[-1]["more_body"] = False
    else:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    queue = iter(messages)

    async def receive() -> dict[str, Any]:
        return next(queue)

    return anyio.run(read_body, {"type": "http", "headers": headers}, receive, limit, None)


@FUZZ
@given(st.binary(max_size=64), st.data(), st.sampled_from([None, b"0", b"5", b"64", b"x", b"-1", b" 5"]),
       st.sampled_from([None, 0, 10, 1000]))
def test_fuzz_read_body(body: bytes, data: st.DataObject, length: bytes | None, limit: int | None) -> None:
    headers = [] if length is None else [(b"content-length", length)]
    result = outcome(_read, headers, data.draw(chunked(body)), limit)
    if result[0] == "returned":
        assert result[1] == body
    assert_time_per_byte(_read, [], bytewise(amplified(body)[:1000]), None, size=1000)


def _json_app() -> Covet:
    app = Covet()

    @app.post("/json")
    async def raw_json(request: Request) -> dict[str, str]:
        return {"type": type(await request.json()).__name__}

    @app.post("/typed")
    async def typed(payload: dict[str, Any]) -> dict[str, int]:
        return {"n": len(payload)}

    return app


JSON_APP = _json_app()


@FUZZ
@given(JSONISH, st.sampled_from(["/json", "/typed"]))
def test_fuzz_json_bodies(body: bytes, path: str) -> None:
    headers = [(b"host", b"x"), (b"content-type", b"application/json")]
    for payload in (body, amplified(body)[:20000], b"[" * len(body) * 100):
        response = call(JSON_APP, path, method="POST", headers=headers, chunks=[payload])
        assert response.status < 500, (payload[:80], response.status, response.body[:200])


# -- the whole app: any headers and body, never a 5xx -----------------------------------------------


def _hostile_app() -> Covet:
    app = Covet()

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"n": len(await request.form())}

    @app.post("/body")
    async def body(request: Request) -> dict[str, Any]:
        return {"n": len(await request.body()), "url": str(request.url), "cookies": len(request.cookies)}

    @app.get("/<path:page>/")
    async def page(page: str) -> str:
        return page

    return app


HOSTILE_APP = _hostile_app()
# fmt: off
APP_HEADERS = st.lists(st.tuples(
    st.sampled_from([b"host", b"content-type", b"content-length", b"transfer-encoding", b"cookie", b"accept"]),
    st.sampled_from([b"x", b"example.com/x?y=", b"[::1]:80", b"multipart/form-data; boundary=xyz", b"5", b"chunked",
                     b"application/x-www-form-urlencoded", b"a=1; b", b"text/html;q=0.5", b";;;;", b"\xff"])
    | st.binary(max_size=8),
), max_size=6)
# fmt: on


@FUZZ
@given(APP_HEADERS, MULTIPART | URLENCODED, st.sampled_from(["/form", "/body", "//evil.com", "/a"]), st.data())
def test_fuzz_app_never_answers_5xx(headers: list[tuple[bytes, bytes]], body: bytes, path: str, data: st.DataObject) -> None:
    method = "GET" if path in ("//evil.com", "/a") else "POST"
    response = call(HOSTILE_APP, path, method=method, raw_path=path.encode(), headers=headers, chunks=data.draw(chunked(body)))
    assert response.status < 500, (headers, body[:80], response.status, response.body[:200])
    location = response.header(b"location")
    if location is not None:
        assert not location.startswith((b"//", b"/\\")), location
