"""Hostile requests over a real ``covet run`` (hypercorn, uvicorn, granian), spoken byte by byte.

These are the attacks where the server matters: how it frames a request decides whether a second
request can hide inside the first, and some headers only reach covet the way a server passes them.
Each test sends raw bytes on its own connection and reads until the server closes it or goes
quiet. The server process inherits ``COVET_NO_EXTENSIONS``, so both builds are covered.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from test_cli import start_covet_run, stop

APP_SOURCE = '''
from typing import Any

from covet import Covet, Request

app = Covet()

@app.route("/", methods=["GET", "POST"])
async def index(request: Request):
    return "ok"

@app.get("/admin")
async def admin():
    return "ADMIN"

@app.get("/<path:page>/")
async def page(page: str):
    return page

@app.get("/url")
async def url(request: Request):
    return {"url": str(request.url), "external": request.url_for("admin")}

@app.post("/size")
async def size(request: Request):
    return {"size": len(await request.body())}

@app.post("/typed")
async def typed(payload: dict[str, Any]):
    return {"keys": len(payload)}

@app.post("/json")
async def raw_json(request: Request):
    return {"type": type(await request.json()).__name__}
'''

SERVERS = ["hypercorn", "uvicorn", "granian"]
SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"


class Served:
    """What came back on one connection: the raw bytes, and whether the server closed it."""

    def __init__(self, data: bytes, closed: bool) -> None:
        self.data = data
        self.closed = closed

    @property
    def statuses(self) -> list[int]:
        # Status lines, wherever they start (a response's body runs straight into the next one).
        return [int(match.group(1)) for match in re.finditer(rb"HTTP/1\.1 ([0-9]{3})", self.data)]

    def header(self, name: bytes) -> bytes | None:
        head = self.data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                return value.strip()
        return None


def exchange(port: int, data: bytes, quiet: float = 2.0, limit: float = 30.0) -> Served:
    """Send ``data``; read until the server closes, or sends nothing for ``quiet`` seconds."""
    received = b""
    closed = False
    deadline = time.monotonic() + limit
    with socket.create_connection(("127.0.0.1", port), timeout=quiet) as sock:
        sock.sendall(data)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    return Served(received, closed)


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``(server name, port)`` of ``covet run`` serving APP_SOURCE; stopped after the module."""
    server: str = request.param
    directory = tmp_path_factory.mktemp(f"hostile-{server}")
    (directory / "hostile_app.py").write_text(APP_SOURCE)
    process, port = start_covet_run(directory, "hostile_app.py", "--server", server)
    try:
        yield server, port
    finally:
        stderr = stop(process)
    # A hostile request is the client's fault: it never reaches the log as a traceback.
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def _chunked_smuggle(transfer_encoding: bytes) -> bytes:
    # A CL-framing proxy forwards all of it as one request's body; a TE-framing server would end
    # the body at "0\r\n\r\n" and then run GET /admin as a second request.
    body = b"0\r\n\r\n" + SMUGGLED
    return (
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        + b"Content-Length: %d\r\n" % len(body)
        + transfer_encoding
        + b"\r\n"
        + body
    )


# -- request smuggling ------------------------------------------------------------------------------

# The status a request with both Content-Length and Transfer-Encoding gets: covet's 400 where the
# server passes both headers on (hypercorn; uvicorn refuses it itself), granian's framing by
# Transfer-Encoding alone (it drops Content-Length, so the app answers). Every server then closes
# the connection, so the smuggled request never runs. docs/deployment.md reports this table.
CL_AND_TE = {"hypercorn": [400], "uvicorn": [400], "granian": [200]}


def test_request_smuggling_content_length_with_transfer_encoding_closes(served: tuple[str, int]) -> None:
    server, port = served
    response = exchange(port, _chunked_smuggle(b"Transfer-Encoding: chunked\r\n"))
    assert response.statuses == CL_AND_TE[server]
    assert response.closed
    assert b"ADMIN" not in response.data


def test_request_smuggling_obs_folded_transfer_encoding_closes(served: tuple[str, int]) -> None:
    response = exchange(served[1], _chunked_smuggle(b"Transfer-Encoding:\r\n chunked\r\n"))
    assert response.statuses == [400]
    assert response.closed
    assert b"ADMIN" not in response.data


def test_request_smuggling_transfer_encoding_before_content_length_closes(served: tuple[str, int]) -> None:
    body = b"0\r\n\r\n" + SMUGGLED
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    server, port = served
    response = exchange(port, request)
    assert response.statuses == CL_AND_TE[server]
    assert response.closed
    assert b"ADMIN" not in response.data


def test_request_smuggling_conflicting_content_lengths_close(served: tuple[str, int]) -> None:
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" + SMUGGLED
    response = exchange(served[1], request)
    assert response.statuses == [400]
    assert response.closed
    assert b"ADMIN" not in response.data


def test_body_shorter_than_content_length_closes(served: tuple[str, int]) -> None:
    # The body is cut short by the client: the length covet was told is not what arrived, so the
    # connection cannot be trusted for another request.
    request = b"POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhi"
    with socket.create_connection(("127.0.0.1", served[1]), timeout=5) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert b"ADMIN" not in data


def test_keep_alive_still_works_for_honest_requests(served: tuple[str, int]) -> None:
    # The guard must not close ordinary connections: two requests, two answers, connection open.
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" + SMUGGLED
    response = exchange(served[1], request, quiet=1.0)
    assert response.statuses == [200, 200]
    assert b"ADMIN" in response.data
    assert not response.closed


# What each server does with a request whose lines end in a bare LF (RFC 9112 §2.2 lets a server
# accept it; a proxy that does not is a framing mismatch). docs/deployment.md reports this table.
BARE_LF = {"hypercorn": [200], "uvicorn": [400], "granian": [200]}


def test_bare_lf_line_endings_behave_as_deployment_docs_say(served: tuple[str, int]) -> None:
    server, port = served
    response = exchange(port, b"GET / HTTP/1.1\nHost: x\n\n", quiet=1.0)
    assert response.statuses == BARE_LF[server]


# -- open redirect through the trailing-slash rule --------------------------------------------------


@pytest.mark.parametrize(
    ("target", "location"),
    [
        (b"//evil.com", b"/evil.com/"),
        (b"///evil.com/..", b"/evil.com/../"),
        (b"//evil.com?next=1", b"/evil.com/?next=1"),
    ],
)
def test_open_redirect_double_slash_trailing_slash_rule(
    served: tuple[str, int], target: bytes, location: bytes
) -> None:
    response = exchange(served[1], b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", quiet=1.0)
    assert response.statuses == [308]
    assert response.header(b"location") == location


def test_open_redirect_backslash_trailing_slash_rule(served: tuple[str, int]) -> None:
    response = exchange(served[1], b"GET /\\evil.com HTTP/1.1\r\nHost: x\r\n\r\n", quiet=1.0)
    if response.statuses == [400]:
        return  # the server refuses the target itself
    assert response.statuses == [308]
    location = response.header(b"location")
    assert location is not None and not location.startswith((b"//", b"/\\"))


# -- Host header injection --------------------------------------------------------------------------


def test_host_header_injection_path_and_query(served: tuple[str, int]) -> None:
    response = exchange(served[1], b"GET /url HTTP/1.1\r\nHost: example.com/x?y=\r\n\r\n", quiet=1.0)
    assert response.statuses == [400]
    assert b"Invalid Host header" in response.data


def test_valid_host_with_port_builds_urls(served: tuple[str, int]) -> None:
    response = exchange(served[1], b"GET /url HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", quiet=1.0)
    assert response.statuses == [200]
    assert b'"url":"http://example.com:8080/url"' in response.data
    assert b'"external":"http://example.com:8080/admin"' in response.data


# -- quadratic header parsing -----------------------------------------------------------------------


def test_quadratic_content_type_semicolon_flood(served: tuple[str, int]) -> None:
    # hypercorn caps a request head at 16 KiB; uvicorn takes 1 MB of ';' and hands it to covet,
    # whose parser once copied the rest of the header per parameter (12-29 s of blocked loop).
    content_type = b"application/json" + b";" * 1_000_000
    request = b"POST /typed HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type + b"\r\nContent-Length: 2\r\n\r\n{}"
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", served[1]), timeout=20) as sock:
        sock.sendall(request)
        first = sock.recv(65536)
    assert time.monotonic() - started < 5.0
    assert re.match(rb"HTTP/1\.1 4[0-9][0-9] ", first), first[:100]
    # The loop was not blocked: the next request is answered at once.
    assert exchange(served[1], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", quiet=1.0).statuses == [200]


# -- JSON nesting bombs -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [b"/typed", b"/json"])
@pytest.mark.parametrize(
    "body",
    [b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}", b'{"a":' + b"[" * 100_000, b'{"a":' * 2000],
    ids=["1000-deep", "100000-open", "objects-2000-deep"],
)
def test_json_nesting_bomb(served: tuple[str, int], path: bytes, body: bytes) -> None:
    request = (
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    response = exchange(served[1], request, quiet=1.0)
    assert response.statuses == [400]
    assert b"nested too deeply" in response.data
