"""WebSocket routes over real servers (``covet run`` with hypercorn, uvicorn, granian), spoken to by
the ``websockets`` client package: frames, subprotocols, ping/pong, limits, refusals, and clients
that vanish without a close frame. The server process inherits ``COVET_NO_EXTENSIONS``."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from test_cli import start_covet_run, stop
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

APP_SOURCE = '''
from covet import Covet, Depends, HTTPException, WebSocket, WebSocketDisconnect

app = Covet()
events = []

async def resource():
    events.append("open")
    try:
        yield "r"
    except WebSocketDisconnect as exc:
        events.append(f"disconnect {exc.code}")
        raise
    finally:
        events.append("closed")

@app.websocket("/echo", max_message_size=1000)
async def echo(websocket: WebSocket):
    await websocket.accept(subprotocol="chat.v2" if "chat.v2" in websocket.subprotocols else None)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message["bytes"])

@app.websocket("/held")
async def held(websocket: WebSocket, r: str = Depends(resource)):
    await websocket.accept()
    await websocket.send_text("held")
    while True:
        await websocket.receive_text()

@app.websocket("/events")
async def show_events(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_json(events)

@app.websocket("/private")
async def private(websocket: WebSocket, token: str = ""):
    if token != "secret":
        raise HTTPException(401, "Not authenticated")
    await websocket.accept()
    await websocket.send_text("in")

@app.websocket("/boom")
async def boom(websocket: WebSocket):
    await websocket.accept()
    await websocket.receive_text()
    raise ValueError("boom")
'''

SERVERS = ["hypercorn", "uvicorn", "granian"]
BOOM_SENT: set[str] = set()  # servers (of this process) whose /boom handler was made to fail

# What the client sees when the app refuses a handshake with HTTPException(401): the app's own
# status where the server offers the websocket.http.response extension (all three do), else the
# server's 403.
REFUSAL_STATUS = {"hypercorn": 401, "uvicorn": 401, "granian": 401}


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    server: str = request.param
    directory = tmp_path_factory.mktemp(f"ws-{server}")
    (directory / "ws_app.py").write_text(APP_SOURCE)
    process, port = start_covet_run(directory, "ws_app.py", "--server", server)
    try:
        yield server, port
    finally:
        stderr = stop(process).decode(errors="replace")
    # Only the deliberate failure (/boom) is logged; a vanished client is not an error. (Under
    # pytest-xdist a worker may not have run the /boom test against its own server.)
    assert stderr.count("Traceback") <= 1, stderr
    if server in BOOM_SENT:
        assert "ValueError: boom" in stderr, stderr


def url(port: int, path: str) -> str:
    return f"ws://127.0.0.1:{port}{path}"


def test_text_and_binary_frames_echo(served: tuple[str, int]) -> None:
    _, port = served
    with connect(url(port, "/echo"), open_timeout=5) as ws:
        ws.send("héllo")
        assert ws.recv(timeout=5) == "héllo"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=5) == b"\x00\x01\xff"


def test_subprotocol_is_chosen_from_the_offer(served: tuple[str, int]) -> None:
    _, port = served
    with connect(url(port, "/echo"), subprotocols=["chat.v1", "chat.v2"], open_timeout=5) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat.v2"


def test_ping_is_answered_with_pong(served: tuple[str, int]) -> None:
    _, port = served
    with connect(url(port, "/echo"), open_timeout=5) as ws:
        pong = ws.ping(b"are you there")
        assert pong.wait(5)


def test_oversized_message_closes_1009(served: tuple[str, int]) -> None:
    _, port = served
    with connect(url(port, "/echo"), open_timeout=5) as ws:
        ws.send("x" * 1001)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_handler_exception_closes_1011(served: tuple[str, int]) -> None:
    server, port = served
    with connect(url(port, "/boom"), open_timeout=5) as ws:
        ws.send("go")
        BOOM_SENT.add(server)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011


def test_refused_handshake_status(served: tuple[str, int]) -> None:
    server, port = served
    with pytest.raises(InvalidStatus) as info:
        connect(url(port, "/private"), open_timeout=5)
    assert info.value.response.status_code == REFUSAL_STATUS[server]
    with connect(url(port, "/private?token=secret"), open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "in"


def _events(port: int) -> list[str]:
    with connect(url(port, "/events"), open_timeout=5) as ws:
        return json.loads(ws.recv(timeout=5))  # type: ignore[no-any-return]


def test_abrupt_disconnect_tears_down_the_dependency(served: tuple[str, int]) -> None:
    _, port = served
    before = len(_events(port))
    # A handshake on a raw socket, then the TCP connection dropped without a close frame.
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"GET /held HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    received = b""
    while b"held" not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 101")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = _events(port)[before:]
        if "closed" in events:
            break
        time.sleep(0.05)
    assert events[0] == "open" and events[-1] == "closed", events
    assert events[1].startswith("disconnect 10"), events  # 1005/1006/1000 depending on the server
