"""The response classes, cookies, header safety, and the conversion of handler return values."""

from __future__ import annotations

import dataclasses
import email.utils
import gc
import os
import threading
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from covet import (
    BackgroundTasks,
    Covet,
    EventSourceResponse,
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    ServerSentEvent,
    StreamingResponse,
)
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a leaked resource (ResourceWarning) fails the test that leaked it."""
    yield
    gc.collect()


def serve(response_factory: Any, path: str = "/", **route_options: Any) -> TestClient:
    """A client for an app whose single GET route returns ``response_factory()``."""
    app = Covet()

    @app.get(path, **route_options)
    async def endpoint() -> Any:
        return response_factory()

    return TestClient(app, follow_redirects=False)


# --- the response classes -------------------------------------------------------------------------


def test_response_sends_bytes_with_media_type_and_headers() -> None:
    client = serve(
        lambda: Response(b"<svg/>", status_code=201, headers={"X-A": "1"}, media_type="image/svg+xml")
    )
    response = client.get("/")
    assert response.status_code == 201
    assert response.content == b"<svg/>"
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-length"] == "6"
    assert response.headers["x-a"] == "1"


def test_response_encodes_str_as_utf8() -> None:
    response = serve(lambda: Response("héllo", media_type="text/plain")).get("/")
    assert response.content == "héllo".encode()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len("héllo".encode()))


def test_response_refuses_non_text_content_with_a_hint() -> None:
    with pytest.raises(TypeError, match="JSONResponse"):
        Response({"a": 1})


def test_json_response_encodes_with_msgspec() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    response = serve(lambda: JSONResponse({"when": when, "id": ident, "n": [1, 2]}, status_code=202)).get("/")
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"when": "2024-05-01T12:30:00Z", "id": str(ident), "n": [1, 2]}


def test_html_and_plain_text_responses_set_charset() -> None:
    html = serve(lambda: HTMLResponse("<p>hi</p>")).get("/")
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text == "<p>hi</p>"
    text = serve(lambda: PlainTextResponse("plain")).get("/")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == "plain"


def test_redirect_response_defaults_to_307() -> None:
    response = serve(lambda: RedirectResponse("/elsewhere?x=1")).get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/elsewhere?x=1"
    assert response.content == b""


def test_redirect_response_with_explicit_status() -> None:
    response = serve(lambda: RedirectResponse("https://example.org/", status_code=303)).get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "https://example.org/"


def test_redirect_response_percent_encodes_non_ascii() -> None:
    response = serve(lambda: RedirectResponse("/café")).get("/")
    assert response.headers["location"] == "/caf%C3%A9"


def test_head_request_gets_headers_without_body() -> None:
    client = serve(lambda: PlainTextResponse("a body"))
    response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "6"


# --- streaming --------------------------------------------------------------------------------------


def test_streaming_response_from_async_iterable() -> None:
    async def numbers() -> AsyncIterator[str]:
        for n in range(3):
            yield f"{n},"

    streaming = StreamingResponse(numbers(), media_type="text/csv")
    assert b"content-length" not in {name for name, _ in streaming.raw_headers}  # length is unknown
    response = serve(lambda: streaming).get("/")
    assert response.text == "0,1,2,"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_streaming_response_from_sync_iterable_of_bytes_and_str() -> None:
    response = serve(lambda: StreamingResponse([b"a", "b", b"", "c"], media_type="text/plain")).get("/")
    assert response.text == "abc"


def test_streaming_sync_generator_runs_off_the_event_loop() -> None:
    app = Covet()
    threads: dict[str, Any] = {}

    def produce() -> Iterator[bytes]:
        threads.setdefault("generator", set()).add(threading.get_ident())
        yield b"one"
        threads["generator"].add(threading.get_ident())
        yield b"two"

    @app.get("/")
    async def endpoint() -> StreamingResponse:
        threads["loop"] = threading.get_ident()
        return StreamingResponse(produce())

    response = TestClient(app).get("/")
    assert response.content == b"onetwo"
    assert threads["loop"] not in threads["generator"]


def test_streaming_response_to_head_sends_no_body() -> None:
    consumed: list[bytes] = []

    def produce() -> Iterator[bytes]:
        consumed.append(b"x")
        yield b"x"

    response = serve(lambda: StreamingResponse(produce())).head("/")
    assert response.content == b""
    assert consumed == []


class Wire:
    """A fake server connection for calling a response directly: records what the app sends.

    ``disconnect_after`` body chunks, the client "goes away" (``receive`` then returns
    ``http.disconnect``); ``send_error_after`` chunks, ``send`` raises OSError as ASGI 2.4 servers do.
    """

    def __init__(self, disconnect_after: int | None = None, send_error_after: int | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.disconnect_after = disconnect_after
        self.send_error_after = send_error_after
        self.gone = anyio.Event()
        self.request_sent = False

    @property
    def chunks(self) -> list[bytes]:
        return [m["body"] for m in self.messages if m["type"] == "http.response.body" and m["body"]]

    async def receive(self) -> dict[str, Any]:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if self.send_error_after is not None and len(self.chunks) >= self.send_error_after:
            raise OSError("connection reset by peer")
        self.messages.append(message)
        if self.disconnect_after is not None and len(self.chunks) >= self.disconnect_after:
            self.gone.set()


def http_scope(method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers or [],
        "extensions": {},
    }


def run_response(response: Any, wire: Wire, scope: dict[str, Any] | None = None) -> None:
    async def main() -> None:
        with anyio.fail_after(30):  # a guard against a hang, not a timing assertion
            await response(scope or http_scope(), wire.receive, wire.send)

    anyio.run(main)


def test_streaming_producer_never_runs_ahead_of_a_slow_client() -> None:
    # 100 MiB in 64 KiB chunks to a client that takes its time over each one: the generator must
    # never be more than one chunk ahead of what was sent, and memory must stay flat.
    chunk_size, count = 64 * 1024, 1600
    produced = 0
    sent = 0
    lead: list[int] = []

    async def produce() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(count):
            produced += 1
            lead.append(produced - sent)
            yield bytes(chunk_size)

    async def slow_send(message: dict[str, Any]) -> None:
        nonlocal sent
        for _ in range(3):
            await anyio.sleep(0)  # a slow reader: the server's write waits
        if message.get("body"):
            sent += 1

    growth = 0

    async def main() -> None:
        nonlocal growth
        wire = Wire()
        response = StreamingResponse(produce())
        # Measured inside the running loop, so the event loop's own start-up is not counted.
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await response(http_scope(), wire.receive, slow_send)
        growth = tracemalloc.get_traced_memory()[1] - before

    tracemalloc.start()
    try:
        anyio.run(main)
    finally:
        tracemalloc.stop()
    assert sent == count
    assert max(lead) <= 1
    assert growth < 1024 * 1024, f"memory grew by {growth} bytes while streaming 100 MiB"


def test_streaming_sync_producer_never_runs_ahead_of_the_client() -> None:
    produced = 0
    sent = 0
    lead: list[int] = []

    def produce() -> Iterator[bytes]:
        nonlocal produced
        for _ in range(200):
            produced += 1
            lead.append(produced - sent)
            yield b"x" * 1024

    async def slow_send(message: dict[str, Any]) -> None:
        nonlocal sent
        await anyio.sleep(0)
        if message.get("body"):
            sent += 1

    async def main() -> None:
        await StreamingResponse(produce())(http_scope(), Wire().receive, slow_send)

    anyio.run(main)
    assert sent == 200
    assert max(lead) <= 1


def test_streaming_disconnect_stops_and_closes_async_generator() -> None:
    closed = []

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
        finally:
            closed.append(True)

    wire = Wire(disconnect_after=3)
    run_response(StreamingResponse(forever()), wire)
    assert closed == [True]
    assert 3 <= len(wire.chunks) <= 4


def test_streaming_disconnect_stops_and_closes_sync_generator() -> None:
    closed = []

    def forever() -> Iterator[bytes]:
        try:
            while True:
                yield b"tick"
        finally:
            closed.append(threading.get_ident())

    wire = Wire(disconnect_after=3)
    run_response(StreamingResponse(forever()), wire)
    assert len(closed) == 1
    assert closed[0] != threading.get_ident()  # closed in a worker thread, like its iteration
    assert 3 <= len(wire.chunks) <= 4


def test_streaming_send_oserror_from_vanished_client_stops_iteration() -> None:
    closed = []
    ran = []

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
        finally:
            closed.append(True)

    tasks = BackgroundTasks()
    tasks.add_task(lambda: ran.append(True))
    wire = Wire(send_error_after=2)
    run_response(StreamingResponse(forever(), background=tasks), wire)  # returns: no exception
    assert closed == [True]
    assert len(wire.chunks) == 2
    assert ran == [True]  # clean-up work still runs when the client left


def test_streaming_generator_error_is_raised_unwrapped() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise LookupError("row 7 is missing")

    with pytest.raises(LookupError, match="row 7"):
        serve(lambda: StreamingResponse(broken())).get("/")


def test_streaming_rejects_non_text_chunks_with_a_hint() -> None:
    with pytest.raises(TypeError, match="bytes or str, got int"):
        serve(lambda: StreamingResponse([b"a", 42])).get("/")


def test_streaming_accepts_bytes_like_chunks() -> None:
    response = serve(lambda: StreamingResponse([bytearray(b"ab"), memoryview(b"cd")])).get("/")
    assert response.content == b"abcd"


def test_streaming_unread_request_body_does_not_confuse_disconnect_watch() -> None:
    app = Covet()

    @app.post("/")
    async def endpoint() -> StreamingResponse:
        return StreamingResponse(iter([b"one", b"two"]))

    response = TestClient(app).post("/", content=b"x" * 100_000)
    assert response.content == b"onetwo"


# --- files ------------------------------------------------------------------------------------------


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.txt"
    path.write_bytes(b"0123456789" * 10)
    return path


def test_file_response_sends_file_with_validators(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/")
    assert response.status_code == 200
    assert response.content == data_file.read_bytes()
    assert response.headers["content-length"] == "100"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    modified = email.utils.parsedate_to_datetime(response.headers["last-modified"])
    assert int(modified.timestamp()) == int(os.stat(data_file).st_mtime)


def test_file_response_etag_changes_when_file_changes(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    first = client.get("/").headers["etag"]
    data_file.write_bytes(b"different content")
    os.utime(data_file, (1_700_000_000, 1_700_000_000))
    second = client.get("/")
    assert second.content == b"different content"
    assert second.headers["etag"] != first


def test_file_response_304_on_matching_if_none_match(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    etag = client.get("/").headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get("/", headers={"if-none-match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "content-length" not in response.headers or response.headers["content-length"] == "0"


def test_file_response_200_on_stale_if_none_match(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"if-none-match": '"stale"'})
    assert response.status_code == 200
    assert len(response.content) == 100


def test_file_response_304_on_if_modified_since(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    last_modified = client.get("/").headers["last-modified"]
    response = client.get("/", headers={"if-modified-since": last_modified})
    assert response.status_code == 304
    assert response.content == b""


def test_file_response_200_when_modified_after_if_modified_since(data_file: Path) -> None:
    os.utime(data_file, (1_700_000_000, 1_700_000_000))
    earlier = email.utils.formatdate(1_600_000_000, usegmt=True)
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"if-modified-since": earlier})
    assert response.status_code == 200


def test_file_response_ignores_malformed_if_modified_since(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"if-modified-since": "yesterday-ish"})
    assert response.status_code == 200


def test_file_response_if_none_match_takes_precedence_over_if_modified_since(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    last_modified = client.get("/").headers["last-modified"]
    response = client.get("/", headers={"if-none-match": '"stale"', "if-modified-since": last_modified})
    assert response.status_code == 200


def test_file_response_head_sends_headers_only(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "100"
    assert "etag" in response.headers


def test_file_response_missing_file_is_404(tmp_path: Path) -> None:
    response = serve(lambda: FileResponse(tmp_path / "nope.txt")).get("/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_file_response_directory_is_404(tmp_path: Path) -> None:
    response = serve(lambda: FileResponse(tmp_path)).get("/")
    assert response.status_code == 404


def test_file_response_range_request_returns_partial_content(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": "bytes=2-5"})
    assert response.status_code == 206
    assert response.content == b"2345"
    assert response.headers["content-range"] == "bytes 2-5/100"
    assert response.headers["content-length"] == "4"


def test_file_response_content_disposition_ascii(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file, filename="report.txt")).get("/")
    assert response.headers["content-disposition"] == 'attachment; filename="report.txt"'


def test_file_response_content_disposition_non_ascii_filename(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file, filename="résumé 2024.pdf")).get("/")
    disposition = response.headers["content-disposition"]
    # An ASCII fallback (accents dropped, not replaced by '?') for old clients, RFC 5987 for the rest.
    assert disposition == (
        "attachment; filename=\"resume 2024.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf"
    )
    disposition.encode("ascii")
    assert response.headers["content-type"] == "application/pdf"


def test_file_response_filename_cannot_inject_headers(data_file: Path) -> None:
    try:
        response = FileResponse(data_file, filename='evil"\r\nSet-Cookie: a=b.txt')
    except ValueError:
        return  # refusing the filename outright is also safe
    for _, value in response.raw_headers:
        assert b"\r" not in value and b"\n" not in value


# --- server-sent events ---------------------------------------------------------------------------


def test_event_source_response_frames_events() -> None:
    async def events() -> AsyncIterator[Any]:
        yield ServerSentEvent(data={"n": 1}, event="tick", id="7", retry=1500)
        yield "plain text"
        yield "line one\nline two"
        yield {"a": [1, 2]}
        yield ServerSentEvent(event="ping")

    response = serve(lambda: EventSourceResponse(events())).get("/")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.text == (
        'id: 7\nevent: tick\nretry: 1500\ndata: {"n":1}\n\n'
        "data: plain text\n\n"
        "data: line one\ndata: line two\n\n"
        'data: {"a":[1,2]}\n\n'
        "event: ping\n\n"
    )


def test_event_source_accepts_sync_iterables() -> None:
    response = serve(lambda: EventSourceResponse(["a", "b"])).get("/")
    assert response.text == "data: a\n\ndata: b\n\n"


@pytest.mark.parametrize("field", ["event", "id"])
def test_sse_event_and_id_newline_injection_is_refused(field: str) -> None:
    event = ServerSentEvent(data="x", **{field: "a\ndata: injected"})
    with pytest.raises(ValueError, match="newline"):
        event.encode()


def test_event_source_pings_while_no_event_is_ready() -> None:
    pinged = anyio.Event()
    chunks: list[bytes] = []

    async def events() -> AsyncIterator[Any]:
        yield "first"
        await pinged.wait()  # the next event is only ready once a keep-alive went out
        yield "second"

    async def send(message: dict[str, Any]) -> None:
        if message.get("body"):
            chunks.append(message["body"])
            if message["body"] == b": ping\n\n":
                pinged.set()

    async def main() -> None:
        with anyio.fail_after(30):
            await EventSourceResponse(events(), ping_interval=0.01)(http_scope(), Wire().receive, send)

    anyio.run(main)
    assert chunks[0] == b"data: first\n\n"
    assert chunks[-1] == b"data: second\n\n"
    middle = chunks[1:-1]
    assert middle and set(middle) == {b": ping\n\n"}


def test_event_source_disconnect_stops_and_closes_the_generator() -> None:
    closed = []

    async def forever() -> AsyncIterator[Any]:
        n = 0
        try:
            while True:
                n += 1
                yield ServerSentEvent(data={"n": n}, id=str(n))
        finally:
            closed.append(True)

    wire = Wire(disconnect_after=2)
    run_response(EventSourceResponse(forever()), wire)
    assert closed == [True]
    assert wire.chunks[:2] == [b'id: 1\ndata: {"n":1}\n\n', b'id: 2\ndata: {"n":2}\n\n']
    assert len(wire.chunks) <= 3


def test_event_source_ping_to_vanished_client_ends_the_stream() -> None:
    closed = []

    async def idle() -> AsyncIterator[Any]:
        try:
            yield "hello"
            await anyio.sleep_forever()
            yield "never"
        finally:
            closed.append(True)

    wire = Wire(send_error_after=1)  # the first ping finds the connection reset
    run_response(EventSourceResponse(idle(), ping_interval=0.01), wire)
    assert closed == [True]
    assert wire.chunks == [b"data: hello\n\n"]


def test_event_source_without_pings_still_streams() -> None:
    response = serve(lambda: EventSourceResponse(iter(["a", "b"]), ping_interval=None)).get("/")
    assert response.text == "data: a\n\ndata: b\n\n"
    assert response.headers["x-accel-buffering"] == "no"


@pytest.mark.parametrize("interval", [0, -1.5])
def test_event_source_refuses_non_positive_ping_interval(interval: float) -> None:
    with pytest.raises(ValueError, match="ping_interval"):
        EventSourceResponse(iter(["a"]), ping_interval=interval)


def test_sse_data_unicode_line_separators_are_kept() -> None:
    # Only CR/LF end an event-stream line; U+2028, U+0085 and form feeds are data.
    event = ServerSentEvent(data="a\u2028b\x85c\x0cd")
    assert event.encode() == "data: a\u2028b\x85c\x0cd\n\n".encode()


def test_sse_data_line_breaks_round_trip() -> None:
    assert ServerSentEvent(data="a\r\nb\rc\n").encode() == b"data: a\ndata: b\ndata: c\ndata: \n\n"


def test_sse_id_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        ServerSentEvent(data="x", id="1\x002").encode()


# --- cookies ----------------------------------------------------------------------------------------


def _set_cookie_headers(response: Response) -> list[str]:
    return [value.decode("latin-1") for name, value in response.raw_headers if name == b"set-cookie"]


def test_set_cookie_defaults_to_lax_and_root_path() -> None:
    response = Response()
    response.set_cookie("session", "abc")
    (header,) = _set_cookie_headers(response)
    parts = [part.strip() for part in header.split(";")]
    assert parts[0] == "session=abc"
    lowered = [part.lower() for part in parts]
    assert "path=/" in lowered
    assert "samesite=lax" in lowered
    assert "secure" not in lowered
    assert "httponly" not in lowered


def test_set_cookie_with_every_attribute() -> None:
    response = Response()
    expires = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    response.set_cookie(
        "token",
        "xyz",
        max_age=3600,
        expires=expires,
        path="/app",
        domain="example.org",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    (header,) = _set_cookie_headers(response)
    lowered = [part.strip().lower() for part in header.split(";")]
    assert header.startswith("token=xyz")
    assert "max-age=3600" in lowered
    assert "expires=thu, 02 jan 2031 03:04:05 gmt" in lowered
    assert "path=/app" in lowered
    assert "domain=example.org" in lowered
    assert "secure" in lowered
    assert "httponly" in lowered
    assert "samesite=strict" in lowered


def test_set_cookie_samesite_none_requires_secure() -> None:
    response = Response()
    with pytest.raises(ValueError, match="[Ss]ecure"):
        response.set_cookie("a", "1", samesite="none")
    response.set_cookie("a", "1", samesite="none", secure=True)
    (header,) = _set_cookie_headers(response)
    lowered = [part.strip().lower() for part in header.split(";")]
    assert "samesite=none" in lowered and "secure" in lowered


def test_set_cookie_rejects_unknown_samesite_and_bad_names() -> None:
    response = Response()
    with pytest.raises(ValueError, match="samesite"):
        response.set_cookie("a", "1", samesite="sometimes")
    with pytest.raises(ValueError, match="cookie name"):
        response.set_cookie("bad name;", "1")


def test_set_cookie_value_cannot_break_the_header() -> None:
    response = Response()
    response.set_cookie("a", "x\r\nSet-Cookie: admin=1")
    (header,) = _set_cookie_headers(response)
    assert "\r" not in header and "\n" not in header


def test_delete_cookie_expires_it() -> None:
    response = Response()
    response.delete_cookie("session", path="/app", domain="example.org")
    (header,) = _set_cookie_headers(response)
    lowered = [part.strip().lower() for part in header.split(";")]
    assert lowered[0] in ("session=", 'session=""')
    assert "max-age=0" in lowered
    assert "path=/app" in lowered
    assert "domain=example.org" in lowered


def _attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_delete_cookie_samesite_none_secure_cookie_is_really_deleted() -> None:
    # A browser ignores "SameSite=None" without "Secure", so the expiring header must carry both.
    response = Response()
    response.delete_cookie("token", secure=True, samesite="none")
    (header,) = _set_cookie_headers(response)
    assert {"max-age=0", "path=/", "samesite=none", "secure"} <= _attributes(header)
    implied = Response()
    implied.delete_cookie("token", samesite="none")  # secure inferred: the header must be valid
    assert "secure" in _attributes(_set_cookie_headers(implied)[0])


def test_delete_cookie_host_prefix_cookie_is_really_deleted() -> None:
    # "__Host-" cookies are only accepted with Secure, Path=/ and no Domain (RFC 6265bis 4.1.3.2).
    response = Response()
    response.delete_cookie("__Host-session")
    (header,) = _set_cookie_headers(response)
    attributes = _attributes(header)
    assert {"max-age=0", "path=/", "secure"} <= attributes
    assert not any(attribute.startswith("domain=") for attribute in attributes)
    with pytest.raises(ValueError, match="__Host-session"):
        Response().delete_cookie("__Host-session", path="/app")


def test_delete_cookie_takes_every_attribute_set_cookie_takes() -> None:
    response = Response()
    response.set_cookie(
        "chip", "1", path="/embed", domain="example.org", secure=True, httponly=True,
        samesite="none", partitioned=True,
    )
    response.delete_cookie(
        "chip", path="/embed", domain="example.org", secure=True, httponly=True,
        samesite="none", partitioned=True,
    )
    set_header, delete_header = _set_cookie_headers(response)
    expected = {"path=/embed", "domain=example.org", "secure", "httponly", "samesite=none", "partitioned"}
    assert expected <= _attributes(set_header)
    assert expected | {"max-age=0"} <= _attributes(delete_header)


def test_partitioned_cookie_without_secure_is_refused() -> None:
    with pytest.raises(ValueError, match="Partitioned.*secure=True"):
        Response().set_cookie("chip", "1", partitioned=True)
    with pytest.raises(ValueError, match="__Secure-id.*secure=True"):
        Response().set_cookie("__Secure-id", "1")


def test_cookies_round_trip_through_the_client() -> None:
    app = Covet()

    @app.get("/login")
    async def login() -> Response:
        response = PlainTextResponse("in")
        response.set_cookie("session", "abc")
        return response

    @app.get("/logout")
    async def logout() -> Response:
        response = PlainTextResponse("out")
        response.delete_cookie("session")
        return response

    client = TestClient(app)
    assert client.get("/login").cookies["session"] == "abc"
    assert client.cookies.get("session") == "abc"
    client.get("/logout")
    assert client.cookies.get("session") is None


# --- header injection -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: admin=1", "a\nb", "a\rb"])
def test_header_value_crlf_injection_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        Response(b"", headers={"x-echo": value})
    response = Response()
    with pytest.raises(ValueError):
        response.headers["x-echo"] = value
    with pytest.raises(ValueError):
        response.headers.append("x-echo", value)
    assert b"x-echo" not in {name for name, _ in response.raw_headers}


def test_header_name_crlf_injection_is_refused() -> None:
    with pytest.raises(ValueError):
        Response(b"", headers={"x-a\r\nset-cookie": "admin=1"})


def test_returned_header_crlf_injection_never_reaches_the_wire() -> None:
    app = Covet()

    @app.get("/")
    async def endpoint() -> Any:
        return "ok", {"x-echo": "a\r\nSet-Cookie: admin=1"}

    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert "set-cookie" not in response.headers


def test_redirect_location_crlf_injection_is_neutralised() -> None:
    response = RedirectResponse("/next\r\nSet-Cookie: admin=1")
    location = response.headers["location"]
    assert "\r" not in location and "\n" not in location
    assert location.startswith("/next")


# --- return value conversion ----------------------------------------------------------------------


class Item(msgspec.Struct):
    name: str
    price: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1}, {"a": 1}),
        ([1, "two", None], [1, "two", None]),
        (Item("lamp", 9.5), {"name": "lamp", "price": 9.5}),
        (Point(1, 2), {"x": 1, "y": 2}),
    ],
    ids=["dict", "list", "struct", "dataclass"],
)
def test_data_return_values_become_json(value: Any, expected: Any) -> None:
    response = serve(lambda: value).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


def test_str_return_value_is_html() -> None:
    response = serve(lambda: "<h1>hi</h1>").get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<h1>hi</h1>"


def test_bytes_return_value_is_octet_stream() -> None:
    response = serve(lambda: b"\x00\x01").get("/")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01"


def test_none_return_value_is_204_empty() -> None:
    response = serve(lambda: None).get("/")
    assert response.status_code == 204
    assert response.content == b""


def test_none_with_status_code_200_is_200_empty() -> None:
    response = serve(lambda: None, status_code=200).get("/")
    assert response.status_code == 200
    assert response.content == b""


def test_response_return_value_is_sent_as_is() -> None:
    original = PlainTextResponse("teapot", status_code=418, headers={"x-a": "1"})
    response = serve(lambda: original, status_code=201).get("/")
    assert (response.status_code, response.text, response.headers["x-a"]) == (418, "teapot", "1")


def test_tuple_body_status() -> None:
    response = serve(lambda: ({"created": True}, 201)).get("/")
    assert response.status_code == 201
    assert response.json() == {"created": True}


def test_tuple_body_status_headers() -> None:
    response = serve(lambda: ("made", 202, {"X-Id": "42"})).get("/")
    assert response.status_code == 202
    assert response.text == "made"
    assert response.headers["x-id"] == "42"


def test_tuple_body_headers_keeps_default_status() -> None:
    response = serve(lambda: ({"a": 1}, {"X-Id": "7"}), status_code=201).get("/")
    assert response.status_code == 201
    assert response.headers["x-id"] == "7"
    assert response.json() == {"a": 1}


def test_tuple_headers_may_be_a_list_of_pairs() -> None:
    response = serve(lambda: ("ok", 200, [("X-A", "1")])).get("/")
    assert response.headers["x-a"] == "1"


def test_tuple_response_and_status_overrides_status() -> None:
    response = serve(lambda: (PlainTextResponse("x"), 409)).get("/")
    assert response.status_code == 409
    assert response.text == "x"


def test_tuple_of_wrong_length_is_an_error_with_hint() -> None:
    with pytest.raises(TypeError, match=r"\(body, status\)"):
        serve(lambda: (1, 2, 3, 4)).get("/")


def test_two_strings_tuple_names_the_allowed_shapes_not_a_dict_update_error() -> None:
    # `return "x", "y"` used to fail inside dict() with "dictionary update sequence element #0".
    with pytest.raises(TypeError, match=r"'y' is neither a status nor headers.*\(body, status, headers\)"):
        serve(lambda: ("x", "y")).get("/")


@pytest.mark.parametrize(
    "value",
    [("x", "201", {}), ("x", True, {}), ("x", 200, "X-A: 1"), ("x", 1000), ("x", [("X-A",)])],
    ids=["status-as-text", "status-as-bool", "headers-as-text", "status-out-of-range", "pair-of-one"],
)
def test_malformed_tuple_returns_name_the_allowed_shapes(value: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match=r"\(body, status\), \(body, status, headers\) or \(body, headers\)"):
        serve(lambda: value).get("/")


def test_error_messages_embedding_another_message_end_with_one_period() -> None:
    from covet._text import sentence

    assert sentence("rename the placeholder).") == "rename the placeholder)."
    assert sentence("no period") == "no period."
    with pytest.raises(TypeError) as caught:
        serve(lambda: object()).get("/")
    assert ".." not in str(caught.value)


def test_unencodable_return_value_is_an_error_with_hint() -> None:
    with pytest.raises(TypeError, match="object"):
        serve(lambda: object()).get("/")


def test_status_code_option_sets_default_status() -> None:
    response = serve(lambda: {"id": 1}, status_code=201).get("/")
    assert response.status_code == 201
    assert response.json() == {"id": 1}


class XOnly(msgspec.Struct):
    x: int


@pytest.mark.parametrize("value", [{"x": 1}, XOnly(1)])
def test_json_data_goes_out_with_exactly_the_headers_a_jsonresponse_has(value: Any) -> None:
    # A handler nothing runs after has its dict or Struct sent without a Response object.
    expected = JSONResponse({"x": 1})
    response = serve(lambda: value).get("/")
    assert response.content == expected.body == b'{"x":1}'
    assert [(k.encode(), v.encode()) for k, v in response.headers.multi_items()] == expected.raw_headers


@pytest.mark.parametrize("value", [{"x": 1}, XOnly(1)])
def test_head_request_for_json_data_gets_headers_without_body(value: Any) -> None:
    response = serve(lambda: value).head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "7"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("status", [204, 304])
def test_json_data_with_a_bodiless_status_option_sends_no_body(status: int) -> None:
    response = serve(lambda: {"x": 1}, status_code=status).get("/")
    assert response.status_code == status
    assert response.content == b""
    assert "content-length" not in response.headers


def test_handler_annotated_as_returning_a_response_may_still_return_data() -> None:
    # The annotation only decides what is tried first; the value decides the response.
    app = Covet()

    @app.get("/")
    async def mislabelled() -> PlainTextResponse:
        return {"x": 1}  # type: ignore[return-value]

    response = TestClient(app).get("/")
    assert response.json() == {"x": 1}
    assert response.headers["content-type"] == "application/json"


def test_json_data_that_does_not_encode_is_still_explained() -> None:
    with pytest.raises(TypeError, match="Cannot turn a handler's return value"):
        serve(lambda: {"when": object()}).get("/")


def test_struct_subclass_with_its_own_metaclass_is_still_json() -> None:
    class Meta(type(msgspec.Struct)):  # type: ignore[misc]
        pass

    class Tagged(msgspec.Struct, metaclass=Meta):
        x: int

    assert serve(lambda: Tagged(2)).get("/").json() == {"x": 2}


@pytest.mark.parametrize("status", ["201", 99, 600, True, 201.0])
def test_status_code_option_that_is_not_a_status_is_refused_at_registration(status: Any) -> None:
    with pytest.raises(TypeError, match="status_code for route '/' must be an int from 100 to 599"):
        serve(lambda: {}, status_code=status)


def test_status_code_option_is_overridden_by_tuple_status() -> None:
    response = serve(lambda: ({"id": 1}, 200), status_code=201).get("/")
    assert response.status_code == 200


# --- response models --------------------------------------------------------------------------------


class PublicUser(msgspec.Struct):
    name: str
    email: str


class StoredUser(msgspec.Struct):
    name: str
    email: str
    password_hash: str


def test_response_model_drops_extra_fields_from_dicts() -> None:
    client = serve(
        lambda: {"name": "ada", "email": "a@x.org", "password_hash": "secret"}, response_model=PublicUser
    )
    assert client.get("/").json() == {"name": "ada", "email": "a@x.org"}


def test_response_model_drops_extra_fields_from_objects() -> None:
    client = serve(lambda: StoredUser("ada", "a@x.org", "secret"), response_model=PublicUser)
    assert client.get("/").json() == {"name": "ada", "email": "a@x.org"}


def test_response_model_list() -> None:
    client = serve(
        lambda: [StoredUser("ada", "a@x.org", "s1"), StoredUser("bob", "b@x.org", "s2")],
        response_model=list[PublicUser],
    )
    assert client.get("/").json() == [
        {"name": "ada", "email": "a@x.org"},
        {"name": "bob", "email": "b@x.org"},
    ]


def test_return_annotation_drops_extra_fields() -> None:
    app = Covet()

    @app.get("/me")
    async def me() -> PublicUser:
        return StoredUser("ada", "a@x.org", "secret")  # type: ignore[return-value]

    response = TestClient(app).get("/me")
    assert response.json() == {"name": "ada", "email": "a@x.org"}
    assert "secret" not in response.text


def test_return_annotation_dataclass_model() -> None:
    app = Covet()

    @app.get("/p")
    def point() -> Point:
        return {"x": 1, "y": 2, "z": 3}  # type: ignore[return-value]

    assert TestClient(app).get("/p").json() == {"x": 1, "y": 2}


def test_response_model_applies_to_tuple_bodies() -> None:
    client = serve(
        lambda: ({"name": "a", "email": "e", "password_hash": "s"}, 201), response_model=PublicUser
    )
    response = client.get("/")
    assert response.status_code == 201
    assert response.json() == {"name": "a", "email": "e"}


def test_response_returned_despite_model_is_sent_as_is() -> None:
    client = serve(lambda: PlainTextResponse("raw"), response_model=PublicUser)
    assert client.get("/").text == "raw"


# --- messages ---------------------------------------------------------------------------------------


def test_streamed_messages_are_fresh_dicts_a_middleware_may_change() -> None:
    # Middleware (compression, for one) rewrites message["body"] in place; a message dict shared
    # between responses would carry one response's rewrite into the next.
    class Rewriter:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def rewrite(message: dict[str, Any]) -> None:
                await send(message)
                if message["type"] == "http.response.body":
                    message["body"] = b"CORRUPTED"

            await self.app(scope, receive, rewrite)

    app = Covet()
    app.add_middleware(Rewriter)

    @app.get("/")
    async def endpoint() -> StreamingResponse:
        return StreamingResponse([b"a", b"b"])

    client = TestClient(app)
    assert client.get("/").content == b"ab"
    assert client.get("/").content == b"ab"


def test_no_error_message_adds_a_period_after_an_embedded_message() -> None:
    # f"...: {exc}." doubles the period when the embedded message ends with one; use sentence(exc).
    import re
    from pathlib import Path

    import covet

    pattern = re.compile(r"\{(?:exc|error|err|message|msg)(?:\.[a-z_]+)?(?:!s)?\}\.[\"']")
    offenders = [
        f"{path.name}:{number}"
        for path in Path(covet.__file__).parent.glob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_subclass_charset_and_media_type_shape_the_whole_body_response() -> None:
    # Response.__init__ builds the headers itself from a plan worked out when the class is made.
    class Latin1Text(Response):
        media_type = "text/plain"
        charset = "latin-1"

    response = Latin1Text("café")
    assert response.body == "café".encode("latin-1")
    assert response.headers["content-type"] == "text/plain; charset=latin-1"
    assert response.headers["content-length"] == "4"


def test_subclass_with_its_own_render_is_not_bypassed() -> None:
    class Shouting(PlainTextResponse):
        def render(self, content: Any) -> bytes:
            return str(content).upper().encode()

    response = Shouting("hello")
    assert response.body == b"HELLO"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_media_type_argument_and_headers_take_the_general_path() -> None:
    response = Response("<b>x</b>", media_type="text/html", headers={"Cache-Control": "no-store"})
    assert response.media_type == "text/html"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-length"] == "8"
    assert Response(b"", status_code=204).raw_headers == []
