"""WebSocket routes through the test clients: messages, parameters, dependencies, refusals, limits."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import anyio
import msgspec
import pytest
from asgi_raw import run_asgi

from covet import (
    BackgroundTasks,
    Blueprint,
    Covet,
    Depends,
    Header,
    HTTPException,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from covet.testing import AsyncTestClient, TestClient, WebSocketRejected
from covet.websockets import WebSocketLimits, WebSocketState

pytestmark = pytest.mark.usefixtures("serving_mode")


def ws_scope(path: str, query: bytes = b"", extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    """A server's websocket scope, by default without the websocket.http.response extension."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"example.com")],
        "client": ("127.0.0.1", 5000),
        "server": ("example.com", 80),
        "subprotocols": [],
        "extensions": extensions or {},
    }


# --- messages -----------------------------------------------------------------------------------


def test_echo_text_bytes_and_json() -> None:
    app = Covet()

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        assert websocket.client_state is WebSocketState.CONNECTED
        await websocket.send_text(await websocket.receive_text())
        await websocket.send_bytes(await websocket.receive_bytes())
        await websocket.send_json(await websocket.receive_json())
        await websocket.send_json({"binary": True}, mode="binary")

    with TestClient(app) as client, client.websocket_connect("/echo") as ws:
        ws.send_text("héllo")
        assert ws.receive_text() == "héllo"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"a": [1, 2]}
        assert ws.receive_json(mode="binary") == {"binary": True}
        # The handler returned: covet closes with 1000.
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
        assert info.value.code == 1000


def test_iter_text_ends_when_the_client_closes_and_the_handler_sees_the_code() -> None:
    app = Covet()
    seen: list[Any] = []

    @app.websocket("/chat")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            seen.append(text)
        seen.append(websocket.client_state)

    with TestClient(app) as client:
        with client.websocket_connect("/chat") as ws:
            ws.send_text("a")
            ws.send_text("b")
            ws.close(1001)
    assert seen == ["a", "b", WebSocketState.DISCONNECTED]


def test_receive_json_validates_with_a_msgspec_type_and_closes_1007_on_bad_json() -> None:
    class ChatIn(msgspec.Struct):
        text: str

    app = Covet()

    @app.websocket("/typed")
    async def typed(websocket: WebSocket) -> None:
        await websocket.accept()
        message = await websocket.receive_json(ChatIn)
        await websocket.send_text(message.text.upper())
        await websocket.receive_json(ChatIn)

    with TestClient(app) as client:
        with client.websocket_connect("/typed") as ws:
            ws.send_json({"text": "hi"})
            assert ws.receive_text() == "HI"
            ws.send_text('{"text": 3}')
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
        assert info.value.code == 1007
        assert "text" in info.value.reason
        with client.websocket_connect("/typed") as ws:
            ws.send_text("{not json")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
        assert info.value.code == 1007


def test_binary_message_where_text_is_expected_closes_1003() -> None:
    app = Covet()

    @app.websocket("/text")
    async def text(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    with TestClient(app) as client, client.websocket_connect("/text") as ws:
        ws.send_bytes(b"x")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
        assert info.value.code == 1003


def test_subprotocol_is_chosen_among_those_offered_and_headers_go_with_accept() -> None:
    app = Covet()

    @app.websocket("/proto")
    async def proto(websocket: WebSocket) -> None:
        assert websocket.subprotocols == ["v2.chat", "v1.chat"]
        await websocket.accept(subprotocol="v1.chat", headers={"x-server": "covet"})
        await websocket.send_text(websocket.accepted_subprotocol or "")

    with TestClient(app) as client, client.websocket_connect("/proto", subprotocols=["v2.chat", "v1.chat"]) as ws:
        assert ws.accepted_subprotocol == "v1.chat"
        assert (b"x-server", b"covet") in ws.extra_headers
        assert ws.receive_text() == "v1.chat"


def test_accepting_a_subprotocol_the_client_did_not_offer_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    app = Covet()

    @app.websocket("/proto")
    async def proto(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="evil")

    with TestClient(app) as client, pytest.raises(WebSocketRejected) as info:
        with client.websocket_connect("/proto", subprotocols=["chat"]):
            pass
    assert info.value.status_code == 403
    assert "evil" in caplog.text  # the misuse is logged for the developer, not shown to the client
    assert b"evil" not in info.value.body


# --- parameters and dependencies ----------------------------------------------------------------


def test_path_query_header_and_cookie_values_and_connection_details() -> None:
    app = Covet()

    @app.websocket("/rooms/<int:room>")
    async def room(
        websocket: WebSocket, room: int, user: str, x_token: Annotated[str, Header()], limit: int = 10
    ) -> None:
        await websocket.accept()
        await websocket.send_json(
            {
                "room": room,
                "user": user,
                "token": x_token,
                "limit": limit,
                "cookie": websocket.cookies.get("sid"),
                "url": str(websocket.url),
                "path_params": websocket.path_params,
                "query": websocket.query_params.get("user"),
            }
        )

    with TestClient(app) as client:
        with client.websocket_connect(
            "/rooms/7?user=ada", headers={"x-token": "t"}, cookies={"sid": "s1"}
        ) as ws:
            assert ws.receive_json() == {
                "room": 7,
                "user": "ada",
                "token": "t",
                "limit": 10,
                "cookie": "s1",
                "url": "ws://testserver/rooms/7?user=ada",
                "path_params": {"room": 7},
                "query": "ada",
            }


def test_validation_failure_refuses_with_403_naming_the_parameter() -> None:
    app = Covet()

    @app.websocket("/feed")
    async def feed(websocket: WebSocket, limit: int) -> None:
        await websocket.accept()

    with TestClient(app) as client, pytest.raises(WebSocketRejected) as info:
        with client.websocket_connect("/feed?limit=many"):
            pass
    assert info.value.status_code == 403
    assert info.value.json()["detail"][0]["loc"] == ["query", "limit"]


def test_validation_failure_without_the_http_response_extension_closes_1008_with_the_parameter() -> None:
    app = Covet()

    @app.websocket("/feed")
    async def feed(websocket: WebSocket, limit: int) -> None:
        await websocket.accept()

    sent = run_asgi(app, ws_scope("/feed", b"limit=many"), [{"type": "websocket.connect"}])
    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008
    assert sent[0]["reason"].startswith("query.limit:")


def test_http_exception_before_accept_keeps_its_status() -> None:
    app = Covet()

    async def user(token: Annotated[str | None, Header()] = None) -> str:
        if token != "secret":
            raise HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
        return "ada"

    @app.websocket("/private")
    async def private(websocket: WebSocket, name: str = Depends(user)) -> None:
        await websocket.accept()
        await websocket.send_text(name)

    with TestClient(app) as client:
        with pytest.raises(WebSocketRejected) as info:
            with client.websocket_connect("/private"):
                pass
        assert info.value.status_code == 401
        assert info.value.headers["www-authenticate"] == "Bearer"
        assert info.value.json() == {"detail": "Not authenticated"}
        with client.websocket_connect("/private", headers={"token": "secret"}) as ws:
            assert ws.receive_text() == "ada"
    sent = run_asgi(app, ws_scope("/private"), [{"type": "websocket.connect"}])
    assert [(m["type"], m["code"], m["reason"]) for m in sent] == [("websocket.close", 1008, "Not authenticated")]


def test_yield_dependency_torn_down_when_the_client_disconnects_and_sees_the_disconnect() -> None:
    app = Covet()
    events: list[Any] = []

    async def resource() -> Any:
        events.append("open")
        try:
            yield "db"
        except WebSocketDisconnect as exc:
            events.append(("disconnect", exc.code))
            raise
        finally:
            events.append("closed")

    @app.websocket("/db")
    async def db(websocket: WebSocket, conn: str = Depends(resource)) -> None:
        await websocket.accept()
        await websocket.send_text(conn)
        while True:
            await websocket.receive_text()

    with TestClient(app) as client:
        with client.websocket_connect("/db") as ws:
            assert ws.receive_text() == "db"
            ws.close(1001)
    assert events == ["open", ("disconnect", 1001), "closed"]


def test_yield_dependency_torn_down_after_a_normal_return_and_background_tasks_run() -> None:
    app = Covet()
    events: list[str] = []

    def resource() -> Any:
        yield "r"
        events.append("closed")

    @app.websocket("/once")
    async def once(websocket: WebSocket, tasks: BackgroundTasks, r: str = Depends(resource)) -> None:
        tasks.add_task(events.append, "task")
        await websocket.accept()
        await websocket.send_text(r)

    with TestClient(app) as client, client.websocket_connect("/once") as ws:
        assert ws.receive_text() == "r"
    assert events == ["closed", "task"]


def test_route_dependencies_and_dependency_overrides_apply() -> None:
    app = Covet()

    def check() -> None:
        raise HTTPException(403, "no")

    @app.websocket("/guarded", dependencies=[Depends(check)])
    async def guarded(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("in")

    with TestClient(app) as client:
        with pytest.raises(WebSocketRejected) as info, client.websocket_connect("/guarded"):
            pass
        assert info.value.status_code == 403
        app.dependency_overrides[check] = lambda: None
        with client.websocket_connect("/guarded") as ws:
            assert ws.receive_text() == "in"


# --- errors, refusals and the end of a connection -------------------------------------------------


def test_handler_exception_after_accept_closes_1011_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = Covet()

    @app.websocket("/boom")
    async def boom(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        raise ValueError("kaboom")

    with caplog.at_level(logging.ERROR, "covet.websockets"):
        with TestClient(app) as client, client.websocket_connect("/boom") as ws:
            ws.send_text("go")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
    assert info.value.code == 1011
    assert "kaboom" in caplog.text and "boom" in caplog.text


def test_http_exception_after_accept_closes_1008_with_its_detail(caplog: pytest.LogCaptureFixture) -> None:
    app = Covet()

    @app.websocket("/rooms")
    async def rooms(websocket: WebSocket) -> None:
        await websocket.accept()
        if await websocket.receive_text() == "admin":
            raise HTTPException(403, "not an admin")

    with TestClient(app) as client, client.websocket_connect("/rooms") as ws:
        ws.send_text("admin")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert (info.value.code, info.value.reason) == (1008, "not an admin")
    assert "not an admin" not in caplog.text  # the client's fault: not logged as a server error


def test_exception_before_accept_is_a_403_that_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = Covet()

    @app.websocket("/early")
    async def early(websocket: WebSocket) -> None:
        raise RuntimeError("database password is hunter2")

    with TestClient(app) as client, pytest.raises(WebSocketRejected) as info:
        with client.websocket_connect("/early"):
            pass
    assert info.value.status_code == 403
    assert b"hunter2" not in info.value.body
    assert "hunter2" in caplog.text


def test_handler_that_returns_without_accepting_refuses_the_handshake() -> None:
    app = Covet()

    @app.websocket("/no")
    async def no(websocket: WebSocket) -> None:
        return None

    with TestClient(app) as client, pytest.raises(WebSocketRejected) as info:
        with client.websocket_connect("/no"):
            pass
    assert info.value.status_code == 403
    assert info.value.close_code == 1000


def test_no_route_refuses_with_404_and_http_routes_do_not_answer_websockets() -> None:
    app = Covet()

    @app.get("/page")
    async def page() -> str:
        return "page"

    with TestClient(app) as client:
        for path in ("/nothing", "/page"):
            with pytest.raises(WebSocketRejected) as info, client.websocket_connect(path):
                pass
            assert info.value.status_code == 404
        assert client.get("/page").text == "page"


def test_hostile_close_reason_is_cut_to_what_a_close_frame_carries() -> None:
    app = Covet()

    @app.websocket("/bye")
    async def bye(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4000, "é" * 500)

    with TestClient(app) as client, client.websocket_connect("/bye") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 4000
    assert len(info.value.reason.encode()) <= 123


def test_client_gone_while_the_handler_sends_is_a_disconnect_not_an_error() -> None:
    app = Covet()
    ended: list[int] = []

    @app.websocket("/push")
    async def push(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text("tick")
                await anyio.sleep(0)
        except WebSocketDisconnect as exc:
            ended.append(exc.code)

    with TestClient(app) as client, client.websocket_connect("/push") as ws:
        assert ws.receive_text() == "tick"
    assert ended == [1006]


# --- limits -------------------------------------------------------------------------------------


def test_oversized_message_closes_1009_with_the_route_and_the_app_limits() -> None:
    app = Covet(websocket_max_message_size=16)

    @app.websocket("/small")
    async def small(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)

    @app.websocket("/big", max_message_size=1000)
    async def big(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_bytes(await websocket.receive_bytes())

    with TestClient(app) as client:
        with client.websocket_connect("/small") as ws:
            ws.send_text("x" * 16)
            assert ws.receive_text() == "x" * 16
            ws.send_text("é" * 9)  # 9 characters, 18 bytes of UTF-8
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
            assert info.value.code == 1009
        with client.websocket_connect("/big") as ws:
            ws.send_bytes(b"x" * 1000)
            assert ws.receive_bytes() == b"x" * 1000
        with client.websocket_connect("/big") as ws:
            ws.send_bytes(b"x" * 1001)
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_bytes()
            assert info.value.code == 1009


def test_silent_client_is_closed_1001_after_the_receive_timeout() -> None:
    app = Covet()

    @app.websocket("/idle", receive_timeout=0.05)
    async def idle(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    with TestClient(app) as client, client.websocket_connect("/idle") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1001


def test_slow_client_cannot_queue_sends_without_bound() -> None:
    # A client that never reads: the server's send blocks. Tasks fanning messages out to it wait,
    # at most send_queue_size of them; the next send closes the connection with 1008.
    sent: list[dict[str, Any]] = []
    blocked = anyio.Event()

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.send":
            await blocked.wait()

    async def main() -> None:
        websocket = WebSocket(ws_scope("/"), receive, send, WebSocketLimits(send_queue_size=3))
        await websocket.accept()
        failures: list[int] = []

        async def one() -> None:
            try:
                await websocket.send_text("m")
            except WebSocketDisconnect as exc:
                failures.append(exc.code)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(one)
                await anyio.sleep(0.01)
                await one()  # the fourth waiting send
                blocked.set()
        assert failures == [1008]

    anyio.run(main)
    kinds = [m["type"] for m in sent]
    assert kinds.count("websocket.send") <= 3
    assert {"type": "websocket.close", "code": 1008, "reason": "client too slow: send queue full"} in sent


def test_invalid_limits_are_refused_at_registration() -> None:
    app = Covet()
    with pytest.raises(ValueError, match="max_message_size"):
        app.websocket("/a", max_message_size=0)
    with pytest.raises(ValueError, match="receive_timeout"):
        app.websocket("/a", receive_timeout=-1)
    with pytest.raises(TypeError, match="Unknown WebSocket route option"):
        app.websocket("/a", methods=["GET"])
    with pytest.raises(ValueError, match="max_message_size"):
        Covet(websocket_max_message_size=-5)


# --- registration -------------------------------------------------------------------------------


class Body(msgspec.Struct):
    text: str


def test_misuse_is_refused_at_registration_with_the_fix() -> None:
    app = Covet()

    def sync_handler(websocket: WebSocket) -> None: ...

    async def body_handler(websocket: WebSocket, body: Body) -> None: ...

    async def request_handler(request: Request) -> None: ...

    with pytest.raises(TypeError, match="async def"):
        app.websocket("/s")(sync_handler)
    with pytest.raises(TypeError, match="receive_json"):
        app.websocket("/b")(body_handler)
    with pytest.raises(TypeError, match="annotate it WebSocket"):
        app.websocket("/r")(request_handler)

    async def http_handler(websocket: WebSocket) -> None: ...

    with pytest.raises(TypeError, match=r"@app.websocket\('/h'\)"):
        app.get("/h")(http_handler)


# --- hooks, blueprints, middleware, mounts ------------------------------------------------------


def test_before_request_hooks_skip_websockets_and_before_websocket_hooks_opt_in() -> None:
    app = Covet()
    calls: list[str] = []

    @app.before_request
    async def http_only() -> None:
        calls.append("before_request")

    @app.before_websocket
    async def guard(websocket: WebSocket) -> Any:
        calls.append("before_websocket")
        if websocket.query_params.get("key") != "k":
            return {"detail": "bad key"}, 401
        return None

    @app.websocket("/ws")
    async def ws_route(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("ok")

    with TestClient(app) as client:
        with client.websocket_connect("/ws?key=k") as ws:
            assert ws.receive_text() == "ok"
        with pytest.raises(WebSocketRejected) as info, client.websocket_connect("/ws"):
            pass
    assert info.value.status_code == 401
    assert info.value.json() == {"detail": "bad key"}
    assert calls == ["before_websocket", "before_websocket"]


def test_blueprint_websocket_routes_are_prefixed_named_and_run_their_hooks() -> None:
    app = Covet()
    bp = Blueprint("live", url_prefix="/live")
    calls: list[str] = []

    @bp.before_websocket
    def bp_hook() -> None:
        calls.append("bp")

    @bp.websocket("/feed/<name>")
    async def feed(websocket: WebSocket, name: str) -> None:
        await websocket.accept()
        await websocket.send_text(name)

    app.register_blueprint(bp)
    assert app.url_for("live.feed", name="x") == "/live/feed/x"
    with TestClient(app) as client, client.websocket_connect("/live/feed/ada") as ws:
        assert ws.receive_text() == "ada"
    assert calls == ["bp"]


def test_mounted_app_receives_websocket_scopes() -> None:
    inner = Covet()

    @inner.websocket("/ws")
    async def inner_ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.scope["root_path"])

    app = Covet()
    app.mount("/inner", inner)
    with TestClient(app) as client, client.websocket_connect("/inner/ws") as ws:
        assert ws.receive_text() == "/inner"


def test_asgi_middleware_sees_websocket_scopes() -> None:
    seen: list[str] = []

    class Spy:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["type"])
            await self.app(scope, receive, send)

    app = Covet()
    app.add_middleware(Spy)

    @app.websocket("/ws")
    async def ws_route(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("through")

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "through"
    assert "websocket" in seen


# --- the async client ---------------------------------------------------------------------------


def test_async_test_client_websocket_connect() -> None:
    app = Covet()

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_json():
            await websocket.send_json({"echo": data})

    @app.websocket("/closed")
    async def closed(websocket: WebSocket) -> None:
        await websocket.close(4001, "go away")

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            async with client.websocket_connect("/echo") as ws:
                await ws.send_json([1])
                assert await ws.receive_json() == {"echo": [1]}
            with pytest.raises(WebSocketRejected) as info:
                async with client.websocket_connect("/closed"):
                    pass
            assert (info.value.status_code, info.value.close_code, info.value.reason) == (403, 4001, "go away")

    anyio.run(main)


def test_test_client_reports_a_handler_that_never_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    import covet._testing_ws

    monkeypatch.setattr(covet._testing_ws, "_APP_END_TIMEOUT", 0.1)

    async def hung(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()
        await send({"type": "websocket.accept"})
        await anyio.sleep_forever()

    client = TestClient(hung)  # no lifespan
    with pytest.raises(RuntimeError, match="kept running"):
        with client.websocket_connect("/"):
            pass
