"""Files, static files, streaming and SSE over a real ``covet run`` server, driven by the system curl.

One server runs for the whole module. Its app module lives in a temporary project directory and
the server is started from a different working directory, so the relative ``static_folder`` is
proven to resolve against the module, not the cwd.
"""

from __future__ import annotations

import email.utils
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server_processes import start_server, stop_server

CURL = shutil.which("curl")
COVET_SCRIPT = Path(sys.executable).parent / "covet"

pytestmark = pytest.mark.skipif(CURL is None, reason="these tests drive the system curl binary")

DATA = os.urandom(100_000)

APP_SOURCE = '''
from pathlib import Path

import anyio

from covet import Covet, EventSourceResponse, FileResponse, Request, ServerSentEvent, StreamingResponse
from covet.staticfiles import StaticFiles

HERE = Path(__file__).parent


class PingSpy:
    """Tells the /events handler when a keep-alive comment has gone out."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            pinged = scope["test.pinged"] = anyio.Event()

            async def spy(message):
                await send(message)
                if message.get("body") == b": ping\\n\\n":
                    pinged.set()

            return await self.app(scope, receive, spy)
        return await self.app(scope, receive, send)


app = Covet(static_folder="static")
app.add_middleware(PingSpy)
app.mount("/site", StaticFiles(directory=HERE / "site", html=True), name="site")


@app.get("/download")
def download():
    return FileResponse(HERE / "data.bin", filename="résumé 2024.bin")


@app.get("/stream")
async def stream(token: str):
    async def forever():
        try:
            while True:
                yield b"x" * 65536
        finally:
            (HERE / f"closed-{token}").write_text("closed")

    return StreamingResponse(forever(), media_type="application/octet-stream")


@app.get("/stream-sync")
def stream_sync(token: str):
    def forever():
        try:
            while True:
                yield b"y" * 65536
        finally:
            (HERE / f"closed-{token}").write_text("closed")

    return StreamingResponse(forever(), media_type="application/octet-stream")


@app.get("/events")
async def events(request: Request):
    pinged = request.scope["test.pinged"]

    async def feed():
        yield ServerSentEvent(data={"n": 1}, event="tick", id="1")
        await pinged.wait()  # the second event waits for a keep-alive, so one is always seen
        yield ServerSentEvent(data="line one\\nline two", event="done", id="2")

    return EventSourceResponse(feed(), ping_interval=0.05)
'''


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class Server:
    def __init__(self, base: str, project: Path) -> None:
        self.base = base
        self.project = project

    def curl(self, path: str, *args: str) -> Reply:
        """``curl -i`` the path exactly as written (``--path-as-is``): status, headers, body."""
        assert CURL is not None
        result = subprocess.run(
            [CURL, "-sS", "-i", "--path-as-is", "--max-time", "30", *args, self.base + path],
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        head, _, body = result.stdout.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Reply(int(status_line.split()[1]), headers, body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll until ``predicate()`` holds; only a failure to ever happen fails the test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("served")
    project = base / "project"
    (project / "static" / "css").mkdir(parents=True)
    (project / "site" / "guide").mkdir(parents=True)
    (base / "secret.txt").write_text("TOP SECRET")
    (project / "data.bin").write_bytes(DATA)
    (project / "static" / "css" / "app.css").write_text("body { color: #123456 }")
    (project / "static" / "leak.txt").symlink_to(base / "secret.txt")
    (project / "site" / "index.html").write_text("<h1>home</h1>")
    (project / "site" / "guide" / "index.html").write_text("<h1>guide</h1>")
    (project / "site" / "404.html").write_text("<h1>lost</h1>")
    (project / "site" / "leak.txt").symlink_to(base / "secret.txt")
    module = project / f"served_{uuid.uuid4().hex}.py"
    module.write_text(APP_SOURCE)
    cwd = base / "elsewhere"
    cwd.mkdir()
    port = _free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", str(module), "--port", str(port), "--no-access-log"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"covet run exited early: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        _wait_for(listening, f"covet run to listen on port {port}")
        yield Server(f"http://127.0.0.1:{port}", project)
    finally:
        _, stderr = stop_server(process, signal.SIGTERM)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


# --- FileResponse --------------------------------------------------------------------------------


def test_curl_file_with_validators_and_disposition(server: Server) -> None:
    reply = server.curl("/download")
    assert reply.status == 200
    assert reply.body == DATA
    assert reply.headers["content-length"] == str(len(DATA))
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["etag"].startswith('"')
    email.utils.parsedate_to_datetime(reply.headers["last-modified"])
    assert reply.headers["content-disposition"] == (
        "attachment; filename=\"resume 2024.bin\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.bin"
    )


def test_curl_head(server: Server) -> None:
    reply = server.curl("/download", "--head")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["content-length"] == str(len(DATA))


def test_curl_if_none_match_304(server: Server) -> None:
    etag = server.curl("/download", "--head").headers["etag"]
    reply = server.curl("/download", "-H", f"If-None-Match: {etag}")
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["etag"] == etag
    assert server.curl("/download", "-H", 'If-None-Match: "other"').status == 200


def test_curl_if_modified_since_304(server: Server) -> None:
    last_modified = server.curl("/download", "--head").headers["last-modified"]
    assert server.curl("/download", "-H", f"If-Modified-Since: {last_modified}").status == 304
    earlier = email.utils.formatdate(1_000_000_000, usegmt=True)
    assert server.curl("/download", "-H", f"If-Modified-Since: {earlier}").status == 200


def test_curl_single_range(server: Server) -> None:
    reply = server.curl("/download", "--range", "1000-1999")
    assert reply.status == 206
    assert reply.body == DATA[1000:2000]
    assert reply.headers["content-range"] == f"bytes 1000-1999/{len(DATA)}"
    assert reply.headers["content-length"] == "1000"


def test_curl_suffix_range(server: Server) -> None:
    reply = server.curl("/download", "--range", "-100")
    assert (reply.status, reply.body) == (206, DATA[-100:])


def test_curl_resume_download(server: Server) -> None:
    reply = server.curl("/download", "--continue-at", "99000")
    assert reply.status == 206
    assert reply.body == DATA[99000:]


def test_curl_multi_range(server: Server) -> None:
    reply = server.curl("/download", "--range", "0-9,500-599,-5")
    assert reply.status == 206
    assert reply.headers["content-length"] == str(len(reply.body))
    media, _, boundary = reply.headers["content-type"].partition("; boundary=")
    assert media == "multipart/byteranges"
    delimiter = b"--" + boundary.encode()
    assert reply.body.endswith(b"\r\n" + delimiter + b"--\r\n")
    parts = reply.body[: -len(b"\r\n" + delimiter + b"--\r\n")].split(delimiter + b"\r\n")[1:]
    found = []
    for part in parts:
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        assert b"Content-Type: application/octet-stream" in head
        found.append((head.split(b"Content-Range: ")[1].decode(), data))
    size = len(DATA)
    assert found == [
        (f"bytes 0-9/{size}", DATA[:10]),
        (f"bytes 500-599/{size}", DATA[500:600]),
        (f"bytes {size - 5}-{size - 1}/{size}", DATA[-5:]),
    ]


def test_curl_unsatisfiable_range_416(server: Server) -> None:
    reply = server.curl("/download", "--range", "200000-")
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{len(DATA)}"


def test_curl_if_range(server: Server) -> None:
    etag = server.curl("/download", "--head").headers["etag"]
    fresh = server.curl("/download", "--range", "0-4", "-H", f"If-Range: {etag}")
    assert (fresh.status, fresh.body) == (206, DATA[:5])
    stale = server.curl("/download", "--range", "0-4", "-H", 'If-Range: "previous-version"')
    assert (stale.status, stale.body) == (200, DATA)


def test_curl_too_many_ranges_get_the_whole_file(server: Server) -> None:
    ranges = ",".join(f"{n * 10}-{n * 10}" for n in range(101))
    reply = server.curl("/download", "--range", ranges)
    assert (reply.status, reply.body) == (200, DATA)


def test_curl_overlapping_ranges_get_the_whole_file(server: Server) -> None:
    reply = server.curl("/download", "--range", ",".join(["0-99999"] * 10))
    assert (reply.status, reply.body) == (200, DATA)


# --- static files ---------------------------------------------------------------------------------


def test_curl_static_folder_is_relative_to_the_app_module(server: Server) -> None:
    reply = server.curl("/static/css/app.css")
    assert reply.status == 200
    assert reply.body == b"body { color: #123456 }"
    assert reply.headers["content-type"] == "text/css; charset=utf-8"


def test_curl_static_conditional_and_range(server: Server) -> None:
    etag = server.curl("/static/css/app.css").headers["etag"]
    assert server.curl("/static/css/app.css", "-H", f"If-None-Match: {etag}").status == 304
    ranged = server.curl("/static/css/app.css", "--range", "0-3,-2")
    assert ranged.status == 206
    assert b"Content-Range: bytes 0-3/23\r\n\r\nbody\r\n" in ranged.body
    assert b"Content-Range: bytes 21-22/23\r\n\r\n }\r\n" in ranged.body


def test_curl_static_mount_with_html(server: Server) -> None:
    assert server.curl("/site/").body == b"<h1>home</h1>"
    assert server.curl("/site/guide/").body == b"<h1>guide</h1>"
    redirect = server.curl("/site/guide")
    assert (redirect.status, redirect.headers["location"]) == (307, "/site/guide/")
    missing = server.curl("/site/nowhere.html")
    assert (missing.status, missing.body) == (404, b"<h1>lost</h1>")


HOSTILE = {
    "dotdot": "/static/../secret.txt",
    "dotdot-deep": "/static/css/../../secret.txt",
    "encoded-dotdot": "/static/%2e%2e/secret.txt",
    "encoded-dotdot-upper": "/static/%2E%2E/%2E%2E/secret.txt",
    "double-encoded-dotdot": "/static/%252e%252e/secret.txt",
    "encoded-slash": "/static/..%2fsecret.txt",
    "encoded-slash-inside": "/static/css%2fapp.css",
    "encoded-backslash": "/static/..%5csecret.txt",
    "backslash": "/static/..\\secret.txt",
    "drive-letter": "/static/C:/Windows/win.ini",
    "drive-letter-encoded": "/static/c:%5cboot.ini",
    "nul": "/static/css/app.css%00.png",
    "symlink-outside": "/static/leak.txt",
    "absolute": "/static//etc/passwd",
}


@pytest.mark.parametrize("path", list(HOSTILE.values()), ids=list(HOSTILE))
def test_curl_static_hostile_paths_404(server: Server, path: str) -> None:
    reply = server.curl(path)
    assert (reply.status, reply.body) == (404, b'{"detail":"Not Found"}')


@pytest.mark.parametrize("path", list(HOSTILE.values()), ids=list(HOSTILE))
def test_curl_mounted_static_hostile_paths_404(server: Server, path: str) -> None:
    reply = server.curl(path.replace("/static/", "/site/", 1))
    assert (reply.status, reply.body) == (404, b"<h1>lost</h1>")  # the mount's own 404.html


# --- streaming and server-sent events ------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/stream", "/stream-sync"])
def test_streaming_stops_when_the_client_disconnects(server: Server, endpoint: str) -> None:
    token = uuid.uuid4().hex
    marker = server.project / f"closed-{token}"
    port = int(server.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {endpoint}?token={token} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        received = 0
        while received < 300_000:  # a few chunks: the stream is flowing
            chunk = sock.recv(65536)
            assert chunk, "the server closed the stream early"
            received += len(chunk)
    # The generator is endless; only a noticed disconnect ends it (and runs its finally).
    _wait_for(marker.exists, f"the {endpoint} generator to be closed after the client left")


def test_curl_event_stream(server: Server) -> None:
    reply = server.curl("/events", "--no-buffer")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-accel-buffering"] == "no"
    first = b'id: 1\nevent: tick\ndata: {"n":1}\n\n'
    last = b"id: 2\nevent: done\ndata: line one\ndata: line two\n\n"
    assert reply.body.startswith(first)
    assert reply.body.endswith(last)
    pings = reply.body[len(first) : -len(last)]
    assert pings and pings.replace(b": ping\n\n", b"") == b""
