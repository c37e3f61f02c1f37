"""Forms and uploads through the app: limits per app and per route, slow and vanishing clients, memory.

The ordinary cases go through ``TestClient``; the ones that need control over how the body arrives
(chunk by chunk, slowly, never, or followed by a disconnect) drive the ASGI app directly.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import anyio
import pytest
from server_processes import start_server, stop_server

from covet import Blueprint, Body, Covet, File, Form, FormLimits, Request, UploadFile
from covet.exceptions import ClientDisconnect
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")

Receive = Callable[[], Awaitable[dict[str, Any]]]

BOUNDARY = "xyz"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"


# --- helpers --------------------------------------------------------------------------------------


def part(name: str, content: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class Result:
    """What the app sent back to a hand-driven request, and how often it asked for the body."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.receive_calls = 0
        self.error: BaseException | None = None

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"))


def scope_for(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


def drive(
    app: Covet,
    receive: Receive,
    *,
    path: str = "/",
    content_type: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    backend: str = "asyncio",
) -> Result:
    """Call ``app`` once with a hand-written ``receive``; the app may not take longer than 10 s."""
    if backend == "trio":
        pytest.importorskip("trio")
    result = Result()
    all_headers = list(headers or [])
    if content_type is not None:
        all_headers.append((b"content-type", content_type.encode()))

    async def counting_receive() -> dict[str, Any]:
        result.receive_calls += 1
        return await receive()

    async def send(message: dict[str, Any]) -> None:
        result.messages.append(message)

    async def main() -> None:
        with anyio.fail_after(10):
            await app(scope_for(path, all_headers), counting_receive, send)

    anyio.run(main, backend=backend)
    return result


#: The body timeout has one mechanism for asyncio and another for every other event loop.
BACKENDS = ["asyncio", "trio"]


def chunks_then(chunks: list[bytes], end: str = "complete") -> Receive:
    """The body as ``chunks``; then the request is ``complete``, the client ``disconnect``s, or ``stall``s."""
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or end != "complete"}
        if end == "disconnect":
            return {"type": "http.disconnect"}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    return receive


def pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


class SpoolRecorder:
    """Stands in for SpooledTemporaryFile and remembers every upload file the app made."""

    def __init__(self) -> None:
        self.files: list[Any] = []
        self.real = tempfile.SpooledTemporaryFile

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        file = self.real(*args, **kwargs)
        self.files.append(file)
        return file

    def rolled(self) -> list[Any]:
        return [file for file in self.files if file._rolled]


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch) -> Iterator[SpoolRecorder]:
    recorder = SpoolRecorder()
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", recorder)
    yield recorder
    gc.collect()  # a leaked file's ResourceWarning fails the test that leaked it


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


def upload_app(**route_options: Any) -> Covet:
    """``POST /`` takes one file ``f`` and reports it; ``route_options`` go on the route."""
    app = Covet()

    @app.post("/", **route_options)
    async def take(f: UploadFile) -> dict[str, Any]:
        return {"size": f.size, "name": f.filename}

    return app


def form_app(**route_options: Any) -> Covet:
    """``POST /`` parses the form and counts its entries; ``route_options`` go on the route."""
    app = Covet()

    @app.post("/", **route_options)
    async def count(request: Request) -> dict[str, int]:
        return {"n": len((await request.form()).multi_items())}

    return app


# --- binding and lifetime -------------------------------------------------------------------------


def test_form_and_file_markers_bind_fields_files_and_lists() -> None:
    app = Covet()

    @app.post("/")
    async def handler(
        title: Annotated[str, Form()],
        count: Annotated[int, Form()],
        docs: Annotated[list[UploadFile], File()],
        raw: Annotated[bytes, File()],
    ) -> dict[str, Any]:
        return {
            "title": title,
            "count": count,
            "docs": [(doc.filename, doc.content_type, (await doc.read()).decode()) for doc in docs],
            "raw": raw.decode(),
        }

    with TestClient(app) as client:
        response = client.post(
            "/",
            data={"title": "t", "count": "3"},
            files=[("docs", ("a.txt", b"A", "text/plain")), ("docs", ("b.csv", b"B", "text/csv")), ("raw", ("r", b"R"))],
        )
        assert response.json() == {
            "title": "t",
            "count": 3,
            "docs": [["a.txt", "text/plain", "A"], ["b.csv", "text/csv", "B"]],
            "raw": "R",
        }
        bad = client.post("/", data={"title": "t", "count": "many"}, files={"docs": ("a", b""), "raw": ("r", b"")})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "count"]


def test_sync_handler_reads_the_upload_through_its_file() -> None:
    app = Covet()

    @app.post("/")
    def handler(f: UploadFile) -> dict[str, Any]:
        return {"head": f.file.read(3).decode(), "size": f.size}

    with TestClient(app) as client:
        assert client.post("/", files={"f": ("a.txt", b"abcdef")}).json() == {"head": "abc", "size": 6}


def test_uploads_are_closed_and_deleted_when_the_request_ends(spools: SpoolRecorder) -> None:
    app = Covet(form_limits=FormLimits(spool_max_memory=10))
    seen: list[UploadFile] = []

    @app.post("/")
    async def handler(files: Annotated[list[UploadFile], File()]) -> int:
        seen.extend(files)
        return sum(f.size for f in files)

    with TestClient(app) as client:
        response = client.post("/", files=[("files", ("a", b"x" * 100)), ("files", ("b", b"y" * 5))])
    assert response.json() == 105
    assert [f.closed for f in seen] == [True, True]
    assert len(spools.rolled()) == 1  # the big one went to disk, the small one stayed in memory
    assert all(file.closed for file in spools.files)


def test_request_form_is_parsed_once_and_cached() -> None:
    app = Covet()

    @app.post("/")
    async def handler(request: Request, name: Annotated[str, Form()]) -> bool:
        return (await request.form()) is (await request.form()) and name == "x"

    assert TestClient(app).post("/", data={"name": "x"}).json() is True


# --- limits: app, route, blueprint ------------------------------------------------------------------


def test_app_form_limits_apply_to_every_route() -> None:
    app = Covet(form_limits=FormLimits(max_fields=2))

    @app.post("/a")
    async def a(request: Request) -> int:
        return len(await request.form())

    client = TestClient(app)
    assert client.post("/a", data={"x": "1", "y": "2"}).json() == 2
    response = client.post("/a", data={"x": "1", "y": "2", "z": "3"})
    assert response.status_code == 400
    assert "max_fields (2)" in response.json()["detail"]


def test_route_options_override_the_app_limits() -> None:
    app = Covet(max_body_size=400, form_limits=FormLimits(max_files=1, max_multipart_size=400))

    @app.post("/strict", form_limits=FormLimits(max_files=0))
    async def strict(request: Request) -> int:
        return len((await request.form()).multi_items())

    @app.post("/roomy", max_body_size=10_000, form_limits=app.form_limits.replace(max_files=3, max_multipart_size=10_000))
    async def roomy(request: Request) -> int:
        return len((await request.form()).multi_items())

    @app.post("/default")
    async def default(request: Request) -> int:
        return len((await request.form()).multi_items())

    client = TestClient(app)
    three = [("f", ("a", b"1")), ("f", ("b", b"2")), ("f", ("c", b"3"))]
    assert client.post("/roomy", files=three).json() == 3
    assert client.post("/default", files=three[:1]).json() == 1
    assert client.post("/default", files={"f": ("a", b"x" * 400)}).status_code == 413  # the app's 400 bytes
    assert client.post("/default", data={"a": "x" * 400}).status_code == 413  # urlencoded: max_body_size
    assert client.post("/default", files=three[:2]).status_code == 400  # the app's max_files=1
    assert client.post("/strict", files=three[:1]).status_code == 400


def test_route_max_body_size_none_lifts_the_limit() -> None:
    app = Covet(max_body_size=10)

    @app.post("/", max_body_size=None)
    async def handler(request: Request) -> int:
        return len(await request.body())

    assert TestClient(app).post("/", content=b"x" * 100_000).json() == 100_000


def test_blueprint_routes_take_body_options() -> None:
    bp = Blueprint("files", url_prefix="/files")

    @bp.post("/", max_body_size=20, form_limits=FormLimits(max_fields=1))
    async def take(request: Request) -> int:
        return len(await request.form())

    app = Covet()
    app.register_blueprint(bp)
    client = TestClient(app)
    assert client.post("/files/", data={"a": "1"}).json() == 1
    assert client.post("/files/", data={"a": "1", "b": "2"}).status_code == 400
    assert client.post("/files/", data={"a": "1" * 30}).status_code == 413


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("max_body_size", -1, ValueError),
        ("max_body_size", "1MB", ValueError),
        ("form_limits", {"max_files": 1}, TypeError),
        ("body_timeout", 0, ValueError),
        ("body_timeout", "60", ValueError),
    ],
)
def test_invalid_body_options_are_refused_at_decoration(option: str, value: Any, error: type[Exception]) -> None:
    for scaffold in (Covet(), Blueprint("bp")):
        with pytest.raises(error, match=option):
            scaffold.post("/", **{option: value})
    with pytest.raises(error, match=option):
        Covet(**{option: value})


# --- every limit, at the limit and one past it -------------------------------------------------------

LIMIT_CASES = [
    # (limit, route limits, body at the limit, body one past it, content type, status past it)
    ("max_fields", FormLimits(max_fields=3), multipart(*[part("a", b"1")] * 3), multipart(*[part("a", b"1")] * 4), MULTIPART, 400),
    ("max_files", FormLimits(max_files=2), multipart(*[part("f", b"1", "a")] * 2), multipart(*[part("f", b"1", "a")] * 3), MULTIPART, 400),
    ("max_field_size", FormLimits(max_field_size=10), multipart(part("a", b"v" * 10)), multipart(part("a", b"v" * 11)), MULTIPART, 413),
    ("max_file_size", FormLimits(max_file_size=10), multipart(part("f", b"v" * 10, "a")), multipart(part("f", b"v" * 11, "a")), MULTIPART, 413),
    (
        "max_part_headers",
        FormLimits(max_part_headers=2),
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\nX-A: 1\r\n\r\nv\r\n--xyz--\r\n',
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\nX-A: 1\r\nX-B: 2\r\n\r\nv\r\n--xyz--\r\n',
        MULTIPART,
        400,
    ),
    (
        "max_header_size",
        FormLimits(max_header_size=46),
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\nX: 1\r\n\r\nv\r\n--xyz--\r\n',
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\nX: 12\r\n\r\nv\r\n--xyz--\r\n',
        MULTIPART,
        413,
    ),
    (
        "max_form_memory_size",
        FormLimits(max_form_memory_size=10),
        multipart(part("a", b"v" * 5), part("b", b"v" * 5), part("f", b"v" * 100, "a")),
        multipart(part("a", b"v" * 5), part("b", b"v" * 6)),
        MULTIPART,
        413,
    ),
    ("max_fields (urlencoded)", FormLimits(max_fields=3), b"a=1&b=2&c=3", b"a=1&b=2&c=3&d=4", URLENCODED, 400),
    ("max_form_memory_size (urlencoded)", FormLimits(max_form_memory_size=7), b"a=1&b=12", b"a=1&b=123", URLENCODED, 413),
    ("max_field_size (urlencoded)", FormLimits(max_field_size=5), b"a=123&b=1", b"a=1234&b=1", URLENCODED, 413),
]


@pytest.mark.parametrize(
    ("limit", "limits", "at_limit", "past_limit", "content_type", "status"),
    LIMIT_CASES,
    ids=[case[0] for case in LIMIT_CASES],
)
def test_each_form_limit_at_the_limit_and_one_past_it(
    limit: str, limits: FormLimits, at_limit: bytes, past_limit: bytes, content_type: str, status: int
) -> None:
    client = TestClient(form_app(form_limits=limits))
    ok = client.post("/", content=at_limit, headers={"content-type": content_type})
    assert ok.status_code == 200, ok.text
    refused = client.post("/", content=past_limit, headers={"content-type": content_type})
    assert refused.status_code == status
    name = limit.split()[0]
    assert f"{name} ({getattr(limits, name)}" in refused.json()["detail"]


def test_boundary_exactly_at_max_boundary_length_and_one_past_it() -> None:
    client = TestClient(form_app(form_limits=FormLimits(max_boundary_length=8)))
    for boundary, status in (("b" * 8, 200), ("b" * 9, 400)):
        body = f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{boundary}--\r\n'
        response = client.post("/", content=body.encode(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert response.status_code == status
    assert "max_boundary_length (8 characters)" in response.json()["detail"]


def test_multipart_body_exactly_at_max_multipart_size_and_one_past_it() -> None:
    body = multipart(part("a", b"v"))
    client = TestClient(form_app(form_limits=FormLimits(max_multipart_size=len(body))))
    assert client.post("/", content=body, headers={"content-type": MULTIPART}).json() == {"n": 1}
    refused = client.post("/", content=body + b"x", headers={"content-type": MULTIPART})
    assert refused.status_code == 413
    assert refused.json() == {
        "detail": f"Multipart body exceeds max_multipart_size ({len(body)} bytes); raise it with "
        "form_limits=FormLimits(max_multipart_size=...) on the app or the route."
    }


def test_urlencoded_body_exactly_at_max_body_size_and_one_past_it() -> None:
    body = b"a=" + b"v" * 20
    client = TestClient(form_app(max_body_size=len(body)))
    assert client.post("/", content=body, headers={"content-type": URLENCODED}).json() == {"n": 1}
    refused = client.post("/", content=body + b"x", headers={"content-type": URLENCODED})
    assert refused.status_code == 413
    assert refused.json() == {
        "detail": f"Request body exceeds max_body_size ({len(body)} bytes); raise it with "
        "Covet(max_body_size=...) or the route option max_body_size=."
    }


def test_phone_photo_upload_of_3_mb_works_with_default_limits() -> None:
    # A 3 MB file used to get 413 from the 1 MiB max_body_size although max_file_size is 100 MiB.
    photo = os.urandom(3 * 1000 * 1000)
    response = TestClient(upload_app()).post("/", files={"f": ("IMG_0001.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json() == {"size": len(photo), "name": "IMG_0001.jpg"}


def test_many_large_fields_cannot_hold_more_than_max_form_memory_size() -> None:
    # With max_body_size no longer bounding multipart, 1,000 fields of 1 MiB each could have held
    # 1 GB in memory; the fields' total budget stops them at 2 MiB, after reading little more.
    field = b"v" * (1024 * 1024 - 100)

    def body() -> Iterator[bytes]:  # made as it is read: the test does not hold 1 GB either
        for i in range(1000):
            yield from pieces(part(f"f{i}", field), 64 * 1024)
        yield b"--xyz--\r\n"

    chunks = body()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    result = drive(form_app(), receive, content_type=MULTIPART)
    assert result.status == 413
    assert result.receive_calls <= 2 * 16 + 2  # about 2 MiB read of the 1 GB
    assert "max_form_memory_size (2097152 bytes)" in result.json()["detail"]


def test_upload_over_max_multipart_size_is_refused_before_the_excess_is_read() -> None:
    body = multipart(part("f", b"d" * 1000, "a.bin"))
    app = upload_app(form_limits=FormLimits(max_multipart_size=300))
    result = drive(app, chunks_then(pieces(body, 100)), content_type=MULTIPART)
    assert result.status == 413
    assert result.receive_calls == 4  # 400 bytes read, not 1000


def test_declared_length_over_max_multipart_size_is_refused_without_reading() -> None:
    body = multipart(part("f", b"d" * 1000, "a.bin"))
    length = [(b"content-length", str(len(body)).encode())]
    app = upload_app(form_limits=FormLimits(max_multipart_size=300))
    result = drive(app, chunks_then([body]), content_type=MULTIPART, headers=length)
    assert result.status == 413
    assert result.receive_calls == 0


def test_max_body_size_still_bounds_a_multipart_body_read_whole() -> None:
    # request.body() holds the body in memory: max_body_size applies whatever the content type.
    app = Covet(max_body_size=100)

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())

    body = multipart(part("f", b"d" * 1000, "a.bin"))
    response = TestClient(app).post("/", content=body, headers={"content-type": MULTIPART})
    assert response.status_code == 413
    assert "max_body_size (100 bytes)" in response.json()["detail"]


@pytest.mark.parametrize(
    ("limits", "body"),
    [
        (FormLimits(max_file_size=150), multipart(part("f", b"d" * 1000, "a.bin"))),
        (FormLimits(max_field_size=150), multipart(part("f", b"d" * 1000))),
        (FormLimits(max_fields=2), multipart(*[part("f", b"d" * 90)] * 10)),
        (FormLimits(max_field_size=150), b"a=" + b"d" * 1000),
    ],
    ids=["file", "field", "fields", "urlencoded"],
)
def test_form_over_a_limit_is_refused_before_the_excess_is_read(limits: FormLimits, body: bytes) -> None:
    content_type = MULTIPART if body.startswith(b"--") else URLENCODED
    result = drive(form_app(form_limits=limits), chunks_then(pieces(body, 100)), content_type=content_type)
    assert result.status in (400, 413)
    assert result.receive_calls <= 4  # refused within the chunk that broke the limit


def test_upload_refused_midway_closes_its_spooled_file(spools: SpoolRecorder) -> None:
    body = multipart(part("f", b"d" * 1000, "a.bin"))
    app = upload_app(form_limits=FormLimits(max_file_size=500, spool_max_memory=100))
    result = drive(app, chunks_then(pieces(body, 100)), content_type=MULTIPART)
    assert result.status == 413
    assert len(spools.rolled()) == 1
    assert all(file.closed for file in spools.files)


# --- hostile filenames through the app ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "kept"),
    [
        (b'filename="../../etc/passwd"', "passwd"),
        (b'filename="..\\..\\win.ini"', "win.ini"),
        (b'filename="C:\\x\\y.txt"', "y.txt"),
        (b'filename="nul\x00byte.txt"', "nulbyte.txt"),
        (b'filename="bell\x07\x1b.txt"', "bell.txt"),
        (b'filename=""', ""),
        (b"filename*=UTF-8''%E2%82%AC%2F..%2Frates.txt", "rates.txt"),
    ],
)
def test_hostile_upload_filenames_are_reduced_to_a_safe_basename(disposition: bytes, kept: str) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="f"; ' + disposition + b"\r\n\r\ndata\r\n--xyz--\r\n"
    response = TestClient(upload_app()).post("/", content=body, headers={"content-type": MULTIPART})
    assert response.json() == {"size": 4, "name": kept}


# --- slow clients -------------------------------------------------------------------------------------


def dribble(chunk: bytes, every: float) -> Receive:
    """A client that sends ``chunk`` every ``every`` seconds and never finishes."""

    async def receive() -> dict[str, Any]:
        await anyio.sleep(every)
        return {"type": "http.request", "body": chunk, "more_body": True}

    return receive


@pytest.mark.parametrize("backend", BACKENDS)
def test_dribbling_upload_is_ended_with_408(backend: str) -> None:
    # Each byte arrives well within the timeout; the body as a whole does not.
    app = upload_app(body_timeout=0.2, max_body_size=None)
    result = drive(app, dribble(b"x", 0.01), content_type=MULTIPART, backend=backend)
    assert result.status == 408
    assert result.json() == {"detail": "Request body not received within body_timeout (0.2 s)."}
    assert result.receive_calls > 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_stalled_client_is_ended_with_408(backend: str) -> None:
    app = Covet(body_timeout=0.1)

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())  # pragma: no cover

    result = drive(app, chunks_then([b"partial"], end="stall"), backend=backend)
    assert result.status == 408
    assert "body_timeout" in result.json()["detail"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_stalled_client_is_ended_with_408_when_no_request_object_reads_the_body(backend: str) -> None:
    # A handler taking a JSON body and no Request: the app reads the body itself (read_body).
    app = Covet(body_timeout=0.1)

    @app.post("/")
    async def handler(items: Annotated[list[int], Body()]) -> int:
        return len(items)  # pragma: no cover

    result = drive(app, chunks_then([b"[1,"], end="stall"), content_type="application/json", backend=backend)
    assert result.status == 408
    assert "body_timeout" in result.json()["detail"]


def test_route_body_limits_apply_when_no_request_object_reads_the_body() -> None:
    app = Covet(body_timeout=None, max_body_size=None)

    @app.post("/slow", body_timeout=0.05)
    async def slow(items: Annotated[list[int], Body()]) -> int:
        return len(items)  # pragma: no cover

    @app.post("/small", max_body_size=4)
    async def small(items: Annotated[list[int], Body()]) -> int:
        return len(items)

    assert drive(app, chunks_then([b"[1,"], end="stall"), path="/slow", content_type="application/json").status == 408
    big = drive(app, chunks_then([b"[1,2]"]), path="/small", content_type="application/json")
    assert big.status == 413
    assert drive(app, chunks_then([b"[1]"]), path="/small", content_type="application/json").json() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_client_that_never_sends_a_body_is_ended_with_408(backend: str) -> None:
    app = form_app(body_timeout=0.1)
    result = drive(app, chunks_then([], end="stall"), content_type=URLENCODED, backend=backend)
    assert result.status == 408


@pytest.mark.parametrize("backend", BACKENDS)
def test_slow_upload_timeout_closes_its_spooled_file(spools: SpoolRecorder, backend: str) -> None:
    head = part("f", b"d" * 300, "a.bin")[:-2]
    app = upload_app(body_timeout=0.1, form_limits=FormLimits(spool_max_memory=100))
    result = drive(app, chunks_then(pieces(head, 100), end="stall"), content_type=MULTIPART, backend=backend)
    assert result.status == 408
    assert len(spools.rolled()) == 1
    assert all(file.closed for file in spools.files)


def test_body_timeout_none_waits_for_a_slow_body() -> None:
    app = Covet(body_timeout=0.05)

    @app.post("/", body_timeout=None)
    async def handler(request: Request) -> int:
        return len(await request.body())

    sent = [False]

    async def slow() -> dict[str, Any]:
        if sent[0]:
            await anyio.sleep_forever()  # pragma: no cover
        await anyio.sleep(0.2)
        sent[0] = True
        return {"type": "http.request", "body": b"late", "more_body": False}

    assert drive(app, slow).json() == 4


def test_route_body_timeout_overrides_the_app() -> None:
    app = Covet(body_timeout=None)

    @app.post("/", body_timeout=0.05)
    async def handler(request: Request) -> int:
        return len(await request.body())  # pragma: no cover

    assert drive(app, chunks_then([b"x"], end="stall")).status == 408


@pytest.mark.parametrize("backend", BACKENDS)
def test_body_timeout_applies_to_request_stream_too(backend: str) -> None:
    app = Covet(body_timeout=0.1)

    @app.post("/")
    async def handler(request: Request) -> int:
        return sum([len(chunk) async for chunk in request.stream()])  # pragma: no cover

    assert drive(app, dribble(b"x", 0.01), backend=backend).status == 408


@pytest.mark.parametrize("backend", BACKENDS)
def test_body_that_is_already_there_is_read_under_the_timeout(backend: str) -> None:
    app = Covet(body_timeout=0.05)

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())

    assert drive(app, chunks_then([b"a", b"bc", b"def"]), backend=backend).json() == 6


def test_body_timeout_works_when_receive_opens_its_own_cancel_scope() -> None:
    # Middleware often wraps receive() in task groups or cancel scopes of its own; the timeout
    # must end such a receive cleanly, not corrupt the scope stack.
    app = Covet(body_timeout=0.1)

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())  # pragma: no cover

    async def wrapped() -> dict[str, Any]:
        async with anyio.create_task_group():
            with anyio.CancelScope():
                await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    assert drive(app, wrapped).status == 408


def test_receive_with_its_own_cancel_scope_that_waits_a_little_is_read() -> None:
    app = Covet(body_timeout=5)

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())

    chunks = [b"ab", b"cd"]

    async def wrapped() -> dict[str, Any]:
        with anyio.CancelScope():
            await anyio.sleep(0.01)
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    assert drive(app, wrapped).json() == 4


def test_body_timeout_leaves_other_cancellations_alone() -> None:
    # A request cancelled from outside while its body is late stays cancelled: no 408 is sent.
    app = Covet(body_timeout=0.05)
    sent: list[dict[str, Any]] = []

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())  # pragma: no cover

    async def stall() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)  # pragma: no cover

    async def main() -> None:
        with anyio.move_on_after(0.01):
            await app(scope_for("/", []), stall, send)

    anyio.run(main)
    assert sent == []


def test_reads_on_one_loop_each_keep_their_own_deadline() -> None:
    # All body reads of an asyncio loop share one timer (covet._deadlines). A long deadline
    # registered first must not delay a shorter one, nor may the shorter one end the longer read.
    import asyncio

    app = Covet(body_timeout=5)

    @app.post("/short", body_timeout=0.05)
    async def short(request: Request) -> int:
        return len(await request.body())  # pragma: no cover

    @app.post("/long")
    async def long(request: Request) -> int:
        return len(await request.body())

    def arriving_after(delay: float) -> Receive:
        async def receive() -> dict[str, Any]:
            await asyncio.sleep(delay)
            return {"type": "http.request", "body": b"abc", "more_body": False}

        return receive

    async def status_of(path: str, receive: Receive) -> int:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope_for(path, []), receive, send)
        return statuses[0]

    async def main() -> list[int]:
        long_read = asyncio.ensure_future(status_of("/long", arriving_after(0.2)))
        await asyncio.sleep(0.01)  # the long deadline is registered (and the timer armed) first
        return [await status_of("/short", arriving_after(10)), await long_read]

    started = time.monotonic()
    assert asyncio.run(main()) == [408, 200]
    assert time.monotonic() - started < 2


# --- disconnects --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_disconnect_mid_upload_removes_the_spooled_files(spools: SpoolRecorder, backend: str) -> None:
    ran: list[bool] = []
    app = Covet(form_limits=FormLimits(spool_max_memory=100))

    @app.post("/")
    async def handler(first: UploadFile, second: UploadFile) -> None:
        ran.append(True)  # pragma: no cover

    body = part("first", b"a" * 500, "a.bin") + part("second", b"b" * 500, "b.bin")
    fds_before = open_fds()
    result = drive(app, chunks_then(pieces(body, 64), end="disconnect"), content_type=MULTIPART, backend=backend)
    assert result.messages == []  # nobody to answer
    assert ran == []
    assert len(spools.rolled()) == 2
    assert all(file.closed for file in spools.files)
    assert open_fds() <= fds_before


def test_handler_sees_a_disconnect_as_client_disconnect(spools: SpoolRecorder) -> None:
    seen: list[str] = []
    app = Covet(form_limits=FormLimits(spool_max_memory=10))

    @app.post("/")
    async def handler(request: Request) -> None:
        try:
            await request.form()
        except ClientDisconnect:
            seen.append("disconnect")
            assert await request.is_disconnected()
            raise

    drive(app, chunks_then(pieces(part("f", b"x" * 100, "a"), 30), end="disconnect"), content_type=MULTIPART)
    assert seen == ["disconnect"]
    assert all(file.closed for file in spools.files)


def test_cancelled_upload_removes_the_spooled_files(spools: SpoolRecorder) -> None:
    # A server that cancels the request task (the client went away) must not leak the temp files.
    app = upload_app(form_limits=FormLimits(spool_max_memory=100))
    rolled = anyio.Event()
    head = part("f", b"d" * 1000, "a.bin")[:-2]
    pending = pieces(head, 200)

    async def receive() -> dict[str, Any]:
        if pending:
            return {"type": "http.request", "body": pending.pop(0), "more_body": True}
        rolled.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError(f"nothing should be sent, got {message}")  # pragma: no cover

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(app, scope_for("/", [(b"content-type", MULTIPART.encode())]), receive, send)
            await rolled.wait()
            group.cancel_scope.cancel()

    anyio.run(main)
    assert len(spools.rolled()) == 1
    assert all(file.closed for file in spools.files)


def test_is_disconnected_is_false_while_the_client_waits() -> None:
    app = Covet()

    @app.get("/")
    async def handler(request: Request) -> bool:
        return await request.is_disconnected()

    assert TestClient(app).get("/").json() is False


def test_is_disconnected_sees_a_waiting_disconnect() -> None:
    app = Covet()
    seen: list[bool] = []

    @app.post("/")
    async def handler(request: Request) -> None:
        await request.body()
        seen.append(await request.is_disconnected())
        seen.append(await request.is_disconnected())

    messages = [{"type": "http.request", "body": b"abc", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    drive(app, receive)
    assert seen == [True, True]


def test_is_disconnected_keeps_a_body_chunk_it_finds_for_the_stream() -> None:
    app = Covet()

    @app.post("/")
    async def handler(request: Request) -> dict[str, Any]:
        first = await request.is_disconnected()
        again = await request.is_disconnected()
        return {"disconnected": [first, again], "body": (await request.body()).decode()}

    result = drive(app, chunks_then([b"ab", b"cd"]))
    assert result.json() == {"disconnected": [False, False], "body": "abcd"}


def test_disconnect_seen_by_is_disconnected_ends_a_later_body_read() -> None:
    app = Covet()
    seen: list[Any] = []

    @app.post("/")
    async def handler(request: Request) -> None:
        seen.append(await request.is_disconnected())
        try:
            await request.body()
        except ClientDisconnect:
            seen.append("ClientDisconnect")
            raise

    drive(app, chunks_then([], end="disconnect"))
    assert seen == [True, "ClientDisconnect"]


# --- a 100 MB upload in bounded memory --------------------------------------------------------------------

MEMORY_SCRIPT = textwrap.dedent(
    '''
    import gc, json, sys, zlib

    import anyio

    from covet import Covet, FormLimits, UploadFile

    SIZE = int(sys.argv[1])
    CHUNK = 64 * 1024


    def memory():
        values = {}
        with open("/proc/self/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(value.split()[0]) * 1024
        return values


    app = Covet(max_body_size=SIZE + 1000, form_limits=FormLimits(max_file_size=SIZE))


    @app.post("/upload")
    async def upload(f: UploadFile):
        crc = 0
        while block := await f.read(1024 * 1024):
            crc = zlib.crc32(block, crc)
        return {"size": f.size, "crc": crc, "on_disk": bool(f.file._rolled)}


    BLOCK = bytes(range(256)) * (CHUNK // 256)
    HEAD = b'--b\\r\\nContent-Disposition: form-data; name="f"; filename="big.bin"\\r\\n\\r\\n'


    async def send_upload(size):
        """Stream the upload through receive() in 64 KiB chunks, made as they are asked for."""
        state = {"sent": -1, "crc": 0}
        reply = {}

        async def receive():
            sent = state["sent"]
            if sent < 0:
                state["sent"] = 0
                return {"type": "http.request", "body": HEAD, "more_body": True}
            if sent < size:
                piece = BLOCK[: min(CHUNK, size - sent)]
                state["sent"] = sent + len(piece)
                state["crc"] = zlib.crc32(piece, state["crc"])
                return {"type": "http.request", "body": piece, "more_body": True}
            if sent == size:
                state["sent"] = size + 1
                return {"type": "http.request", "body": b"\\r\\n--b--\\r\\n", "more_body": False}
            await anyio.sleep_forever()

        async def send(message):
            if message["type"] == "http.response.start":
                reply["status"] = message["status"]
            else:
                reply["body"] = reply.get("body", b"") + message.get("body", b"")

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/upload", "raw_path": b"/upload", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 1), "server": ("testserver", 80),
            "headers": [(b"host", b"testserver"), (b"content-type", b"multipart/form-data; boundary=b")],
        }
        await app(scope, receive, send)
        return reply["status"], json.loads(reply["body"]), state["crc"]


    async def main():
        await send_upload(3 * 1024 * 1024)  # warm up: imports, worker threads, first spill to disk
        gc.collect()
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset VmHWM to the current RSS
        before = memory()
        status, body, crc = await send_upload(SIZE)
        after = memory()
        print(json.dumps({"status": status, "body": body, "crc": crc, "before": before, "after": after}))


    anyio.run(main)
    '''
)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to measure peak memory")
def test_100_mb_upload_stays_under_50_mb_of_memory_growth(tmp_path: Path) -> None:
    size = 100 * 1000 * 1000
    script = tmp_path / "upload_memory.py"
    script.write_text(MEMORY_SCRIPT)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(script), str(size)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == 200
    assert report["body"] == {"size": size, "crc": report["crc"], "on_disk": True}
    growth = report["after"]["VmHWM"] - report["before"]["VmRSS"]
    assert growth < 50 * 1024 * 1024, f"peak memory grew by {growth / 2**20:.1f} MiB"
    assert list(tmp_path.iterdir()) == [script]  # the spooled file is gone


# --- through a real server ----------------------------------------------------------------------------

SERVER_APP = textwrap.dedent(
    """
    from covet import Covet, FormLimits, UploadFile

    app = Covet(body_timeout=0.5)


    @app.post("/up", form_limits=FormLimits(spool_max_memory=10))
    async def up(f: UploadFile):
        return {"size": f.size, "name": f.filename}
    """
)


def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection and read until the server has answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"}"):
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
        return data


def test_hypercorn_serves_uploads_and_ends_a_stalled_body_with_408(tmp_path: Path) -> None:
    (tmp_path / "upload_server.py").write_text(SERVER_APP)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_server(
        [sys.executable, "-m", "hypercorn", "upload_server:app", "--bind", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        body = b'--b\r\nContent-Disposition: form-data; name="f"; filename="../x.txt"\r\n\r\n' + b"z" * 100 + b"\r\n--b--\r\n"
        head = b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n"
        complete = _exchange(port, head % len(body) + body)
        assert complete.startswith(b"HTTP/1.1 200")
        assert complete.endswith(b'{"size":100,"name":"x.txt"}')
        stalled = _exchange(port, head % len(body) + body[:80])  # then says nothing more
        assert stalled.startswith(b"HTTP/1.1 408")
        assert stalled.endswith(b'{"detail":"Request body not received within body_timeout (0.5 s)."}')
    finally:
        _, stderr = stop_server(server, signal.SIGTERM)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


class _IteratorAwaitable:
    """What a server written in Rust hands out (granian): ``__await__`` is a plain iterator."""

    def __init__(self, message: dict[str, object]) -> None:
        self.message = message

    def __await__(self) -> _IteratorAwaitable:
        return self

    def __iter__(self) -> _IteratorAwaitable:
        return self

    def __next__(self) -> object:
        raise StopIteration(self.message)


def test_body_is_read_from_servers_whose_awaitables_are_plain_iterators() -> None:
    import anyio

    from covet import Covet

    app = Covet(body_timeout=5.0)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    messages = [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.request", "body": b"de", "more_body": False},
    ]

    def receive() -> _IteratorAwaitable:
        return _IteratorAwaitable(messages.pop(0))

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/echo", "raw_path": b"/echo", "root_path": "",
        "query_string": b"", "headers": [(b"host", b"t")], "client": ("1.2.3.4", 5), "server": ("t", 80),
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"size":5}'


def test_each_event_loop_has_its_own_read_deadlines() -> None:
    import asyncio

    from covet._deadlines import loop_deadlines

    async def both() -> tuple[Any, Any]:
        return loop_deadlines(), loop_deadlines()

    first, again = asyncio.run(both())
    second, _ = asyncio.run(both())
    assert first is again
    assert second is not first and second.reads == {} and second.expired == set()


def test_a_receive_that_swallows_the_timeout_leaves_nothing_behind() -> None:
    import asyncio

    from covet._deadlines import loop_deadlines

    app = Covet(body_timeout=0.05)

    @app.post("/")
    async def handler(request: Request) -> int:
        return len(await request.body())

    async def stubborn() -> dict[str, Any]:
        try:
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            pass  # a misbehaving server that ignores cancellation
        return {"type": "http.request", "body": b"ab", "more_body": False}

    async def main() -> tuple[list[int], Any]:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope_for("/", []), stubborn, send)
        return statuses, loop_deadlines()

    statuses, deadlines = asyncio.run(main())
    assert statuses == [200]
    assert deadlines.reads == {} and deadlines.expired == set()
