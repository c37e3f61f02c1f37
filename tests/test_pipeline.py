"""The request pipeline: teardown on every way out, one send per response, the order of checks.

Each test is named after the failure it defends against (issue: "One request pipeline").
"""

# No `from __future__ import annotations`: handlers here annotate with local dependencies.
import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
import pytest

from covet import Blueprint, Covet, Depends, PlainTextResponse, Request, Response, StreamingResponse
from covet.routing import FOUND, NOT_FOUND, Route, Router
from covet.testing import TestClient
from covet.types import Message, Receive, Scope, Send

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")


def http_scope(method: str = "GET", path: str = "/", query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers or [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


def recorder(events: list[str]) -> Any:
    """A yield dependency that records its life, awaiting in its teardown as real ones do."""

    async def resource() -> AsyncIterator[str]:
        events.append("enter")
        try:
            yield "resource"
        except BaseException as exc:
            events.append(f"saw {type(exc).__name__}")
            raise
        finally:
            await anyio.sleep(0)  # a teardown that awaits (closing a connection) must get to
            events.append("exit")

    return resource


# --- teardown on every way out ------------------------------------------------------------------


def test_teardown_runs_when_the_request_task_is_cancelled() -> None:
    # A server cancels the request's task when the client goes away mid-handler. The teardown
    # must run then, and be able to await (not be cancelled again at its first await).
    events: list[str] = []
    app = Covet()
    entered = asyncio.Event()

    @app.get("/slow")
    async def slow(resource: Annotated[str, Depends(recorder(events))]) -> dict[str, str]:
        entered.set()
        await asyncio.sleep(3600)
        return {}  # pragma: no cover

    async def main() -> None:
        async def receive() -> Message:
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}  # pragma: no cover

        async def send(message: Message) -> None:
            events.append(message["type"])

        task = asyncio.ensure_future(app(http_scope(path="/slow"), receive, send))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert events == ["enter", "saw CancelledError", "exit"]


def test_teardown_runs_when_an_anyio_cancel_scope_cancels_the_request() -> None:
    # anyio's cancel scopes deliver the cancellation again at every await inside them: only a
    # shielded teardown gets past its first await.
    events: list[str] = []
    app = Covet()

    @app.get("/slow")
    async def slow(resource: Annotated[str, Depends(recorder(events))]) -> dict[str, str]:
        await anyio.sleep_forever()
        return {}  # pragma: no cover

    async def main() -> None:
        async def receive() -> Message:
            await anyio.sleep_forever()
            return {}  # pragma: no cover

        async def send(message: Message) -> None:
            events.append(message["type"])  # pragma: no cover

        with anyio.move_on_after(0.05):
            await app(http_scope(path="/slow"), receive, send)

    anyio.run(main)
    assert events == ["enter", "saw CancelledError", "exit"]


def test_teardown_runs_when_an_after_request_hook_raises() -> None:
    events: list[str] = []
    app = Covet()

    @app.after_request
    async def broken(response: Response) -> Response:
        raise RuntimeError("hook failed")

    @app.get("/")
    async def index(resource: Annotated[str, Depends(recorder(events))]) -> dict[str, str]:
        return {"resource": resource}

    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/")
    assert response.status_code == 500
    assert events == ["enter", "saw RuntimeError", "exit"]


def test_teardown_runs_when_the_client_disconnects_while_the_handler_reads() -> None:
    events: list[str] = []
    sent: list[Message] = []
    app = Covet()

    @app.post("/upload")
    async def upload(request: Request, resource: Annotated[str, Depends(recorder(events))]) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}  # pragma: no cover

    messages = iter([{"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)  # pragma: no cover

    anyio.run(app, http_scope("POST", "/upload"), receive, send)
    assert events == ["enter", "saw ClientDisconnect", "exit"]
    assert sent == []


def test_teardown_runs_when_the_response_fails_midway() -> None:
    # The stream breaks after the response started: no error response is possible any more, but
    # the dependency is still torn down, seeing the failure.
    events: list[str] = []
    app = Covet()

    @app.get("/stream")
    async def stream(resource: Annotated[str, Depends(recorder(events))]) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield b"a"
            raise RuntimeError("stream broke")

        return StreamingResponse(parts(), media_type="text/plain")

    async def receive() -> Message:
        await anyio.sleep_forever()
        return {}  # pragma: no cover

    async def send(message: Message) -> None:
        events.append(message["type"])

    with pytest.raises(RuntimeError, match="stream broke"):
        anyio.run(app, http_scope(path="/stream"), receive, send)
    assert events == [
        "enter",
        "http.response.start",
        "http.response.body",
        "saw RuntimeError",
        "exit",
    ]


def test_teardown_sees_the_handler_exception_before_the_error_response() -> None:
    events: list[str] = []
    app = Covet()

    @app.get("/")
    async def index(resource: Annotated[str, Depends(recorder(events))]) -> dict[str, str]:
        raise LookupError("missing")

    @app.errorhandler(LookupError)
    async def missing(exc: LookupError) -> Any:
        events.append("error handler")
        return {"detail": str(exc)}, 404

    response = TestClient(app).get("/")
    assert response.status_code == 404
    assert events == ["enter", "saw LookupError", "exit", "error handler"]


# --- teardown before or after the send ----------------------------------------------------------


def _served(app: Covet, path: str, events: list[str]) -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        events.append(message["type"])

    anyio.run(app, http_scope(path=path), receive, send)


def test_request_scoped_teardown_runs_after_the_response_is_sent() -> None:
    events: list[str] = []
    app = Covet()

    @app.get("/")
    async def index(resource: Annotated[str, Depends(recorder(events))]) -> dict[str, str]:
        return {}

    _served(app, "/", events)
    assert events == ["enter", "http.response.start", "http.response.body", "exit"]


def test_function_scoped_teardown_runs_before_the_response_is_sent() -> None:
    events: list[str] = []
    app = Covet()

    @app.get("/")
    async def index(resource: Annotated[str, Depends(recorder(events), scope="function")]) -> dict[str, str]:
        return {}

    _served(app, "/", events)
    assert events == ["enter", "exit", "http.response.start", "http.response.body"]


def test_function_scoped_teardown_failure_is_a_500_not_a_lost_write() -> None:
    # A commit in the teardown that fails must not leave the client with a 200.
    app = Covet()

    async def session() -> AsyncIterator[str]:
        yield "session"
        raise RuntimeError("commit failed")

    @app.get("/")
    async def index(db: Annotated[str, Depends(session, scope="function")]) -> dict[str, str]:
        return {"saved": db}

    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500


def test_function_scoped_teardown_failure_reaches_error_handlers() -> None:
    app = Covet()

    class CommitFailed(Exception):
        pass

    async def session() -> AsyncIterator[str]:
        yield "session"
        raise CommitFailed()

    @app.errorhandler(CommitFailed)
    async def conflict(exc: CommitFailed) -> Any:
        return {"detail": "conflict"}, 409

    @app.post("/")
    async def index(db: Annotated[str, Depends(session, scope="function")]) -> dict[str, str]:
        return {"saved": db}

    assert TestClient(app).post("/").status_code == 409


def test_sync_generator_dependency_with_function_scope_is_torn_down_before_the_send() -> None:
    events: list[str] = []
    app = Covet()

    def resource() -> Iterator[str]:
        events.append("enter")
        yield "r"
        events.append("exit")

    @app.get("/")
    def index(r: Annotated[str, Depends(resource, scope="function")]) -> dict[str, str]:
        return {"r": r}

    _served(app, "/", events)
    assert events == ["enter", "exit", "http.response.start", "http.response.body"]


def test_depends_scope_names_the_choices() -> None:
    with pytest.raises(ValueError, match="'request', 'function' or 'app'"):
        Depends(lambda: 1, scope="handler")


# --- the body comes before dependencies ---------------------------------------------------------


def test_body_is_read_before_dependencies_run() -> None:
    # A database-session dependency must not hold its connection while a slow client uploads.
    events: list[str] = []
    app = Covet()

    async def session() -> AsyncIterator[str]:
        events.append("dependency")
        yield "session"

    @app.post("/items")
    async def create(item: dict[str, int], db: Annotated[str, Depends(session)]) -> dict[str, int]:
        return item

    chunks = iter([b'{"a"', b": 1}"])

    async def receive() -> Message:
        chunk = next(chunks)
        events.append("chunk")
        return {"type": "http.request", "body": chunk, "more_body": chunk != b": 1}"}

    async def send(message: Message) -> None:
        pass

    scope = http_scope("POST", "/items", headers=[(b"content-type", b"application/json")])
    anyio.run(app, scope, receive, send)
    assert events == ["chunk", "chunk", "dependency"]


def test_form_is_read_before_dependencies_run() -> None:
    from covet import Form

    events: list[str] = []
    app = Covet()

    async def session() -> AsyncIterator[str]:
        events.append("dependency")
        yield "session"

    @app.post("/login")
    async def login(name: Annotated[str, Form()], db: Annotated[str, Depends(session)]) -> dict[str, str]:
        return {"name": name}

    chunks = iter([b"name=", b"ada"])

    async def receive() -> Message:
        chunk = next(chunks)
        events.append("chunk")
        return {"type": "http.request", "body": chunk, "more_body": chunk != b"ada"}

    async def send(message: Message) -> None:
        pass

    scope = http_scope("POST", "/login", headers=[(b"content-type", b"application/x-www-form-urlencoded")])
    anyio.run(app, scope, receive, send)
    assert events == ["chunk", "chunk", "dependency"]


# --- one order of checks on every path ----------------------------------------------------------


@pytest.mark.parametrize("shape", ["bare", "query", "dependency", "hooked"])
def test_too_many_query_fields_and_an_oversized_body_answer_413_on_every_route_shape(shape: str) -> None:
    # The body limit is checked first whatever the route needs: one order everywhere.
    app = Covet(max_body_size=16)

    async def constant() -> int:
        return 1

    if shape == "bare":

        @app.post("/items")
        async def items(item: dict[str, int]) -> dict[str, int]:
            return item  # pragma: no cover

    elif shape == "query":

        @app.post("/items")
        async def items(item: dict[str, int], q: int = 0) -> dict[str, int]:
            return item  # pragma: no cover

    elif shape == "dependency":

        @app.post("/items")
        async def items(item: dict[str, int], c: Annotated[int, Depends(constant)], q: int = 0) -> dict[str, int]:
            return item  # pragma: no cover

    else:

        @app.before_request
        async def hook() -> None:
            return None

        @app.post("/items")
        async def items(item: dict[str, int], q: int = 0) -> dict[str, int]:
            return item  # pragma: no cover

    query = "&".join(f"f{i}=1" for i in range(1500))
    response = TestClient(app).post(f"/items?{query}", content=b"{" + b'"a": 1, ' * 20 + b'"b": 2}', headers={"content-type": "application/json"})
    assert response.status_code == 413


# --- responses ------------------------------------------------------------------------------------


class AppendsHeader:
    """A middleware that edits the start message's headers in place (as many do)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def edit(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-edited", b"1"))
            await send(message)

        await self.app(scope, receive, edit)


CACHED = PlainTextResponse("cached")


def test_middleware_editing_headers_in_place_does_not_corrupt_a_reused_response() -> None:
    app = Covet()
    app.add_middleware(AppendsHeader)

    @app.get("/")
    async def index() -> Response:
        return CACHED

    client = TestClient(app)
    for _ in range(3):
        assert client.get("/").headers.get_list("x-edited") == ["1"]
    assert (b"x-edited", b"1") not in CACHED.raw_headers


def test_middleware_editing_headers_does_not_corrupt_a_response_sent_as_an_asgi_app() -> None:
    app = Covet()
    app.add_middleware(AppendsHeader)
    app.mount("/asset", CACHED)
    client = TestClient(app)
    for _ in range(2):
        assert client.get("/asset").headers.get_list("x-edited") == ["1"]
    assert (b"x-edited", b"1") not in CACHED.raw_headers


# --- mounts ---------------------------------------------------------------------------------------


async def fails_after_starting(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    raise RuntimeError("failed midway")


async def fails_before_starting(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("failed early")


def _messages(app: Covet, path: str) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError):
        anyio.run(app, http_scope(path=path), receive, send)
    return sent


def test_mounted_app_failing_after_starting_gets_no_second_response_start() -> None:
    app = Covet()
    app.mount("/sub", fails_after_starting)
    starts = [m for m in _messages(app, "/sub/x") if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [200]


def test_mounted_covet_app_failing_after_starting_gets_no_second_response_start() -> None:
    inner = Covet()

    @inner.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield b"a"
            raise RuntimeError("failed midway")

        return StreamingResponse(parts(), media_type="text/plain")

    app = Covet()
    app.mount("/sub", inner)
    starts = [m for m in _messages(app, "/sub/stream") if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [200]


def test_mounted_app_failing_before_starting_is_a_500() -> None:
    app = Covet()
    app.mount("/sub", fails_before_starting)
    starts = [m for m in _messages(app, "/sub/x") if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [500]


# --- setup is frozen ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["before_request", "after_request", "errorhandler", "get", "register_blueprint"])
def test_blueprint_setup_after_registration_raises_instead_of_being_ignored(method: str) -> None:
    bp = Blueprint("shop", url_prefix="/shop")

    @bp.get("/items")
    async def items() -> dict[str, Any]:
        return {}

    app = Covet()
    app.register_blueprint(bp)
    TestClient(app).get("/shop/items")

    async def hook(arg: Any = None) -> Any:
        return arg

    with pytest.raises(RuntimeError, match="already registered"):
        if method == "errorhandler":
            bp.errorhandler(404)(hook)
        elif method == "get":
            bp.get("/more")(hook)
        elif method == "register_blueprint":
            bp.register_blueprint(Blueprint("inner"))
        else:
            getattr(bp, method)(hook)


def test_hook_that_needs_two_arguments_is_refused_at_registration() -> None:
    app = Covet()

    async def hook(request: Request, extra: str) -> None:
        return None  # pragma: no cover

    with pytest.raises(TypeError, match="takes no arguments or one"):
        app.before_request(hook)


def test_sync_hooks_with_and_without_arguments_run_in_order() -> None:
    events: list[str] = []
    app = Covet()

    @app.before_request
    def first() -> None:
        events.append("first")

    @app.before_request
    async def second(request: Request) -> None:
        events.append(f"second {request.method}")

    @app.after_request
    def third(response: Response) -> Response:
        events.append("third")
        return response

    @app.get("/")
    async def index() -> dict[str, str]:
        events.append("handler")
        return {}

    assert TestClient(app).get("/").status_code == 200
    assert events == ["first", "second GET", "handler", "third"]


def test_routes_with_before_hooks_only_take_the_direct_runner_and_one_hook_is_the_step() -> None:
    from covet.pipeline import before_step, hook_caller

    app = Covet()
    api = Blueprint("api", __name__)
    seen: list[str] = []

    @app.before_request
    async def stop(request: Request) -> Any:
        seen.append("app")
        return {"stopped": True} if request.headers.get("x-stop") else None

    @api.after_request
    async def tag(response: Response) -> Response:
        response.headers["x-tag"] = "api"
        return response

    @app.post("/made", status_code=201)
    async def made() -> dict[str, int]:
        return {"made": 1}

    @api.get("/tagged")
    async def tagged() -> dict[str, int]:
        return {"tagged": 1}

    app.register_blueprint(api, url_prefix="/api")
    client = TestClient(app)
    r = client.post("/made")
    assert (r.status_code, r.json()) == (201, {"made": 1})
    # An early answer from a hook is the hook's, not the route's: a 200, as in Flask.
    r = client.post("/made", headers={"x-stop": "1"})
    assert (r.status_code, r.json()) == (200, {"stopped": True})
    r = client.get("/api/tagged")
    assert (r.status_code, r.json(), r.headers["x-tag"]) == (200, {"tagged": 1}, "api")
    assert seen == ["app", "app", "app"]
    runners = {route.name: route.runner.__qualname__ for route in app.routes}
    assert runners["made"].startswith("_direct_runner")
    assert runners["api.tagged"].startswith("_full_runner")
    # One hook is its own step (awaited with nothing of covet's around it); several share a loop.
    assert before_step([hook_caller(stop)]) is stop
    assert before_step([]) is None
    assert before_step([hook_caller(stop), hook_caller(stop)]) is not stop


# --- routing by scope type ------------------------------------------------------------------------


def test_router_keeps_websocket_routes_apart_from_http_routes() -> None:
    async def chat() -> None:
        return None  # pragma: no cover

    async def page() -> str:
        return ""  # pragma: no cover

    router = Router()
    router.add(Route("/chat", chat, methods=["GET"], name="chat", scope_type="websocket"))
    router.add(Route("/page", page, methods=["GET"], name="page"))
    assert router.resolve("GET", "/chat")[0] == NOT_FOUND
    assert router.resolve("GET", "/chat", "websocket")[:2] == (FOUND, router.names["chat"])
    assert router.resolve("GET", "/page", "websocket")[0] == NOT_FOUND
    with pytest.raises(ValueError, match="scope types"):
        Route("/x", page, methods=["GET"], name="x", scope_type="lifespan")


# --- yield dependencies that misbehave --------------------------------------------------------------


def test_dependency_that_yields_twice_is_an_error_not_a_hang() -> None:
    app = Covet()

    async def twice() -> AsyncIterator[int]:
        yield 1
        yield 2

    @app.get("/")
    async def index(value: Annotated[int, Depends(twice, scope="function")]) -> dict[str, int]:
        return {"value": value}

    with pytest.raises(RuntimeError, match="yielded more than once"):
        TestClient(app).get("/")


def test_dependency_that_never_yields_is_an_error_naming_it() -> None:
    app = Covet()

    def never() -> Iterator[int]:
        return
        yield 1  # pragma: no cover

    @app.get("/")
    async def index(value: Annotated[int, Depends(never)]) -> dict[str, int]:
        return {"value": value}  # pragma: no cover

    with pytest.raises(RuntimeError, match="did not yield"):
        TestClient(app).get("/")


def test_sync_generator_teardown_sees_the_handler_exception() -> None:
    events: list[str] = []
    app = Covet()

    def resource() -> Iterator[str]:
        try:
            yield "r"
        except LookupError as exc:
            events.append(f"rolled back after {exc}")
            raise

    @app.get("/")
    def index(r: Annotated[str, Depends(resource)]) -> dict[str, str]:
        raise LookupError("missing")

    @app.errorhandler(LookupError)
    async def missing(exc: LookupError) -> Any:
        return {"detail": str(exc)}, 404

    assert TestClient(app).get("/").status_code == 404
    assert events == ["rolled back after missing"]
