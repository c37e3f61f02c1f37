"""Request ids, the RequestIdFilter and the access log, asserted on the log records themselves."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from typing import Any

import pytest

from covet import BackgroundTasks, Covet, Request, WebSocket
from covet.observability import (
    UNMATCHED,
    AccessLogMiddleware,
    RequestIdFilter,
    RequestIdMiddleware,
    get_request_id,
)
from covet.testing import TestClient

HEX_ID = re.compile(r"[0-9a-f]{32}")


class Records(logging.Handler):
    """Keeps the records of one logger, filtered like a user's handler would be."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def user_log() -> Records:
    logger = logging.getLogger("tests.shop")
    logger.setLevel(logging.INFO)
    handler = Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def access_log() -> Records:
    logger = logging.getLogger("covet.access")
    old = logger.level
    logger.setLevel(logging.INFO)
    handler = Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


def make_app(format: str = "json") -> Covet:
    app = Covet()
    log = logging.getLogger("tests.shop")

    def audit(item_id: int) -> None:
        log.info("audited %s", item_id)

    @app.get("/items/<int:item_id>")
    async def item(item_id: int, request: Request, tasks: BackgroundTasks) -> dict:
        log.info("serving %s", item_id)
        tasks.add_task(audit, item_id)
        return {"id": request.id, "ctx": get_request_id()}

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("kaput")

    app.add_middleware(AccessLogMiddleware, format=format)
    app.add_middleware(RequestIdMiddleware)
    return app


def test_request_id_is_made_echoed_and_shared_with_handler_and_logs(user_log: Records) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/items/3")
    request_id = response.headers["x-request-id"]
    assert HEX_ID.fullmatch(request_id)
    assert response.json() == {"id": request_id, "ctx": request_id}
    # The handler's record and the background task's (after the response) carry the id.
    assert [(r.getMessage(), r.request_id) for r in user_log.records] == [
        ("serving 3", request_id),
        ("audited 3", request_id),
    ]
    assert get_request_id() is None


def test_request_ids_differ_per_request() -> None:
    with TestClient(make_app()) as client:
        ids = {client.get("/items/1").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("incoming", ["abc-123", "trace:4bf92f35.span_1", "a" * 128, "0"])
def test_valid_incoming_request_id_is_honoured(incoming: str) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/items/1", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming
    assert response.json()["id"] == incoming


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 129,  # over the length cap
        "",  # empty
        "id with spaces",
        'quote"injection',
        "log\tforging",
        "caf\u00e9",  # not ASCII
        "x-request-id, second",  # comma-joined duplicates
        "{jndi:ldap://evil}",
    ],
)
def test_hostile_incoming_request_id_is_replaced(hostile: str) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/items/1", headers={"X-Request-ID": hostile.encode("latin-1")})
    assert response.status_code == 200
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


def test_untrusted_incoming_request_id_is_ignored() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> dict:
        return {"id": request.id}

    app.add_middleware(RequestIdMiddleware, trust_incoming=False, header_name="X-Correlation-ID")
    with TestClient(app) as client:
        response = client.get("/", headers={"x-correlation-id": "mine"})
    assert response.headers["x-correlation-id"] != "mine"
    assert response.json()["id"] == response.headers["x-correlation-id"]


def test_bad_header_name_is_refused_at_setup() -> None:
    with pytest.raises(ValueError, match="header field name"):
        RequestIdMiddleware(Covet(), header_name="x request id")


def test_request_id_without_the_middleware_says_what_to_add() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> str:
        return request.id

    with TestClient(app) as client, pytest.raises(RuntimeError, match="RequestIdMiddleware"):
        client.get("/")


def test_covet_loggers_get_the_filter() -> None:
    make_app()
    for name in ("covet", "covet.access"):
        assert any(isinstance(f, RequestIdFilter) for f in logging.getLogger(name).filters)


def test_filter_outside_a_request_says_dash() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    assert RequestIdFilter().filter(record) is True
    assert record.request_id == "-"


def test_access_log_json_line(access_log: Records) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/items/7", headers={"user-agent": "probe"})
    [record] = access_log.records
    line = json.loads(record.getMessage())
    assert line.pop("time").endswith("Z")
    assert line.pop("duration_ms") >= 0
    assert line == {
        "method": "GET",
        "route": "/items/<int:item_id>",
        "status": 200,
        "bytes": len(response.content),
        "client": "testclient",
        "request_id": response.headers["x-request-id"],
    }
    assert record.levelno == logging.INFO
    assert record.route == "/items/<int:item_id>" and record.status == 200
    assert record.request_id == response.headers["x-request-id"]


def test_access_log_scanner_paths_share_one_label(access_log: Records) -> None:
    with TestClient(make_app()) as client:
        for n in range(5):
            assert client.get(f"/wp-admin/{n}.php").status_code == 404
        client.post("/items/1")  # 405: matched a path, not a route
    routes = {json.loads(r.getMessage())["route"] for r in access_log.records}
    assert routes == {UNMATCHED}
    assert "wp-admin" not in " ".join(r.getMessage() for r in access_log.records)


def test_access_log_unhandled_exception_is_500(access_log: Records) -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    [record] = access_log.records
    assert json.loads(record.getMessage())["status"] == 500
    assert record.route == "/boom"


def test_unhandled_exception_500_carries_the_request_id_and_is_logged_once(access_log: Records) -> None:
    # Behind observers only, the app renders the 500 inside them (no outer error layer): the
    # response they record is the one the client gets, request id included.
    app = make_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"x-request-id": "req-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-500"
    [record] = access_log.records
    assert record.status == 500 and record.request_id == "req-500"
    # The stages' one layer (its written-out function), nothing around it.
    assert app._stack.__name__ == "observe" and "RequestIdMiddleware" in app._stack.__code__.co_filename


def test_access_log_combined_format(access_log: Records) -> None:
    with TestClient(make_app("combined")) as client:
        response = client.get("/items/7", headers={"user-agent": 'evil"agent', "referer": "http://a/"})
    [record] = access_log.records
    pattern = (
        r'testclient - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /items/<int:item_id> HTTP/1.1" '
        rf'200 {len(response.content)} "http://a/" "evil\\x22agent"'
    )
    assert re.fullmatch(pattern, record.getMessage()), record.getMessage()



def test_access_log_combined_client_cannot_forge_fields(access_log: Records) -> None:
    # The client is the one unquoted text field: a server (or a proxy header) may give any text.
    with TestClient(make_app("combined"), client=('1.2.3.4 - - [01/Jan/2030] "GET /admin', 5)) as client:
        client.get("/items/7")
    [record] = access_log.records
    assert record.getMessage().startswith('1.2.3.4\\x20-\\x20-\\x20[01/Jan/2030]\\x20\\x22GET\\x20/admin - - ['), record.getMessage()


def test_access_log_times_follow_the_clock_across_seconds(access_log: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    # Timestamps are formatted once per second: a new second gets a new stamp.
    import covet.observability.access_log as module

    clock = iter([1_700_000_000.25, 1_700_000_000.5, 1_700_000_061.999])
    monkeypatch.setattr(module, "_wall_clock", lambda: next(clock))
    with TestClient(make_app()) as client:
        for _ in range(3):
            client.get("/items/1")
    stamps = [json.loads(record.getMessage())["time"] for record in access_log.records]
    assert stamps == ["2023-11-14T22:13:20.250Z", "2023-11-14T22:13:20.500Z", "2023-11-14T22:14:21.999Z"]


def test_access_log_honours_logger_filters_and_disabled(access_log: Records) -> None:
    logger = logging.getLogger("covet.access")
    refuse_boom = logging.Filter()
    refuse_boom.filter = lambda record: record.route != "/boom"  # type: ignore[method-assign]
    logger.addFilter(refuse_boom)
    try:
        with TestClient(make_app(), raise_server_exceptions=False) as client:
            client.get("/items/1")
            client.get("/boom")
            logger.disabled = True
            client.get("/items/2")
    finally:
        logger.disabled = False
        logger.removeFilter(refuse_boom)
    assert [record.route for record in access_log.records] == ["/items/<int:item_id>"]

def test_access_log_disabled_logger_costs_no_record(access_log: Records) -> None:
    logging.getLogger("covet.access").setLevel(logging.WARNING)
    with TestClient(make_app()) as client:
        assert client.get("/items/1").status_code == 200
    assert access_log.records == []


def test_access_log_unknown_format_refused() -> None:
    with pytest.raises(ValueError, match="json"):
        AccessLogMiddleware(Covet(), format="apache")


def test_mounted_app_is_labelled_by_its_prefix(access_log: Records) -> None:
    inner = Covet()

    @inner.get("/x/<int:n>")
    async def x(n: int) -> dict:
        return {"n": n}

    app = Covet()
    app.mount("/sub", inner)
    app.add_middleware(AccessLogMiddleware)
    with TestClient(app) as client:
        assert client.get("/sub/x/1").status_code == 200
    assert [r.route for r in access_log.records] == ["/sub/*"]


def test_stacked_observability_middleware_run_as_one_layer(access_log: Records) -> None:
    from covet.observability import PrometheusMiddleware

    inner = Covet()

    @inner.get("/")
    async def index(request: Request) -> dict:
        return {"id": request.id}

    prometheus = pytest.importorskip("prometheus_client")
    stack = RequestIdMiddleware(AccessLogMiddleware(PrometheusMiddleware(inner, registry=prometheus.CollectorRegistry())))
    assert [type(stage).__name__ for stage in stack.stages] == [
        "RequestIdMiddleware",
        "AccessLogMiddleware",
        "PrometheusMiddleware",
    ]
    assert stack.app is inner
    with TestClient(stack) as client:
        response = client.get("/", headers={"x-request-id": "one-layer"})
    assert response.json() == {"id": "one-layer"}
    # The request id stage began before the access log's line was made, and ended after it.
    [record] = access_log.records
    assert record.request_id == "one-layer" and get_request_id() is None


class Passthrough:
    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        await self.app(scope, receive, send)  # type: ignore[operator]


def test_observability_middleware_apart_still_compose(access_log: Records) -> None:
    app = make_app()
    app.user_middleware.insert(1, (Passthrough, {}))  # between the access log and the request id
    with TestClient(app) as client:
        response = client.get("/items/2")
    [record] = access_log.records
    assert json.loads(record.getMessage())["request_id"] == response.headers["x-request-id"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_worker_does_not_repeat_its_parents_ids() -> None:
    from covet.observability.request_id import _new_id

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, " ".join(_new_id() for _ in range(3)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = set(os.read(read, 200).decode().split())
    os.close(read)
    os.close(write)
    parent = {_new_id() for _ in range(3)}
    assert len(child) == 3 and not child & parent
    assert all(HEX_ID.fullmatch(each) for each in child | parent)


def test_observer_subclass_with_its_own_call_is_still_called_when_outermost() -> None:
    # The app calls an outermost observers' layer through the code written for its stages, one
    # coroutine fewer; a subclass that overrides __call__ (to skip a path, say) must still run.
    seen: list[str] = []

    class SkipHealth(RequestIdMiddleware):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["type"])
            if scope.get("path") == "/health":
                await self.app(scope, receive, send)
                return
            await super().__call__(scope, receive, send)

    app = Covet()

    @app.get("/health")
    async def health() -> str:
        return "ok"

    app.add_middleware(SkipHealth)
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 200 and "x-request-id" not in response.headers
    assert "http" in seen


@pytest.mark.parametrize("observers_outermost", [True, False])
def test_500_behind_other_middleware_still_carries_the_request_id(access_log: Records, observers_outermost: bool) -> None:
    # With a middleware that could answer (GZip, CORS) the 500 is rendered outside it; the id the
    # client quotes to support must still be on it, whichever order the middleware were added in.
    from covet.middleware import GZipMiddleware

    app = Covet()

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("kaput")

    if observers_outermost:
        app.add_middleware(GZipMiddleware)
        app.add_middleware(AccessLogMiddleware)
        app.add_middleware(RequestIdMiddleware)
    else:
        app.add_middleware(AccessLogMiddleware)
        app.add_middleware(RequestIdMiddleware)
        app.add_middleware(GZipMiddleware)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"x-request-id": "quote-me"})
    assert response.status_code == 500
    assert response.headers.get_list("x-request-id") == ["quote-me"]
    [record] = access_log.records
    assert (record.status, record.request_id) == (500, "quote-me")
    if observers_outermost:  # they saw the 500 itself go out
        assert record.bytes == len(response.content)



@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes (PEP 678) are Python 3.11+")
def test_unhandled_exception_carries_the_request_id_for_the_servers_traceback() -> None:
    # The server logs the traceback after the request's context is gone: the id rides on the
    # exception as a note, which every traceback printer shows.
    with TestClient(make_app()) as client:
        with pytest.raises(RuntimeError) as info:
            client.get("/boom", headers={"x-request-id": "find-me"})
    assert info.value.__notes__ == ["request id: find-me"]
    assert "request id: find-me" in "".join(traceback.format_exception(info.value))


def test_websocket_connections_get_a_request_id_for_their_whole_life(user_log: Records) -> None:
    app = Covet()
    log = logging.getLogger("tests.shop")

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        log.info("connected")
        text = await websocket.receive_text()
        await websocket.send_json({"id": websocket.id, "ctx": get_request_id(), "got": text})
        await websocket.close()

    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    with TestClient(app) as client:
        with client.websocket_connect("/ws", headers={"x-request-id": "ws-1"}) as ws:
            ws.send_text("hi")
            assert ws.receive_json() == {"id": "ws-1", "ctx": "ws-1", "got": "hi"}
        with client.websocket_connect("/ws", headers={"x-request-id": "bad id"}) as ws:
            ws.send_text("hi")
            made = ws.receive_json()
    assert HEX_ID.fullmatch(made["id"]) and made["ctx"] == made["id"]
    assert [record.request_id for record in user_log.records] == ["ws-1", made["id"]]
    assert get_request_id() is None


def test_request_id_variable_never_shares_the_request_variables_hash_slot() -> None:
    # Both are set on every observed request; sharing a first-level slot of the context's hash
    # tree costs a nested node per set and reset (1.9k instructions per request, measured).
    import contextvars

    from covet.globals import _request_var
    from covet.observability import request_id

    assert request_id._slot(request_id._request_id) != request_id._slot(_request_var)
    others = [contextvars.ContextVar(f"v{n}") for n in range(64)]
    for other in others:
        made = request_id._apart_from(other, "covet.test")
        assert request_id._slot(made) != request_id._slot(other)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes (PEP 678) are Python 3.11+")
def test_one_exception_raised_by_many_requests_names_only_the_latest() -> None:
    # A module-level exception instance (or a failed future shared by waiters) raised again and
    # again must not collect a note per request.
    unavailable = RuntimeError("upstream unavailable")
    unavailable.add_note("kept: the app's own note")
    app = Covet()

    @app.get("/")
    async def index() -> dict:
        raise unavailable

    app.add_middleware(RequestIdMiddleware)
    with TestClient(app, raise_server_exceptions=False) as client:
        for n in range(50):
            client.get("/", headers={"x-request-id": f"r{n}"})
    assert unavailable.__notes__ == ["kept: the app's own note", "request id: r49"]


def test_websocket_stage_disconnects_run_even_when_an_inner_connect_fails() -> None:
    from covet.observability._layer import Stage

    calls: list[str] = []

    class Outer(Stage):
        def connect(self, scope: Any) -> str:
            calls.append("outer connect")
            return "token"

        def disconnect(self, scope: Any, token: str) -> None:
            calls.append(f"outer disconnect {token}")

    class Broken(Stage):
        def connect(self, scope: Any) -> None:
            raise RuntimeError("connect failed")

    class OnlyDisconnect(Stage):
        def disconnect(self, scope: Any, token: Any) -> None:
            calls.append(f"only-disconnect {token}")

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        calls.append("app")

    import asyncio

    asyncio.run(OnlyDisconnect(inner).entry()({"type": "websocket"}, None, None))
    assert calls == ["app", "only-disconnect None"]
    calls.clear()
    with pytest.raises(RuntimeError, match="connect failed"):
        asyncio.run(Outer(Broken(inner)).entry()({"type": "websocket"}, None, None))
    assert calls == ["outer connect", "outer disconnect token"]
