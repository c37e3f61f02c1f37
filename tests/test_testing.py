"""covet.testing: TestClient, AsyncTestClient and the ``covet_client`` pytest fixture."""

from __future__ import annotations

import gc
import json
import sys
from typing import Any

import anyio
import pytest

from covet import Covet, JSONResponse, RedirectResponse, Request, Response
from covet.testing import AsyncTestClient, TestClient
from covet.types import Receive, Scope, Send

pytest_plugins = ["pytester"]


def make_app(events: list[str] | None = None) -> Covet:
    """An app that echoes what it receives and records lifespan events in ``events``."""
    app = Covet()
    log = events if events is not None else []

    @app.on_startup
    def started() -> None:
        log.append("startup")

    @app.on_shutdown
    async def stopped() -> None:
        log.append("shutdown")

    @app.route("/echo", methods=["GET", "POST", "PUT"])
    async def echo(request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "query": {key: request.query_params.getlist(key) for key in request.query_params},
            "x_token": request.headers.get("x-token"),
            "cookies": request.cookies,
            "content_type": request.headers.get("content-type"),
            "body": (await request.body()).decode("latin-1"),
        }

    @app.post("/form")
    async def form(request: Request) -> dict[str, Any]:
        data = await request.form()
        upload = data["f"]
        assert not isinstance(upload, str)
        return {
            "name": data["name"],
            "filename": upload.filename,
            "file_type": upload.content_type,
            "file": (await upload.read()).decode(),
        }

    @app.get("/login")
    async def login() -> Response:
        response = JSONResponse({"ok": True})
        response.set_cookie("session", "abc123")
        return response

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return {"session": request.cookies.get("session")}

    @app.get("/old")
    async def old() -> Response:
        return RedirectResponse("/target", status_code=302)

    @app.get("/target")
    async def target() -> str:
        return "arrived"

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("kaboom")

    return app


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI app with no lifespan support and no framework."""
    if scope["type"] == "lifespan":
        raise RuntimeError("no lifespan here")
    assert scope["type"] == "http"
    body = f"{scope['method']} {scope['path']} {scope['query_string'].decode()}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def test_context_manager_runs_startup_and_shutdown() -> None:
    events: list[str] = []
    client = TestClient(make_app(events))
    with client:
        assert events == ["startup"]
        assert client.get("/target").text == "arrived"
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


def test_lifespan_context_state_reaches_requests() -> None:
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(app: Covet) -> Any:
        yield {"db": "connected"}

    app = Covet(lifespan=lifespan)

    @app.get("/db")
    async def db(request: Request) -> dict[str, Any]:
        return {"db": request.state.db}

    with TestClient(app) as client:
        assert client.get("/db").json() == {"db": "connected"}


def test_unclosed_lifespan_streams_after_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Warnings are errors: a client that leaks anyio streams breaks whichever test runs gc next.
    gc.collect()
    leaks: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: leaks.append(info.exc_value))

    async def use_async() -> None:
        async with AsyncTestClient(make_app()) as client:
            await client.get("/target")

    failing = Covet()

    @failing.on_startup
    def broken() -> None:
        raise RuntimeError("startup failed")

    with TestClient(make_app()) as client:
        client.get("/target")
    with pytest.raises(RuntimeError):
        with TestClient(failing):
            pass
    anyio.run(use_async)
    del client
    gc.collect()
    assert leaks == []


def test_startup_failure_is_raised_by_enter() -> None:
    app = Covet()

    @app.on_startup
    def broken() -> None:
        raise RuntimeError("no database")

    with pytest.raises(RuntimeError, match="no database"):
        with TestClient(app):
            pass


def test_requests_work_without_context_manager_and_skip_lifespan() -> None:
    events: list[str] = []
    client = TestClient(make_app(events))
    assert client.get("/target").text == "arrived"
    assert client.post("/echo", json={"a": 1}).json()["method"] == "POST"
    assert events == []
    client.close()


def test_params_headers_and_content() -> None:
    with TestClient(make_app()) as client:
        r = client.put(
            "/echo",
            params={"q": ["x", "y"], "n": "1"},
            headers={"X-Token": "secret"},
            content=b"raw bytes",
        )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["method"] == "PUT"
    assert data["query"] == {"q": ["x", "y"], "n": ["1"]}
    assert data["x_token"] == "secret"
    assert data["body"] == "raw bytes"


def test_json_argument_sends_json_body() -> None:
    with TestClient(make_app()) as client:
        data = client.post("/echo", json={"name": "ada", "n": [1, 2]}).json()
    assert data["content_type"] == "application/json"
    assert json.loads(data["body"]) == {"name": "ada", "n": [1, 2]}


def test_data_and_files_send_multipart_form() -> None:
    with TestClient(make_app()) as client:
        r = client.post("/form", data={"name": "ada"}, files={"f": ("a.txt", b"file body", "text/plain")})
    assert r.status_code == 200
    assert r.json() == {"name": "ada", "filename": "a.txt", "file_type": "text/plain", "file": "file body"}


def test_data_alone_sends_urlencoded_form() -> None:
    with TestClient(make_app()) as client:
        data = client.post("/echo", data={"a": "1", "b": "two words"}).json()
    assert data["content_type"] == "application/x-www-form-urlencoded"
    assert data["body"] == "a=1&b=two+words"


def test_timeout_argument_is_accepted() -> None:
    with TestClient(make_app()) as client:
        r = client.get("/target", timeout=5.0)
    assert r.status_code == 200
    assert r.request.extensions["timeout"]["read"] == 5.0


def test_per_request_cookies_without_deprecation_warning() -> None:
    # pyproject turns warnings into errors, so httpx's per-request cookie warning would fail here.
    with TestClient(make_app()) as client:
        data = client.get("/echo", cookies={"flavour": "oat", "size": "big"}).json()
    assert data["cookies"] == {"flavour": "oat", "size": "big"}


def test_per_request_cookies_merge_with_client_jar() -> None:
    with TestClient(make_app()) as client:
        client.get("/login")
        data = client.get("/echo", cookies={"extra": "1"}).json()
        # A per-request cookie is not stored in the jar.
        assert client.get("/echo").json()["cookies"] == {"session": "abc123"}
    assert data["cookies"] == {"session": "abc123", "extra": "1"}


def test_client_level_cookies_are_sent() -> None:
    with TestClient(make_app(), cookies={"session": "preset"}) as client:
        assert client.get("/whoami").json() == {"session": "preset"}


def test_cookies_set_by_app_persist_across_calls() -> None:
    with TestClient(make_app()) as client:
        assert client.get("/whoami").json() == {"session": None}
        r = client.get("/login")
        assert r.cookies["session"] == "abc123"
        assert client.get("/whoami").json() == {"session": "abc123"}
        assert client.get("/whoami").json() == {"session": "abc123"}


def test_redirects_are_followed_by_default() -> None:
    with TestClient(make_app()) as client:
        r = client.get("/old")
    assert r.status_code == 200
    assert r.text == "arrived"
    assert str(r.url) == "http://testserver/target"
    assert [h.status_code for h in r.history] == [302]


def test_redirects_not_followed_when_disabled_per_request() -> None:
    with TestClient(make_app()) as client:
        r = client.get("/old", follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "/target"


def test_redirects_not_followed_when_disabled_on_client() -> None:
    with TestClient(make_app(), follow_redirects=False) as client:
        assert client.get("/old").status_code == 302
        assert client.get("/old", follow_redirects=True).text == "arrived"


def test_server_exceptions_are_raised_by_default() -> None:
    with TestClient(make_app()) as client:
        with pytest.raises(ValueError, match="kaboom"):
            client.get("/boom")
        # The client still works after the exception.
        assert client.get("/target").status_code == 200


def test_server_exceptions_return_500_when_not_raised() -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500
    assert "kaboom" not in r.text


def test_raw_app_exception_returns_500_when_not_raised() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise KeyError("raw failure")

    client = TestClient(broken, raise_server_exceptions=False)
    assert client.get("/").status_code == 500
    client.close()
    with pytest.raises(KeyError):
        TestClient(broken).get("/")


def test_plain_asgi_app_with_and_without_context_manager() -> None:
    with TestClient(raw_app) as client:  # the app's lifespan failure is tolerated, as servers do
        r = client.post("/some/path", params={"a": "1"})
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain"
        assert r.text == "POST /some/path a=1"
    assert TestClient(raw_app).get("/x").text == "GET /x "


def test_async_client_runs_lifespan_and_requests() -> None:
    events: list[str] = []

    async def scenario() -> None:
        async with AsyncTestClient(make_app(events)) as client:
            assert events == ["startup"]
            r = await client.put(
                "/echo", params={"q": "1"}, headers={"x-token": "t"}, cookies={"c": "v"}, content=b"hi"
            )
            data = r.json()
            assert data["query"] == {"q": ["1"]}
            assert data["x_token"] == "t"
            assert data["cookies"] == {"c": "v"}
            assert data["body"] == "hi"
            assert json.loads((await client.post("/echo", json={"a": 1})).json()["body"]) == {"a": 1}
            form = await client.post(
                "/form", data={"name": "n"}, files={"f": ("b.txt", b"xyz", "text/plain")}, timeout=5
            )
            assert form.json()["file"] == "xyz"
        assert events == ["startup", "shutdown"]

    anyio.run(scenario)


def test_async_client_cookies_redirects_and_exceptions() -> None:
    async def scenario() -> None:
        async with AsyncTestClient(make_app()) as client:
            await client.get("/login")
            assert (await client.get("/whoami")).json() == {"session": "abc123"}
            assert (await client.get("/old")).text == "arrived"
            assert (await client.get("/old", follow_redirects=False)).status_code == 302
            with pytest.raises(ValueError, match="kaboom"):
                await client.get("/boom")
        async with AsyncTestClient(make_app(), raise_server_exceptions=False) as client:
            assert (await client.get("/boom")).status_code == 500

    anyio.run(scenario)


def test_async_client_without_context_manager_and_with_raw_app() -> None:
    events: list[str] = []

    async def scenario() -> None:
        client = AsyncTestClient(make_app(events))
        assert (await client.get("/target")).text == "arrived"
        await client.aclose()
        async with AsyncTestClient(raw_app) as raw:
            assert (await raw.get("/r", params={"k": "v"})).text == "GET /r k=v"

    anyio.run(scenario)
    assert events == []


def test_covet_client_fixture_starts_clients(covet_client: Any) -> None:
    events: list[str] = []
    client = covet_client(make_app(events))
    assert isinstance(client, TestClient)
    assert events == ["startup"]
    assert client.get("/target").text == "arrived"
    other = covet_client(make_app(), raise_server_exceptions=False)
    assert other.get("/boom").status_code == 500


def test_covet_client_fixture_teardown_via_pytester(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from covet import Covet

        EVENTS = []
        app = Covet()

        @app.on_startup
        def up():
            EVENTS.append("startup")

        @app.on_shutdown
        def down():
            EVENTS.append("shutdown")

        @app.get("/")
        def index():
            return "ok"

        def test_use(covet_client):
            client = covet_client(app)
            assert EVENTS == ["startup"]
            assert client.get("/").text == "ok"

        def test_after():
            assert EVENTS == ["startup", "shutdown"]
        """
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=2)
