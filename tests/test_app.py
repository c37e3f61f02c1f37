"""The application: lifespan, state, config, middleware, hooks, error handling, threading, setup rules."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from asgi_raw import run_asgi

from covet import Covet, HTTPException, JSONResponse, PlainTextResponse, Request, Response
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")

# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a leaked resource (ResourceWarning) fails the test that leaked it."""
    yield
    gc.collect()


class Recorder:
    """ASGI middleware that logs entry and exit under its name, and tags the response."""

    def __init__(self, app: Any, name: str, log: list[str]) -> None:
        self.app = app
        self.name = name
        self.log = log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.log.append(f"enter {self.name}")

        async def tagged_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message["headers"], (b"x-via", self.name.encode())]
            await send(message)

        await self.app(scope, receive, tagged_send)
        self.log.append(f"exit {self.name}")


# --- lifespan -------------------------------------------------------------------------------------


def test_on_startup_and_on_shutdown_run_sync_and_async_in_order() -> None:
    app = Covet()
    log: list[str] = []

    @app.on_startup
    def sync_start() -> None:
        log.append("sync start")

    @app.on_startup
    async def async_start() -> None:
        log.append("async start")

    @app.on_shutdown
    def sync_stop() -> None:
        log.append("sync stop")

    @app.on_shutdown
    async def async_stop() -> None:
        log.append("async stop")

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"log": list(log)}

    with TestClient(app) as client:
        assert client.get("/").json() == {"log": ["sync start", "async start"]}
        assert "sync stop" not in log
    assert log == ["sync start", "async start", "sync stop", "async stop"]


def test_lifespan_context_manager_wraps_serving() -> None:
    log: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Covet) -> AsyncIterator[None]:
        log.append(f"start {app.title}")
        app.state.db = "connected"
        yield
        log.append("stop")

    app = Covet(title="shop", lifespan=lifespan)

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"db": app.state.db}

    with TestClient(app) as client:
        assert log == ["start shop"]
        assert client.get("/").json() == {"db": "connected"}
    assert log == ["start shop", "stop"]


def test_lifespan_yielded_state_reaches_request_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Covet) -> AsyncIterator[dict[str, Any]]:
        yield {"pool": "the-pool"}

    app = Covet(lifespan=lifespan)

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        return {"pool": request.state.pool}

    with TestClient(app) as client:
        assert client.get("/").json() == {"pool": "the-pool"}


def test_startup_failure_is_raised_by_test_client() -> None:
    app = Covet()

    @app.on_startup
    async def broken() -> None:
        raise ConnectionError("database unreachable")

    with pytest.raises(ConnectionError, match="database unreachable"):
        with TestClient(app):
            pass  # pragma: no cover - never reached


def test_lifespan_factory_failure_is_raised_by_test_client() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Covet) -> AsyncIterator[None]:
        raise KeyError("missing setting")
        yield  # pragma: no cover

    app = Covet(lifespan=lifespan)
    with pytest.raises(KeyError, match="missing setting"):
        with TestClient(app):
            pass  # pragma: no cover - never reached


def test_lifespan_startup_failure_reports_failed_message_to_server() -> None:
    app = Covet()

    @app.on_startup
    def broken() -> None:
        raise RuntimeError("no config")

    sent: list[dict[str, Any]] = []

    async def main() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "lifespan.startup"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        with pytest.raises(RuntimeError):
            await app({"type": "lifespan", "state": {}}, receive, send)

    anyio.run(main)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "no config" in sent[0]["message"]


# --- state and config ---------------------------------------------------------------------------


def test_app_state_is_a_free_namespace() -> None:
    app = Covet()
    app.state.counter = 1
    app.state.counter += 1
    assert app.state.counter == 2
    with pytest.raises(AttributeError, match="missing"):
        app.state.missing  # noqa: B018


def test_request_app_state_is_shared_with_handlers() -> None:
    app = Covet()
    app.state.greeting = "hi"

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        return {"greeting": request.app.state.greeting}

    assert TestClient(app).get("/").json() == {"greeting": "hi"}


def test_config_is_a_dict() -> None:
    app = Covet()
    assert isinstance(app.config, dict)
    app.config["SECRET_KEY"] = "s3cret"
    assert app.config["SECRET_KEY"] == "s3cret"


def test_config_from_prefixed_env_parses_json_and_strips_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVET_PORT", "8080")
    monkeypatch.setenv("COVET_FEATURE", "true")
    monkeypatch.setenv("COVET_HOSTS", '["a", "b"]')
    monkeypatch.setenv("COVET_SECRET_KEY", "not json at all")
    monkeypatch.setenv("OTHER_PORT", "1")
    app = Covet()
    assert app.config.from_prefixed_env("COVET") is True
    assert app.config["PORT"] == 8080
    assert app.config["FEATURE"] is True
    assert app.config["HOSTS"] == ["a", "b"]
    assert app.config["SECRET_KEY"] == "not json at all"
    assert "OTHER_PORT" not in app.config and "PORT" in app.config


def test_config_from_prefixed_env_nests_on_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVET_DB__HOST", "db.local")
    monkeypatch.setenv("COVET_DB__PORT", "5432")
    app = Covet()
    app.config.from_prefixed_env("COVET")
    assert app.config["DB"] == {"HOST": "db.local", "PORT": 5432}


def test_config_from_prefixed_env_without_matches_returns_false(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NOPE_"):
            monkeypatch.delenv(key)
    app = Covet()
    before = dict(app.config)
    assert app.config.from_prefixed_env("NOPE") is False
    assert dict(app.config) == before


# --- middleware ---------------------------------------------------------------------------------


def test_add_middleware_last_added_is_outermost() -> None:
    log: list[str] = []
    app = Covet()

    @app.get("/")
    async def index() -> str:
        log.append("handler")
        return "ok"

    app.add_middleware(Recorder, name="inner", log=log)
    app.add_middleware(Recorder, name="outer", log=log)
    response = TestClient(app).get("/")
    assert response.status_code == 200
    assert log == ["enter outer", "enter inner", "handler", "exit inner", "exit outer"]
    # The outermost middleware sees the response last, so its tag comes last.
    assert response.headers.get_list("x-via") == ["inner", "outer"]


def test_middleware_argument_lists_outermost_first() -> None:
    log: list[str] = []
    app = Covet(
        middleware=[
            (Recorder, {"name": "outer", "log": log}),
            (Recorder, {"name": "inner", "log": log}),
        ]
    )

    @app.get("/")
    async def index() -> str:
        log.append("handler")
        return "ok"

    assert TestClient(app).get("/").status_code == 200
    assert log == ["enter outer", "enter inner", "handler", "exit inner", "exit outer"]


def test_middleware_argument_runs_outside_add_middleware() -> None:
    log: list[str] = []
    app = Covet(middleware=[(Recorder, {"name": "constructor", "log": log})])
    app.add_middleware(Recorder, name="added", log=log)

    @app.get("/")
    async def index() -> None:
        return None

    TestClient(app).get("/")
    # The constructor's list counts as added first, so a later add_middleware wraps it.
    assert log == ["enter added", "enter constructor", "exit constructor", "exit added"]


# --- before_request / after_request -------------------------------------------------------------


def test_before_request_without_arguments_runs_before_handler() -> None:
    app = Covet()
    log: list[str] = []

    @app.before_request
    def first() -> None:
        log.append("sync before")

    @app.before_request
    async def second() -> None:
        log.append("async before")

    @app.get("/")
    async def index() -> dict[str, Any]:
        log.append("handler")
        return {}

    TestClient(app).get("/")
    assert log == ["sync before", "async before", "handler"]


def test_before_request_receives_the_request_sync_and_async() -> None:
    app = Covet()

    @app.before_request
    def tag_sync(request: Request) -> None:
        request.state.sync_seen = request.path

    @app.before_request
    async def tag_async(request: Request) -> None:
        request.state.async_seen = request.method

    @app.get("/where")
    async def where(request: Request) -> dict[str, Any]:
        return {"sync": request.state.sync_seen, "async": request.state.async_seen}

    assert TestClient(app).get("/where").json() == {"sync": "/where", "async": "GET"}


def test_before_request_return_value_short_circuits_handler() -> None:
    app = Covet()
    called: list[str] = []

    @app.before_request
    async def guard(request: Request) -> Any:
        if "x-key" not in request.headers:
            return {"detail": "no key"}, 401
        return None

    @app.get("/")
    async def index() -> str:
        called.append("handler")
        return "secret"

    client = TestClient(app)
    denied = client.get("/")
    assert denied.status_code == 401
    assert denied.json() == {"detail": "no key"}
    assert called == []
    allowed = client.get("/", headers={"x-key": "1"})
    assert allowed.text == "secret"
    assert called == ["handler"]


def test_before_request_short_circuit_skips_later_hooks() -> None:
    app = Covet()
    log: list[str] = []

    @app.before_request
    def stop() -> Response:
        log.append("stop")
        return PlainTextResponse("stopped", status_code=503)

    @app.before_request
    def never() -> None:
        log.append("never")

    @app.get("/")
    def index() -> str:
        return "handler"  # pragma: no cover

    response = TestClient(app).get("/")
    assert (response.status_code, response.text) == (503, "stopped")
    assert log == ["stop"]


def test_after_request_receives_response_and_can_add_headers() -> None:
    app = Covet()
    seen: list[int] = []

    @app.after_request
    def sync_hook(response: Response) -> Response:
        seen.append(response.status_code)
        response.headers["x-sync"] = "1"
        return response

    @app.after_request
    async def async_hook(response: Response) -> Response:
        response.headers["x-async"] = "1"
        return response

    @app.get("/")
    async def index() -> tuple[dict[str, Any], int]:
        return {"ok": True}, 201

    response = TestClient(app).get("/")
    assert response.status_code == 201
    assert response.headers["x-sync"] == "1"
    assert response.headers["x-async"] == "1"
    assert seen == [201]


def test_after_request_can_replace_the_response() -> None:
    app = Covet()

    @app.after_request
    def replace(response: Response) -> Response:
        return PlainTextResponse("replaced", status_code=202)

    @app.get("/")
    async def index() -> str:
        return "original"

    response = TestClient(app).get("/")
    assert (response.status_code, response.text) == (202, "replaced")


def test_after_request_runs_for_error_responses() -> None:
    app = Covet()

    @app.after_request
    def stamp(response: Response) -> Response:
        response.headers["x-stamp"] = "yes"
        return response

    response = TestClient(app).get("/nowhere")
    assert response.status_code == 404
    assert response.headers["x-stamp"] == "yes"


def test_after_request_returning_none_is_an_error_naming_the_hook() -> None:
    app = Covet()

    @app.after_request
    def forgetful(response: Response) -> None:
        response.headers["x-a"] = "1"

    @app.get("/")
    async def index() -> str:
        return "ok"

    with pytest.raises(TypeError, match="forgetful"):
        TestClient(app).get("/")


# --- error handlers -------------------------------------------------------------------------------


def test_errorhandler_404_handles_unknown_paths_and_abort() -> None:
    app = Covet()

    @app.errorhandler(404)
    async def not_found(exc: HTTPException) -> tuple[dict[str, Any], int]:
        return {"error": "nothing here", "detail": exc.detail}, 404

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        raise HTTPException(404, "no such item")

    client = TestClient(app)
    unknown = client.get("/nope")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "nothing here"
    missing = client.get("/items/3")
    assert missing.status_code == 404
    assert missing.json() == {"error": "nothing here", "detail": "no such item"}


def test_errorhandler_for_status_keeps_status_when_handler_returns_body_only() -> None:
    app = Covet()

    @app.errorhandler(404)
    def not_found(exc: HTTPException) -> dict[str, Any]:
        return {"error": "gone"}

    response = TestClient(app).get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "gone"}


def test_default_http_exception_body_is_json_detail_with_headers() -> None:
    app = Covet()

    @app.get("/")
    async def index() -> None:
        raise HTTPException(403, "admins only", headers={"x-reason": "role"})

    response = TestClient(app).get("/")
    assert response.status_code == 403
    assert response.json() == {"detail": "admins only"}
    assert response.headers["x-reason"] == "role"


class ShopError(Exception):
    pass


class OutOfStock(ShopError):
    pass


def test_errorhandler_exception_class_handles_subclasses() -> None:
    app = Covet()

    @app.errorhandler(ShopError)
    async def shop_error(exc: ShopError) -> tuple[dict[str, Any], int]:
        return {"error": type(exc).__name__, "msg": str(exc)}, 409

    @app.get("/buy")
    async def buy() -> None:
        raise OutOfStock("none left")

    response = TestClient(app).get("/buy")
    assert response.status_code == 409
    assert response.json() == {"error": "OutOfStock", "msg": "none left"}


def test_errorhandler_most_specific_class_wins() -> None:
    app = Covet()

    @app.errorhandler(ShopError)
    def general(exc: ShopError) -> tuple[str, int]:
        return "general", 400

    @app.errorhandler(OutOfStock)
    def specific(exc: OutOfStock) -> tuple[str, int]:
        return "specific", 409

    @app.get("/buy")
    def buy() -> None:
        raise OutOfStock()

    response = TestClient(app).get("/buy")
    assert (response.status_code, response.text) == (409, "specific")


def test_errorhandler_500_handles_unhandled_errors() -> None:
    app = Covet()
    seen: list[BaseException] = []

    @app.errorhandler(500)
    def server_error(exc: Exception) -> tuple[dict[str, Any], int]:
        seen.append(exc)
        return {"error": "sorry"}, 500

    @app.get("/boom")
    def boom() -> None:
        raise ZeroDivisionError("oops")

    response = TestClient(app).get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "sorry"}
    assert isinstance(seen[0], ZeroDivisionError)


def test_errorhandler_rejects_non_error_status_and_non_exceptions() -> None:
    app = Covet()
    with pytest.raises(ValueError, match="200"):
        app.errorhandler(200)
    with pytest.raises(TypeError, match="'oops'"):
        app.errorhandler("oops")  # type: ignore[arg-type]


# --- unhandled exceptions and debug mode ----------------------------------------------------------


def _failing_app(debug: bool) -> Covet:
    app = Covet(debug=debug)

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("db password is hunter2")

    return app


def test_unhandled_exception_is_raised_in_test_by_default() -> None:
    with pytest.raises(ValueError, match="hunter2"):
        TestClient(_failing_app(debug=False)).get("/boom")


def test_production_500_is_bare_json_that_leaks_nothing() -> None:
    client = TestClient(_failing_app(debug=False), raise_server_exceptions=False)
    for accept in ("application/json", "text/html"):
        response = client.get("/boom", headers={"accept": accept})
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"detail": "Internal Server Error"}
        assert "hunter2" not in response.text
        assert "ValueError" not in response.text
        assert "Traceback" not in response.text


def test_debug_500_renders_html_traceback_for_browsers() -> None:
    client = TestClient(_failing_app(debug=True), raise_server_exceptions=False)
    response = client.get("/boom", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "ValueError: db password is hunter2" in response.text
    assert "Traceback" in response.text
    assert "boom" in response.text  # the failing frame is named


def test_debug_500_renders_json_traceback_otherwise() -> None:
    client = TestClient(_failing_app(debug=True), raise_server_exceptions=False)
    response = client.get("/boom", headers={"accept": "application/json"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "ValueError: db password is hunter2"
    assert any("boom" in line for line in body["traceback"])


def test_debug_html_traceback_escapes_exception_text() -> None:
    app = Covet(debug=True)

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("<script>alert(1)</script>")

    response = TestClient(app, raise_server_exceptions=False).get("/boom", headers={"accept": "text/html"})
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_production_500_with_middleware_leaks_nothing() -> None:
    app = _failing_app(debug=False)
    app.add_middleware(Recorder, name="mw", log=[])
    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert "hunter2" not in response.text


def test_exception_in_middleware_becomes_500_without_leaking() -> None:
    class Broken:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                raise RuntimeError("middleware secret")
            await self.app(scope, receive, send)

    app = Covet()
    app.add_middleware(Broken)

    @app.get("/")
    async def index() -> str:
        return "ok"  # pragma: no cover

    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert "middleware secret" not in response.text


# --- threading ------------------------------------------------------------------------------------


def test_sync_handlers_run_in_a_worker_thread() -> None:
    app = Covet()
    threads: dict[str, Any] = {}

    @app.before_request
    async def on_loop() -> None:
        threads["loop"] = threading.get_ident()

    @app.get("/sync")
    def in_thread() -> None:
        threads["sync"] = threading.get_ident()
        threads["sync_is_main"] = threading.current_thread() is threading.main_thread()

    TestClient(app).get("/sync")
    assert threads["sync"] != threads["loop"]
    assert threads["sync_is_main"] is False


def test_sync_handlers_with_parameters_run_in_a_worker_thread() -> None:
    app = Covet()
    threads: dict[str, int] = {}

    @app.before_request
    async def on_loop() -> None:
        threads["loop"] = threading.get_ident()

    @app.get("/sync")
    def in_thread(q: int) -> None:
        threads["sync"] = threading.get_ident()

    assert TestClient(app).get("/sync", params={"q": 1}).status_code == 204
    assert threads["sync"] != threads["loop"]


def test_sync_hooks_run_in_a_worker_thread() -> None:
    app = Covet()
    threads: dict[str, int] = {}

    @app.before_request
    async def on_loop() -> None:
        threads["loop"] = threading.get_ident()

    @app.before_request
    def sync_hook() -> None:
        threads["hook"] = threading.get_ident()

    @app.get("/")
    async def index() -> None:
        return None

    TestClient(app).get("/")
    assert threads["hook"] != threads["loop"]


def test_blocking_sync_handler_does_not_stall_the_loop() -> None:
    app = Covet()
    release = threading.Event()

    @app.get("/block")
    def block() -> str:
        assert release.wait(5)
        return "released"

    @app.get("/release")
    async def do_release() -> str:
        release.set()
        return "ok"

    results: dict[str, str] = {}

    async def main() -> None:
        from covet.testing import AsyncTestClient

        client = AsyncTestClient(app)

        async def blocked() -> None:
            results["block"] = (await client.get("/block")).text

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(blocked)
                await anyio.sleep(0.05)
                results["release"] = (await client.get("/release")).text
        await client.aclose()

    anyio.run(main)
    assert results == {"block": "released", "release": "ok"}


# --- setup methods after serving -----------------------------------------------------------------


@pytest.mark.parametrize(
    "setup",
    [
        lambda app: app.get("/late")(lambda: None),
        lambda app: app.add_route("/late", lambda: None),
        lambda app: app.before_request(lambda: None),
        lambda app: app.after_request(lambda response: response),
        lambda app: app.errorhandler(404)(lambda exc: None),
        lambda app: app.on_startup(lambda: None),
        lambda app: app.on_shutdown(lambda: None),
        lambda app: app.add_middleware(Recorder, name="late", log=[]),
    ],
    ids=[
        "get",
        "add_route",
        "before_request",
        "after_request",
        "errorhandler",
        "on_startup",
        "on_shutdown",
        "add_middleware",
    ],
)
def test_setup_methods_after_first_request_raise(setup: Any) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    assert TestClient(app).get("/").status_code == 200
    with pytest.raises(RuntimeError, match="after the application started"):
        setup(app)


def test_setup_methods_before_first_request_are_fine() -> None:
    app = Covet()
    app.add_middleware(Recorder, name="early", log=[])

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.before_request
    def hook() -> None:
        pass

    assert TestClient(app).get("/").status_code == 200


# --- ASGI protocol --------------------------------------------------------------------------------


def test_websocket_scope_without_route_is_closed_cleanly() -> None:
    app = Covet()
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/no-such-socket",
        "raw_path": b"/no-such-socket",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "subprotocols": [],
    }
    sent = run_asgi(app, scope, [{"type": "websocket.connect"}])
    assert sent, "the app must answer the websocket handshake"
    assert sent[-1]["type"] == "websocket.close"
    assert all(message["type"] != "websocket.accept" for message in sent)


def test_unknown_scope_type_is_refused_with_a_message() -> None:
    app = Covet()

    async def receive() -> dict[str, Any]:
        raise AssertionError("not called")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("not called")  # pragma: no cover

    async def main() -> None:
        await app({"type": "webtransport"}, receive, send)

    with pytest.raises(RuntimeError, match="'webtransport'"):
        anyio.run(main)


def test_app_is_an_asgi3_callable_for_http() -> None:
    app = Covet()

    @app.get("/hello")
    async def hello() -> JSONResponse:
        return JSONResponse({"hello": "world"})

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/hello",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.org")],
        "scheme": "http",
        "server": ("example.org", 80),
    }
    sent = run_asgi(app, scope, [{"type": "http.request", "body": b"", "more_body": False}])
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    body = b"".join(message.get("body", b"") for message in sent[1:])
    assert json.loads(body) == {"hello": "world"}


def test_client_disconnect_while_sending_still_tears_down_yield_dependencies() -> None:
    import anyio

    from covet import Covet, Depends, Response
    from covet.exceptions import ClientDisconnect

    closed: list[str] = []
    app = Covet()

    class GoneClientResponse(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise ClientDisconnect()

    async def resource():
        try:
            yield "r"
        finally:
            closed.append("closed")

    @app.get("/report")
    async def report(r: str = Depends(resource)) -> Response:
        return GoneClientResponse(b"...")

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        raise AssertionError("nothing is sent to a client that left")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/report", "raw_path": b"/report", "root_path": "",
        "query_string": b"", "headers": [(b"host", b"t")], "client": ("1.2.3.4", 5), "server": ("t", 80),
    }

    async def main() -> None:
        await app(scope, receive, send)
        # Checked before the event loop shuts down (which would finalize a forgotten generator).
        assert closed == ["closed"]

    anyio.run(main)

