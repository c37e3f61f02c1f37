"""FileResponse and covet._files: ranges, conditional requests, Content-Disposition, chunks, zero-copy."""

from __future__ import annotations

import email.utils
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from covet import Covet, FileResponse
from covet._files import MAX_RANGES, UNSATISFIABLE, content_disposition, parse_range_header
from covet.testing import TestClient

DATA = bytes(range(256)) * 4  # 1024 distinct-enough bytes: a wrong offset shows


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so an unclosed file (ResourceWarning) fails the test that leaked it."""
    yield
    gc.collect()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    return path


def serve(response_factory: Any, methods: list[str] | None = None) -> TestClient:
    app = Covet()
    app.add_route("/", lambda: response_factory(), methods=methods or ["GET"], name="file")
    return TestClient(app)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body: (headers, data) each, checking the framing exactly."""
    media, _, boundary = content_type.partition("; boundary=")
    assert media == "multipart/byteranges"
    assert boundary.isalnum()
    delimiter = b"--" + boundary.encode()
    assert body.startswith(delimiter + b"\r\n")
    assert body.endswith(b"\r\n" + delimiter + b"--\r\n")
    inner = body[: -len(b"\r\n" + delimiter + b"--\r\n")]
    parts = []
    for raw in inner.split(b"\r\n" + delimiter + b"\r\n"):
        raw = raw.removeprefix(delimiter + b"\r\n")
        head, _, data = raw.partition(b"\r\n\r\n")
        headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n"))
        parts.append(({k.lower(): v for k, v in headers.items()}, data))
    return parts


# --- Range header parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", [(0, 9)]),
        ("bytes=90-", [(90, 99)]),
        ("bytes=-10", [(90, 99)]),
        ("bytes=-1000", [(0, 99)]),
        ("bytes=0-999", [(0, 99)]),
        ("bytes=0-0,-1", [(0, 0), (99, 99)]),
        ("BYTES=1-2", [(1, 2)]),
        ("bytes=0-1, ,5-6,", [(0, 1), (5, 6)]),
        ("bytes=500-,0-1", [(0, 1)]),  # a range past the end is dropped, the others served
        ("bytes=0-10,5-15", [(0, 10), (5, 15)]),  # overlap within the file's size is allowed
    ],
)
def test_parse_range_header_valid(header: str, expected: list[tuple[int, int]]) -> None:
    assert parse_range_header(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=100-200,300-", "bytes=-0,150-"])
def test_parse_range_header_unsatisfiable(header: str) -> None:
    assert parse_range_header(header, 100) == UNSATISFIABLE


@pytest.mark.parametrize(
    "header",
    [
        "items=0-1",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes=5-2",
        "bytes=-",
        "bytes=a-b",
        "bytes=0x10-",
        "bytes=0-1-2",
        "bytes=+1-2",
        "bytes=1 -2",
    ],
)
def test_parse_range_header_malformed_means_whole_file(header: str) -> None:
    assert parse_range_header(header, 100) is None


def test_range_with_unicode_digits_is_ignored() -> None:
    # '²'.isdigit() is True but int('²') raises: such a header must not become a 500.
    assert parse_range_header("bytes=\u00b2-", 100) is None
    assert parse_range_header("bytes=0-\u00b2", 100) is None


def test_range_with_thousands_of_digits_is_cheap_and_clamped() -> None:
    huge = "9" * 5000  # int() refuses strings this long; positions this large mean "to the end"
    assert parse_range_header(f"bytes=0-{huge}", 100) == [(0, 99)]
    assert parse_range_header(f"bytes=-{huge}", 100) == [(0, 99)]
    assert parse_range_header(f"bytes={huge}-", 100) == UNSATISFIABLE
    assert parse_range_header(f"bytes={'0' * 5000}1-2", 100) == [(1, 2)]


def test_range_on_empty_file_is_ignored() -> None:
    assert parse_range_header("bytes=0-", 0) is None


def test_range_count_limit_falls_back_to_whole_file() -> None:
    at_limit = ",".join(f"{n}-{n}" for n in range(MAX_RANGES))
    assert parse_range_header(f"bytes={at_limit}", 1000) == [(n, n) for n in range(MAX_RANGES)]
    over = ",".join(f"{n}-{n}" for n in range(MAX_RANGES + 1))
    assert parse_range_header(f"bytes={over}", 1000) is None


@pytest.mark.parametrize(
    "header", ["bytes=0-,0-", "bytes=0-60,40-99", "bytes=-100,-1", "bytes=" + ",".join(["0-"] * 50)]
)
def test_overlapping_ranges_amplification_falls_back_to_whole_file(header: str) -> None:
    assert parse_range_header(header, 100) is None


# --- Content-Disposition --------------------------------------------------------------------------


def test_content_disposition_ascii() -> None:
    assert content_disposition("report 2024.pdf") == 'attachment; filename="report 2024.pdf"'


def test_content_disposition_quotes_and_backslashes_are_escaped() -> None:
    assert content_disposition('a"b\\c.txt') == 'attachment; filename="a\\"b\\\\c.txt"'


def test_content_disposition_non_ascii_has_fallback_and_rfc5987() -> None:
    value = content_disposition('日本 "Ä".txt')
    assert value == (
        'attachment; filename="__ \\"A\\".txt"; filename*=UTF-8\'\'%E6%97%A5%E6%9C%AC%20%22%C3%84%22.txt'
    )
    value.encode("ascii")


@pytest.mark.parametrize("name", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00b", "a\tb", "a\x7fb"])
def test_content_disposition_control_characters_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        content_disposition(name)
    with pytest.raises(ValueError, match="control characters"):
        FileResponse("anything.txt", filename=name)


# --- ranges over a FileResponse -------------------------------------------------------------------


def test_file_response_suffix_range(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": "bytes=-24"})
    assert response.status_code == 206
    assert response.content == DATA[-24:]
    assert response.headers["content-range"] == "bytes 1000-1023/1024"


def test_file_response_multi_range_is_multipart_byteranges(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": "bytes=0-9, 500-519, -4"})
    assert response.status_code == 206
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert [(headers["content-range"], data) for headers, data in parts] == [
        ("bytes 0-9/1024", DATA[0:10]),
        ("bytes 500-519/1024", DATA[500:520]),
        ("bytes 1020-1023/1024", DATA[1020:]),
    ]
    assert {headers["content-type"] for headers, _ in parts} == {"application/octet-stream"}


def test_file_response_multi_range_parts_carry_the_file_type(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>0123456789</p>")
    response = serve(lambda: FileResponse(page)).get("/", headers={"range": "bytes=0-2,4-5"})
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert [data for _, data in parts] == [b"<p>", b"12"]
    assert {headers["content-type"] for headers, _ in parts} == {"text/html; charset=utf-8"}


def test_file_response_multi_range_head_has_length_without_body(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    get = client.get("/", headers={"range": "bytes=0-1,3-4"})
    head = client.head("/", headers={"range": "bytes=0-1,3-4"})
    assert head.status_code == 206
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"].startswith("multipart/byteranges; boundary=")


def test_file_response_unsatisfiable_range_is_416(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": "bytes=2000-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */1024"
    assert response.content == b""


def test_file_response_too_many_ranges_gets_whole_file(data_file: Path) -> None:
    header = "bytes=" + ",".join(f"{n}-{n}" for n in range(MAX_RANGES + 1))
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": header})
    assert response.status_code == 200
    assert response.content == DATA


def test_file_response_overlapping_ranges_get_whole_file(data_file: Path) -> None:
    header = "bytes=" + ",".join(["0-1023"] * 20)  # 20 KiB of response for a 1 KiB file, if obeyed
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": header})
    assert response.status_code == 200
    assert response.content == DATA


def test_file_response_malformed_range_gets_whole_file(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file)).get("/", headers={"range": "bytes=9-2"})
    assert response.status_code == 200
    assert response.content == DATA


def test_file_response_if_range_etag(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    etag = client.get("/").headers["etag"]
    fresh = client.get("/", headers={"range": "bytes=0-3", "if-range": etag})
    assert (fresh.status_code, fresh.content) == (206, DATA[:4])
    stale = client.get("/", headers={"range": "bytes=0-3", "if-range": '"old-version"'})
    assert (stale.status_code, stale.content) == (200, DATA)
    weak = client.get("/", headers={"range": "bytes=0-3", "if-range": f"W/{etag}"})
    assert weak.status_code == 200  # If-Range needs a strong match


def test_file_response_if_range_date(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file))
    last_modified = client.get("/").headers["last-modified"]
    fresh = client.get("/", headers={"range": "bytes=1-2", "if-range": last_modified})
    assert (fresh.status_code, fresh.content) == (206, DATA[1:3])
    older = email.utils.formatdate(1_000_000_000, usegmt=True)
    stale = client.get("/", headers={"range": "bytes=1-2", "if-range": older})
    assert stale.status_code == 200


def test_file_response_range_ignored_for_post(data_file: Path) -> None:
    response = serve(lambda: FileResponse(data_file), methods=["POST"]).post(
        "/", headers={"range": "bytes=0-1"}
    )
    assert (response.status_code, response.content) == (200, DATA)


def test_file_response_custom_status_is_never_304_or_206(data_file: Path) -> None:
    client = serve(lambda: FileResponse(data_file, status_code=404))
    etag = client.get("/").headers["etag"]
    response = client.get("/", headers={"if-none-match": etag, "range": "bytes=0-1"})
    assert (response.status_code, response.content) == (404, DATA)


def test_file_response_can_be_sent_twice(data_file: Path) -> None:
    shared = FileResponse(data_file)
    client = serve(lambda: shared)
    assert client.get("/", headers={"range": "bytes=0-1"}).status_code == 206
    again = client.get("/")
    assert (again.status_code, again.content) == (200, DATA)
    assert "content-range" not in again.headers
    assert again.headers["content-length"] == "1024"


def test_file_response_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    response = serve(lambda: FileResponse(empty)).get("/", headers={"range": "bytes=0-"})
    assert (response.status_code, response.content, response.headers["content-length"]) == (200, b"", "0")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_file_response_fifo_is_404_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening this for reading would block until a writer came along
    response = serve(lambda: FileResponse(fifo)).get("/")
    assert response.status_code == 404


# --- how the bytes are sent -----------------------------------------------------------------------


class Server:
    """A fake ASGI server for one request, optionally offering zero-copy send as the spec describes."""

    def __init__(self, zerocopy: bool = False, disconnect_after: int | None = None) -> None:
        self.zerocopy = zerocopy
        self.disconnect_after = disconnect_after
        self.messages: list[dict[str, Any]] = []
        self.body = bytearray()
        self.body_messages = 0
        self.files: list[Any] = []
        self.gone = anyio.Event()
        self.request_sent = False

    def scope(self, headers: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
        return {
            "type": "http",
            "method": method,
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
            "extensions": {"http.response.zerocopysend": {}} if self.zerocopy else {},
        }

    async def receive(self) -> dict[str, Any]:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if message.get("body"):
                self.body_messages += 1
        elif message["type"] == "http.response.zerocopysend":
            assert self.zerocopy, "zero-copy send used although the server did not offer it"
            file = message["file"]
            self.files.append(file)
            assert not file.closed
            self.body += os.pread(file.fileno(), message["count"], message["offset"])
        if self.disconnect_after is not None and self.body_messages >= self.disconnect_after:
            self.gone.set()

    def run(self, response: Any, headers: dict[str, str] | None = None, method: str = "GET") -> None:
        async def main() -> None:
            with anyio.fail_after(30):  # a guard against a hang, not a timing assertion
                await response(self.scope(headers, method), self.receive, self.send)

        anyio.run(main)

    @property
    def start(self) -> dict[str, Any]:
        return self.messages[0]

    def header(self, name: bytes) -> bytes:
        return dict(self.start["headers"])[name]


def test_file_response_reads_in_64k_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    content = os.urandom(200 * 1024)
    path.write_bytes(content)
    server = Server()
    server.run(FileResponse(path))
    sizes = [len(m["body"]) for m in server.messages[1:] if m.get("body")]
    assert sizes == [65536, 65536, 65536, 8192]
    assert bytes(server.body) == content
    assert server.messages[-1]["more_body"] is False


@pytest.mark.skipif(not hasattr(os, "pread"), reason="the fake server reads with os.pread")
def test_file_response_uses_zerocopysend_when_offered(data_file: Path) -> None:
    server = Server(zerocopy=True)
    server.run(FileResponse(data_file))
    assert bytes(server.body) == DATA
    kinds = [m["type"] for m in server.messages]
    assert kinds == ["http.response.start", "http.response.zerocopysend", "http.response.body"]
    assert server.messages[1]["offset"] == 0 and server.messages[1]["count"] == 1024
    assert all(file.closed for file in server.files)  # the app closes the descriptor afterwards


@pytest.mark.skipif(not hasattr(os, "pread"), reason="the fake server reads with os.pread")
def test_file_response_zerocopysend_multi_range(data_file: Path) -> None:
    server = Server(zerocopy=True)
    server.run(FileResponse(data_file), headers={"range": "bytes=10-19,-5"})
    assert server.start["status"] == 206
    parts = parse_multipart(server.header(b"content-type").decode(), bytes(server.body))
    assert [data for _, data in parts] == [DATA[10:20], DATA[-5:]]
    assert int(server.header(b"content-length")) == len(server.body)
    offsets = [
        (m["offset"], m["count"]) for m in server.messages if m["type"] == "http.response.zerocopysend"
    ]
    assert offsets == [(10, 10), (1019, 5)]


def test_file_response_head_reads_nothing(data_file: Path) -> None:
    server = Server(zerocopy=True)
    server.run(FileResponse(data_file), method="HEAD")
    assert [m["type"] for m in server.messages] == ["http.response.start", "http.response.body"]
    assert server.body == b""
    assert server.header(b"content-length") == b"1024"


def test_file_response_stops_reading_when_client_disconnects(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(64 * 1024 * 64))  # 64 chunks
    server = Server(disconnect_after=2)
    server.run(FileResponse(path))
    assert 2 <= server.body_messages < 8


def test_file_response_last_modified_matches_mtime(data_file: Path) -> None:
    os.utime(data_file, (1_700_000_000, 1_700_000_000))
    server = Server()
    server.run(FileResponse(data_file))
    assert server.header(b"last-modified") == b"Tue, 14 Nov 2023 22:13:20 GMT"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_file_response_unreadable_file_is_404(data_file: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    data_file.chmod(0)
    response = serve(lambda: FileResponse(data_file)).get("/")
    assert response.status_code == 404
