"""The Request object: properties, lazy body reading, forms, the context proxy, and body limits."""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Iterator
from typing import Annotated, Any

import anyio
import pytest

from covet import Body, Covet, Form, Request, Response, request
from covet.datastructures import UploadFile
from covet.exceptions import ParseError
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")

# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a leaked resource (ResourceWarning) fails the test that leaked it."""
    yield
    gc.collect()


class RawResult:
    """What an app sent back to a hand-driven ASGI call, and how much of the body it pulled."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.receive_calls = 0

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")

    def json(self) -> Any:
        return json.loads(self.body)


def call_raw(
    app: Any,
    *,
    method: str = "POST",
    path: str = "/",
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    disconnect: bool = False,
    query_string: bytes = b"",
) -> RawResult:
    """Drive ``app`` with a hand-built http scope whose body arrives as ``chunks``."""
    result = RawResult()
    pending: list[dict[str, Any]] = []
    body_chunks = list(chunks if chunks is not None else [b""])
    for index, chunk in enumerate(body_chunks):
        last = index == len(body_chunks) - 1
        pending.append({"type": "http.request", "body": chunk, "more_body": not last or disconnect})
    if disconnect:
        pending.append({"type": "http.disconnect"})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        result.receive_calls += 1
        if pending:
            return pending.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        result.messages.append(message)

    async def main() -> None:
        with anyio.fail_after(5):
            await app(scope, receive, send)

    anyio.run(main)
    return result


@pytest.fixture
def echo_app() -> Covet:
    """An app whose routes echo what they read from the body."""
    app = Covet(max_body_size=1000)

    @app.post("/body")
    async def body(request: Request) -> dict[str, Any]:
        data = await request.body()
        return {"size": len(data), "text": data.decode("latin-1")}

    @app.post("/json")
    async def json_body(request: Request) -> Any:
        return {"json": await request.json()}

    @app.post("/typed")
    async def typed(items: Annotated[list[str], Body()]) -> dict[str, Any]:
        # A JSON body and no Request parameter: the app reads the body itself (read_body).
        text = "".join(items)
        return {"size": len(text), "text": text}

    @app.post("/chunks")
    async def chunks(request: Request) -> dict[str, Any]:
        return {"chunks": [chunk.decode() async for chunk in request.stream()]}

    @app.post("/ignore")
    async def ignore() -> str:
        return "ignored"

    @app.post("/form")
    async def form(request: Request) -> dict[str, Any]:
        data = await request.form()
        out: dict[str, Any] = {}
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                out.setdefault(key, []).append(
                    {
                        "filename": value.filename,
                        "type": value.content_type,
                        "data": (await value.read()).decode(),
                    }
                )
            else:
                out.setdefault(key, []).append(value)
        return out

    return app


# --- properties ---------------------------------------------------------------------------------


def test_request_exposes_method_url_and_path() -> None:
    app = Covet()

    @app.route("/things/<name>", methods=["GET", "PUT"])
    async def thing(request: Request, name: str) -> dict[str, Any]:
        url = request.url
        return {
            "method": request.method,
            "path": request.path,
            "url": str(url),
            "url_path": url.path,
            "query": url.query,
            "scheme": url.scheme,
            "netloc": url.netloc,
            "path_params": request.path_params,
        }

    client = TestClient(app)
    data = client.put("/things/lamp", params={"q": "a b", "n": "1"}).json()
    assert data["method"] == "PUT"
    assert data["path"] == "/things/lamp"
    assert data["url_path"] == "/things/lamp"
    assert data["query"] == "q=a+b&n=1"
    assert data["scheme"] == "http"
    assert data["netloc"] == "testserver"
    assert data["url"] == "http://testserver/things/lamp?q=a+b&n=1"
    assert data["path_params"] == {"name": "lamp"}


def test_request_url_uses_https_scheme_and_port() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        return {"scheme": request.url.scheme, "netloc": request.url.netloc}

    client = TestClient(app, base_url="https://example.org:8443")
    assert client.get("/").json() == {"scheme": "https", "netloc": "example.org:8443"}


def test_query_params_get_and_getlist() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        params = request.query_params
        return {
            "first": params.get("tag"),
            "all": params.getlist("tag"),
            "missing": params.get("nope"),
            "none": params.getlist("nope"),
            "decoded": params.get("msg"),
        }

    response = TestClient(app).get("/?tag=a&tag=b&msg=hello%20there+friend")
    assert response.json() == {
        "first": "a",
        "all": ["a", "b"],
        "missing": None,
        "none": [],
        "decoded": "hello there friend",
    }


def test_headers_are_case_insensitive_and_multi_valued() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        headers = request.headers
        return {
            "lower": headers["x-token"],
            "mixed": headers.get("X-TOKEN"),
            "multi": headers.getlist("X-Multi"),
            "in": "X-Multi" in headers,
            "absent": headers.get("x-absent"),
        }

    response = TestClient(app).get("/", headers=[("X-Token", "t1"), ("X-Multi", "a"), ("x-multi", "b")])
    assert response.json() == {"lower": "t1", "mixed": "t1", "multi": ["a", "b"], "in": True, "absent": None}


def test_request_headers_are_a_view_but_mutable_headers_over_a_list_copy_it() -> None:
    # request.headers reads the scope's own list (no copy per request); MutableHeaders(raw=...)
    # is a response's own list and must not write into the list it was given.
    from covet.datastructures import MutableHeaders

    raw = [(b"a", b"1")]
    req = Request({"type": "http", "headers": raw})
    assert req.headers.raw is raw
    copy = MutableHeaders(raw=raw)
    copy["b"] = "2"
    assert raw == [(b"a", b"1")]


def test_cookies_are_a_dict() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        assert isinstance(request.cookies, dict)
        return request.cookies

    response = TestClient(app).get("/", headers={"cookie": 'session=abc; theme="dark"; empty='})
    assert response.json() == {"session": "abc", "theme": "dark", "empty": ""}


def test_request_client_state_and_app() -> None:
    app = Covet()

    @app.before_request
    def stash(request: Request) -> None:
        request.state.user = "ada"

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        return {
            "client": [request.client.host, request.client.port] if request.client else None,
            "user": request.state.user,
            "same_app": request.app is app,
        }

    response = TestClient(app, client=("10.0.0.7", 4321)).get("/")
    assert response.json() == {"client": ["10.0.0.7", 4321], "user": "ada", "same_app": True}


def test_request_state_does_not_leak_between_requests() -> None:
    app = Covet()
    counter = iter(range(10))

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        seen = "n" in request.state
        request.state.n = next(counter)
        return {"seen_before": seen}

    client = TestClient(app)
    assert client.get("/").json() == {"seen_before": False}
    assert client.get("/").json() == {"seen_before": False}



def test_request_state_is_the_scope_state_dict_with_mapping_helpers() -> None:
    # request.state reads and writes scope["state"] itself: what an ASGI middleware put there is
    # an attribute, and what the app sets is there for the middleware to read afterwards.
    app = Covet()
    seen: dict[str, Any] = {}

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        scope["state"] = {"tenant": "acme"}
        await app(scope, receive, send)
        seen.update(scope["state"])

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        state = request.state
        state.user = "ada"
        with pytest.raises(AttributeError, match="State has no attribute 'missing'; set it first"):
            state.missing  # noqa: B018
        state.gone = 1
        del state.gone
        with pytest.raises(AttributeError):
            del state.gone
        return {
            "tenant": state.tenant,
            "get": [state.get("user"), state.get("nope", "default")],
            "in": ["user" in state, "nope" in state],
            "setdefault": [state.setdefault("hits", 1), state.setdefault("hits", 2)],
            "pop": [state.pop("hits"), state.pop("hits", None)],
            "keys": sorted(state),
            "same": request.state is state,
        }

    response = TestClient(middleware).get("/")
    assert response.json() == {
        "tenant": "acme",
        "get": ["ada", "default"],
        "in": [True, False],
        "setdefault": [1, 1],
        "pop": [1, None],
        "keys": ["tenant", "user"],
        "same": True,
    }
    assert seen == {"tenant": "acme", "user": "ada"}


def test_state_made_from_a_mapping_copies_it() -> None:
    from covet.datastructures import State

    initial = {"pool": "p"}
    state = State(initial)
    state.extra = 1
    assert (state.pool, initial, repr(state)) == ("p", {"pool": "p"}, "State({'pool': 'p', 'extra': 1})")
    assert list(State()) == []


@pytest.mark.parametrize("path", ["/form-param", "/request-form", "/json"])
def test_oversized_content_type_is_a_400_on_every_body_kind(path: str) -> None:
    # 9 kB of Content-Type (servers accept 16 kB of headers): the parser's limit is 8 kB, and
    # its refusal is the client's 400 whichever way the route reads its body.
    app = Covet()

    @app.post("/form-param")
    async def form_param(name: Annotated[str, Form()] = "") -> dict[str, str]:
        return {"name": name}

    @app.post("/request-form")
    async def request_form(request: Request) -> dict[str, int]:
        return {"fields": len(await request.form())}

    @app.post("/json")
    async def json_body(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    long_type = "multipart/form-data; boundary=" + "b" * 9000
    response = TestClient(app).post(path, content=b"x", headers={"content-type": long_type})
    assert response.status_code == 400, response.text
    assert "longer than 8192" in response.json()["detail"]


def test_parse_error_nothing_handled_is_a_400_not_a_500() -> None:
    # The whole kind behind the case above: a parser's refusal that reaches the app's error
    # handling unconverted is still the client's input refused.
    app = Covet()

    @app.get("/parse")
    async def parse() -> dict[str, str]:
        raise ParseError("Cookie header has too many pairs.")

    @app.get("/handled")
    async def handled() -> dict[str, str]:
        raise ParseError("mine")

    @app.errorhandler(ValueError)
    async def value_error(exc: ValueError) -> Response:
        return Response(f"handled: {exc}", status_code=418)

    client = TestClient(app)
    # A handler registered for the error (here its base class) still gets it first.
    assert (client.get("/handled").status_code, client.get("/handled").text) == (418, "handled: mine")
    plain = Covet()
    plain.get("/parse")(parse)
    response = TestClient(plain).get("/parse")
    assert (response.status_code, response.json()) == (400, {"detail": "Cookie header has too many pairs."})

# --- laziness -----------------------------------------------------------------------------------


def test_handler_that_ignores_the_body_accepts_a_huge_body(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/ignore", content=b"x" * 10_000)
    assert (response.status_code, response.text) == (200, "ignored")


def test_handler_that_ignores_the_body_never_reads_it(echo_app: Covet) -> None:
    result = call_raw(
        echo_app,
        path="/ignore",
        headers=[(b"content-length", b"10000")],
        chunks=[b"x" * 5000, b"x" * 5000],
    )
    assert result.status == 200
    assert result.receive_calls == 0


def test_handler_works_without_a_body(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/body")
    assert response.json() == {"size": 0, "text": ""}


# --- body, json, form, stream --------------------------------------------------------------------


def test_body_returns_the_bytes(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/body", content=b"hello")
    assert response.json() == {"size": 5, "text": "hello"}


def test_body_joins_many_chunks() -> None:
    app = Covet()

    @app.post("/")
    async def index(request: Request) -> dict[str, Any]:
        first = await request.body()
        again = await request.body()  # cached: the stream is read once
        return {"body": first.decode(), "same": first == again}

    result = call_raw(app, chunks=[b"ab", b"", b"cd", b"e"])
    assert result.json() == {"body": "abcde", "same": True}


def test_json_decodes_the_body(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/json", json={"a": [1, 2], "b": None})
    assert response.json() == {"json": {"a": [1, 2], "b": None}}


def test_form_decodes_urlencoded(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/form", data={"name": "Ada Lovelace", "tags": ["x", "y"]})
    assert response.json() == {"name": ["Ada Lovelace"], "tags": ["x", "y"]}


def test_form_decodes_multipart_fields_and_files() -> None:
    app = Covet()

    @app.post("/form")
    async def form(request: Request) -> dict[str, Any]:
        data = await request.form()
        upload = data["doc"]
        assert isinstance(upload, UploadFile)
        return {
            "title": data["title"],
            "filename": upload.filename,
            "type": upload.content_type,
            "size": upload.size,
            "content": (await upload.read()).decode(),
        }

    response = TestClient(app).post(
        "/form", data={"title": "report"}, files={"doc": ("notes.txt", b"line one\nline two", "text/plain")}
    )
    assert response.json() == {
        "title": "report",
        "filename": "notes.txt",
        "type": "text/plain",
        "size": 17,
        "content": "line one\nline two",
    }


def test_form_with_several_files_under_one_name(echo_app: Covet) -> None:
    response = TestClient(echo_app).post(
        "/form",
        files=[("f", ("a.txt", b"A", "text/plain")), ("f", ("b.bin", b"B", "application/octet-stream"))],
    )
    assert response.json() == {
        "f": [
            {"filename": "a.txt", "type": "text/plain", "data": "A"},
            {"filename": "b.bin", "type": "application/octet-stream", "data": "B"},
        ]
    }


def test_form_with_json_content_type_is_415(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/form", json={"a": 1})
    assert response.status_code == 415


def test_stream_yields_chunks_as_they_arrive(echo_app: Covet) -> None:
    result = call_raw(echo_app, path="/chunks", chunks=[b"one", b"two", b"three"])
    assert result.status == 200
    assert result.json() == {"chunks": ["one", "two", "three"]}


def test_stream_after_body_yields_the_cached_body() -> None:
    app = Covet()

    @app.post("/")
    async def index(request: Request) -> dict[str, Any]:
        await request.body()
        return {"chunks": [c.decode() async for c in request.stream()]}

    assert call_raw(app, chunks=[b"a", b"b"]).json() == {"chunks": ["ab"]}


def test_stream_twice_is_an_error() -> None:
    app = Covet()

    @app.post("/")
    async def index(request: Request) -> str:
        async for _ in request.stream():
            pass
        with pytest.raises(RuntimeError, match="already"):
            async for _ in request.stream():
                pass
        return "ok"

    assert call_raw(app, chunks=[b"a", b"b"]).body == b"ok"


# --- the request proxy ----------------------------------------------------------------------------


def test_request_proxy_in_async_handler() -> None:
    app = Covet()

    @app.get("/here")
    async def here() -> dict[str, Any]:
        return {"path": request.path, "q": request.query_params.get("q")}

    assert TestClient(app).get("/here?q=1").json() == {"path": "/here", "q": "1"}


def test_request_proxy_in_sync_handler_running_in_a_thread() -> None:
    app = Covet()

    @app.get("/sync")
    def sync_here() -> dict[str, Any]:
        return {"path": request.path, "method": request.method, "token": request.headers.get("x-token")}

    response = TestClient(app).get("/sync", headers={"x-token": "abc"})
    assert response.json() == {"path": "/sync", "method": "GET", "token": "abc"}


def test_request_proxy_sees_its_own_request_under_concurrency() -> None:
    app = Covet()

    @app.get("/slow/<int:n>")
    async def slow(n: int) -> dict[str, Any]:
        await anyio.sleep(0.01 * (3 - n))
        return {"path": request.path}

    results: dict[int, str] = {}

    async def main() -> None:
        from covet.testing import AsyncTestClient

        client = AsyncTestClient(app)

        async def fetch(n: int) -> None:
            results[n] = (await client.get(f"/slow/{n}")).json()["path"]

        async with anyio.create_task_group() as group:
            for n in range(3):
                group.start_soon(fetch, n)
        await client.aclose()

    anyio.run(main)
    assert results == {0: "/slow/0", 1: "/slow/1", 2: "/slow/2"}


def test_one_request_object_per_request_whoever_asks_first() -> None:
    # The app makes the Request lazily; a hook, a parameter and the proxy must all get the same one.
    from covet.globals import current_request

    app = Covet()
    seen: list[Any] = []

    @app.before_request
    async def remember(req: Request) -> None:
        seen.append(req)

    @app.get("/param")
    async def param(req: Request) -> dict[str, Any]:
        return {"same": req is current_request() is seen[-1]}

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        first = current_request()
        return {"same": first is current_request() is seen[-1], "path": request.path}

    client = TestClient(app)
    assert client.get("/param").json() == {"same": True}
    assert client.get("/bare").json() == {"same": True, "path": "/bare"}
    assert current_request() is None


def test_request_proxy_outside_a_request_raises() -> None:
    with pytest.raises(RuntimeError, match="request"):
        request.path  # noqa: B018
    assert not request


# --- body limits (hostile inputs) -----------------------------------------------------------------


#: Both ways a body gets read: Request.body(), and the app itself for a handler that takes a
#: JSON body but no Request (covet.requests.read_body). Each hostile body must meet both.
BODY_READERS = ["/body", "/typed"]


@pytest.mark.parametrize("path", BODY_READERS)
def test_oversized_content_length_is_refused_with_413_before_reading(echo_app: Covet, path: str) -> None:
    result = call_raw(
        echo_app,
        path=path,
        headers=[(b"content-length", b"1000000")],
        chunks=[b"x" * 100] * 10_000,
    )
    assert result.status == 413
    assert result.receive_calls == 0


@pytest.mark.parametrize("path", BODY_READERS)
def test_oversized_chunked_body_is_refused_with_413_while_streaming(echo_app: Covet, path: str) -> None:
    # No Content-Length: the limit is enforced as chunks arrive, not after reading them all.
    result = call_raw(echo_app, path=path, chunks=[b"x" * 300] * 1000)
    assert result.status == 413
    assert result.receive_calls <= 5


def test_body_at_exactly_the_limit_is_accepted(echo_app: Covet) -> None:
    result = call_raw(echo_app, path="/body", chunks=[b"x" * 500, b"y" * 500])
    assert result.status == 200
    assert result.json()["size"] == 1000


def test_typed_body_in_many_chunks_at_exactly_the_limit_is_accepted(echo_app: Covet) -> None:
    body = json.dumps(["x" * 494]).encode()  # 500 bytes
    json_type = [(b"content-type", b"application/json")]
    result = call_raw(echo_app, path="/typed", headers=json_type, chunks=[body[:200], b"", body[200:], body[:0]])
    assert result.status == 200
    assert result.json()["size"] == 494
    assert call_raw(echo_app, path="/typed", headers=json_type, chunks=[body, body[:-1]]).status == 400


def test_oversized_body_via_test_client_is_413(echo_app: Covet) -> None:
    response = TestClient(echo_app).post("/json", content=b"[" + b"1," * 600 + b"1]")
    assert response.status_code == 413


def test_stream_enforces_the_limit_too(echo_app: Covet) -> None:
    result = call_raw(echo_app, path="/chunks", chunks=[b"x" * 600, b"x" * 600, b"x" * 600])
    assert result.status == 413


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1e3", b"12 ", b"0x10", b""])
def test_invalid_content_length_is_400(echo_app: Covet, value: bytes) -> None:
    result = call_raw(echo_app, path="/body", headers=[(b"content-length", value)], chunks=[b"x"])
    assert result.status == 400


def test_absurdly_long_content_length_is_refused_not_crashing(echo_app: Covet) -> None:
    result = call_raw(echo_app, path="/body", headers=[(b"content-length", b"9" * 5000)], chunks=[b"x"])
    assert result.status in (400, 413)


@pytest.mark.parametrize("path", BODY_READERS)
def test_body_shorter_than_content_length_is_400(echo_app: Covet, path: str) -> None:
    result = call_raw(echo_app, path=path, headers=[(b"content-length", b"10")], chunks=[b"abc", b"de"])
    assert result.status == 400
    assert "shorter" in result.json()["detail"]


@pytest.mark.parametrize("path", BODY_READERS)
def test_body_longer_than_content_length_is_400(echo_app: Covet, path: str) -> None:
    result = call_raw(echo_app, path=path, headers=[(b"content-length", b"3")], chunks=[b"abc", b"def"])
    assert result.status == 400
    assert "longer" in result.json()["detail"]


@pytest.mark.parametrize("path", BODY_READERS)
def test_client_disconnect_while_reading_body_sends_nothing_and_does_not_crash(echo_app: Covet, path: str) -> None:
    result = call_raw(echo_app, path=path, chunks=[b"abc"], disconnect=True)
    assert result.messages == []


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1e3", b"0x10"])
def test_invalid_content_length_is_400_for_a_typed_body_too(echo_app: Covet, value: bytes) -> None:
    result = call_raw(echo_app, path="/typed", headers=[(b"content-length", value)], chunks=[b"[]"])
    assert result.status == 400


def test_body_the_app_read_is_there_for_the_request_made_later() -> None:
    # The handler takes only a typed body, so no Request exists while the body is read; one made
    # afterwards (covet.request, an error handler) must see that body, not wait for another.
    app = Covet()

    @app.post("/")
    async def handler(items: Annotated[list[int], Body()]) -> dict[str, Any]:
        if not items:
            raise LookupError("empty")
        return {"sum": sum(items), "raw": (await request.body()).decode(), "json": await request.json()}

    @app.errorhandler(LookupError)
    async def empty(exc: LookupError) -> Any:
        return {"error": str(exc), "raw": (await request.body()).decode()}

    client = TestClient(app)
    assert client.post("/", json=[1, 2]).json() == {"sum": 3, "raw": "[1,2]", "json": [1, 2]}
    assert client.post("/", json=[]).json() == {"error": "empty", "raw": "[]"}


def test_body_the_app_failed_to_read_is_not_read_again_by_a_later_request() -> None:
    # A 413 midway through a chunked body: an error handler asking for the body must not get the
    # unread tail as if it were the whole body.
    app = Covet(max_body_size=10)

    @app.post("/")
    async def handler(items: Annotated[list[int], Body()]) -> int:
        return len(items)  # pragma: no cover

    @app.errorhandler(413)
    async def too_large(exc: Exception) -> Any:
        try:
            await request.body()
        except RuntimeError as refused:
            return {"again": str(refused)}, 413
        return {"again": "read"}, 413  # pragma: no cover

    result = call_raw(app, chunks=[b"[1,2,3,", b"4,5,6,7,8]", b"tail"])
    assert result.status == 413
    assert "already streamed" in result.json()["again"]


def test_query_values_read_without_a_request_keep_first_wins_and_limits() -> None:
    # Handlers with only single query values get them straight off the scope.
    app = Covet()

    @app.get("/")
    async def handler(a: int, b: str = "-") -> dict[str, Any]:
        return {"a": a, "b": b}

    client = TestClient(app)
    assert client.get("/?a=1&a=2&b=x%20y").json() == {"a": 1, "b": "x y"}
    assert client.get("/?a=1&" + "&".join(f"k{i}=v" for i in range(1000))).status_code == 400
    assert client.get("/?b=x").status_code == 422


def test_malformed_json_is_400_with_a_useful_message(echo_app: Covet) -> None:
    response = TestClient(echo_app).post(
        "/json", content=b'{"a": 1,', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "JSON" in detail
    assert "truncated" in detail.lower() or "malformed" in detail.lower()


def test_json_on_invalid_utf8_is_400_not_500(echo_app: Covet) -> None:
    response = TestClient(echo_app).post(
        "/json", content=b'"\xff\xfe"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_too_many_query_params_is_400() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> int:  # type: ignore[return-value]
        return len(request.query_params)  # pragma: no cover

    query = "&".join(f"k{i}=v" for i in range(1001))
    response = TestClient(app).get(f"/?{query}")
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]


def test_query_params_at_the_limit_are_accepted() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> dict[str, int]:
        return {"n": len(request.query_params)}

    query = "&".join(f"k{i}=v" for i in range(1000))
    assert TestClient(app).get(f"/?{query}").json() == {"n": 1000}


# --- multipart hostile inputs ---------------------------------------------------------------------


def counting_form_app() -> Covet:
    """A roomy app whose ``/form`` route parses the form and counts its entries."""
    app = Covet(max_body_size=10_000_000)

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"n": len((await request.form()).multi_items())}

    return app


def _multipart(app: Covet, body: bytes, content_type: str) -> Any:
    return TestClient(app, raise_server_exceptions=False).post(
        "/form", content=body, headers={"content-type": content_type}
    )


def test_multipart_without_boundary_is_400(echo_app: Covet) -> None:
    response = _multipart(echo_app, b"--x\r\n", "multipart/form-data")
    assert response.status_code == 400
    assert "boundary" in response.json()["detail"]


def test_multipart_overlong_boundary_is_400() -> None:
    app = counting_form_app()
    boundary = "b" * 300
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{boundary}--\r\n'
    ).encode()
    response = _multipart(app, body, f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400


def test_multipart_boundary_with_illegal_characters_is_400(echo_app: Covet) -> None:
    response = _multipart(echo_app, b"--a\x00b\r\n", 'multipart/form-data; boundary="a\x00b"')
    assert response.status_code == 400


def test_multipart_missing_closing_boundary_is_400(echo_app: Covet) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue without end'
    response = _multipart(echo_app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_multipart_body_without_its_boundary_is_400(echo_app: Covet) -> None:
    response = _multipart(echo_app, b"just some bytes", "multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_multipart_part_without_headers_terminator_is_400(echo_app: Covet) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="a"'
    response = _multipart(echo_app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_multipart_part_without_content_disposition_is_400(echo_app: Covet) -> None:
    body = b"--xyz\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--xyz--\r\n"
    response = _multipart(echo_app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_multipart_too_many_parts_is_400() -> None:
    app = counting_form_app()
    part = b'--xyz\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'
    body = part * 1001 + b"--xyz--\r\n"
    response = _multipart(app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]


def test_multipart_at_the_part_limit_is_accepted() -> None:
    part = b'--xyz\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'
    body = part * 1000 + b"--xyz--\r\n"
    response = _multipart(counting_form_app(), body, "multipart/form-data; boundary=xyz")
    assert response.json() == {"n": 1000}


def test_multipart_too_many_files_is_400() -> None:
    app = counting_form_app()
    part = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nv\r\n'
    body = part * 1001 + b"--xyz--\r\n"
    response = _multipart(app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_multipart_rejected_after_an_upload_closes_the_spooled_file() -> None:
    # A hostile form that fails late must not leak the temporary files made for earlier parts.
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\ndata\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="g"\r\n\r\nno closing boundary'
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = _multipart(counting_form_app(), body, "multipart/form-data; boundary=xyz")
        gc.collect()
    assert response.status_code == 400
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_multipart_too_many_part_headers_is_400() -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(50))
    body = b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n' + headers + b"\r\nv\r\n--xyz--\r\n"
    response = _multipart(counting_form_app(), body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_urlencoded_form_with_too_many_fields_is_400() -> None:
    app = counting_form_app()
    body = "&".join(f"f{i}=v" for i in range(1001)).encode()
    response = TestClient(app).post(
        "/form", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\evil.exe", "evil.exe"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("plain.txt", "plain.txt"),
    ],
)
def test_upload_filename_path_traversal_is_reduced_to_basename(echo_app: Covet, sent: str, kept: str) -> None:
    response = TestClient(echo_app).post("/form", files={"f": (sent, b"data", "text/plain")})
    assert response.status_code == 200
    assert response.json()["f"][0]["filename"] == kept


def test_upload_filename_dot_dot_is_emptied(echo_app: Covet) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename=".."\r\n\r\nv\r\n--xyz--\r\n'
    response = _multipart(echo_app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 200
    assert response.json()["f"][0]["filename"] in ("", None)


def test_upload_filename_control_characters_are_stripped(echo_app: Covet) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a\x07b.txt"\r\n\r\nv\r\n--xyz--\r\n'
    response = _multipart(echo_app, body, "multipart/form-data; boundary=xyz")
    assert response.status_code == 200
    assert response.json()["f"][0]["filename"] == "ab.txt"
