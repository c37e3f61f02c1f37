"""Background work never fails silently: BackgroundTasks, Response(background=...), app.spawn()."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import anyio
import pytest

from covet import BackgroundTasks, Covet, HTTPException, PlainTextResponse, Request
from covet.background import BackgroundTask
from covet.testing import TestClient

pytestmark = pytest.mark.usefixtures("serving_mode")


def test_a_failing_task_is_reported_and_the_tasks_after_it_still_run(caplog: pytest.LogCaptureFixture) -> None:
    app = Covet()
    ran: list[str] = []
    reported: list[tuple[str, str, str]] = []

    @app.on_background_error
    async def report(exc: Exception, request: Request) -> None:
        reported.append((repr(exc), request.method, request.url.path))

    def fail(what: str) -> None:
        raise ValueError(what)

    @app.post("/signup")
    async def signup(tasks: BackgroundTasks) -> dict[str, bool]:
        tasks.add_task(ran.append, "first")
        tasks.add_task(fail, "smtp down")
        tasks.add_task(ran.append, "third")
        return {"ok": True}

    with caplog.at_level(logging.ERROR, "covet.background"), TestClient(app) as client:
        response = client.post("/signup")
    assert response.status_code == 200 and response.json() == {"ok": True}  # the response stands
    assert ran == ["first", "third"]
    assert reported == [("ValueError('smtp down')", "POST", "/signup")]
    assert "POST /signup" in caplog.text and "smtp down" in caplog.text and "fail" in caplog.text


def test_error_functions_may_be_sync_take_only_the_exception_and_fail_without_harm(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Covet()
    seen: list[str] = []

    @app.on_background_error
    def broken(exc: Exception) -> None:
        raise RuntimeError("the reporter is down too")

    @app.on_background_error
    def sync_report(exc: Exception) -> None:
        seen.append(f"{exc}@{threading.current_thread() is threading.main_thread()}")

    async def fail() -> None:
        raise KeyError("k")

    @app.get("/")
    async def index(tasks: BackgroundTasks) -> str:
        tasks.add_task(fail)
        return "ok"

    with caplog.at_level(logging.ERROR, "covet.background"), TestClient(app) as client:
        assert client.get("/").text == "ok"
    assert seen == ["'k'@False"]  # a sync function runs in a worker thread
    assert "the reporter is down too" in caplog.text


def test_tasks_queued_before_the_handler_raised_still_run_when_an_error_handler_answers() -> None:
    app = Covet()
    ran: list[str] = []

    @app.errorhandler(409)
    async def conflict(exc: HTTPException) -> Any:
        return {"error": "conflict"}, 409

    @app.post("/order")
    async def order(tasks: BackgroundTasks) -> None:
        tasks.add_task(ran.append, "audit")
        raise HTTPException(409)

    with TestClient(app) as client:
        response = client.post("/order")
    assert response.status_code == 409 and response.json() == {"error": "conflict"}
    assert ran == ["audit"]


def test_a_response_background_task_failure_is_reported_not_raised() -> None:
    app = Covet()
    reported: list[tuple[str, str]] = []

    @app.on_background_error
    async def report(exc: Exception, request: Request) -> None:
        reported.append((str(exc), request.url.path))

    def fail() -> None:
        raise ValueError("late")

    @app.get("/file")
    async def file() -> PlainTextResponse:
        return PlainTextResponse("body", background=BackgroundTask(fail))

    with TestClient(app) as client:
        assert client.get("/file").text == "body"
    assert reported == [("late", "/file")]


# --- app.spawn ----------------------------------------------------------------------------------


@pytest.mark.plain_only
def test_spawn_runs_for_the_app_lifetime_and_reports_failures() -> None:
    app = Covet(background_grace_period=0.01)
    events: list[str] = []
    reported: list[tuple[str, Any]] = []
    started = threading.Event()

    @app.on_background_error
    async def report(exc: Exception, request: Any) -> None:
        reported.append((str(exc), request))

    async def ticker(name: str) -> None:
        events.append(f"{name} started")
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            events.append(f"{name} cancelled")

    async def broken() -> None:
        raise ValueError("spawned failure")

    @app.on_startup
    async def start() -> None:
        app.spawn(ticker, "from startup")

    @app.post("/jobs")
    async def jobs() -> str:
        app.spawn(broken)
        return "queued"

    with TestClient(app) as client:
        assert client.post("/jobs").text == "queued"
        assert started.wait(5)
        for _ in range(500):
            if reported:
                break
            time.sleep(0.01)
        assert events == ["from startup started"]
    assert events == ["from startup started", "from startup cancelled"]
    assert reported == [("spawned failure", None)]


@pytest.mark.plain_only
def test_spawned_work_gets_the_grace_period_to_finish_before_teardown() -> None:
    events: list[str] = []

    async def lifespan(app: Covet) -> Any:
        yield
        events.append("teardown")

    app = Covet(lifespan=lifespan, background_grace_period=5)

    async def flush() -> None:
        await anyio.sleep(0.05)
        events.append("flushed")

    @app.post("/flush")
    async def flush_route() -> str:
        app.spawn(flush)
        return "ok"

    with TestClient(app) as client:
        client.post("/flush")
    assert events == ["flushed", "teardown"]


def test_spawn_outside_the_lifespan_says_how_to_run_the_app() -> None:
    app = Covet()

    async def work() -> None: ...

    with pytest.raises(RuntimeError, match="needs the app running"):
        app.spawn(work)
    with pytest.raises(ValueError, match="background_grace_period"):
        Covet(background_grace_period=-1)



def test_spawn_from_sync_handlers_and_startup_functions() -> None:
    # A Flask user's plain def handler and startup function run in worker threads: app.spawn()
    # there starts the work on the app's event loop.
    app = Covet()
    done: list[str] = []
    finished = threading.Event()

    def work(name: str) -> None:
        done.append(name)
        if len(done) == 3:
            finished.set()

    async def async_work(name: str) -> None:
        work(name)

    @app.on_startup
    def start() -> None:
        app.spawn(work, "startup")

    @app.post("/jobs")
    def jobs() -> dict[str, bool]:
        app.spawn(work, "sync handler")
        app.spawn(async_work, "async from sync")
        return {"queued": True}

    with TestClient(app) as client:
        assert client.post("/jobs").json() == {"queued": True}
        assert finished.wait(5)
    assert sorted(done) == ["async from sync", "startup", "sync handler"]


def test_spawn_from_a_thread_covet_did_not_start_says_where_to_call_it() -> None:
    app = Covet()
    errors: list[BaseException] = []

    def elsewhere() -> None:
        try:
            app.spawn(print)
        except RuntimeError as exc:
            errors.append(exc)

    with TestClient(app):
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join(5)
    assert len(errors) == 1 and "not from a thread covet did not start" in str(errors[0])

@pytest.mark.plain_only
def test_spawn_refuses_a_coroutine_object() -> None:
    app = Covet()

    async def work() -> None: ...

    with TestClient(app):
        coroutine = work()
        with pytest.raises(TypeError, match=r"app.spawn\(fn, x\)"):
            app.spawn(coroutine)  # type: ignore[arg-type]
        coroutine.close()
