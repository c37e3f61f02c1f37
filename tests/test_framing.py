"""Request smuggling: a request whose body framing is ambiguous is refused with 400 and closed.

The real-server side (the connection really closes, the smuggled request is never served) is in
tests/test_hostile_servers.py; these check the rule itself in both twins and in the app.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from asgi_raw import call

from covet import Covet, Request
from covet.testing import TestClient

CL = (b"content-length", b"6")
TE = (b"transfer-encoding", b"chunked")


def test_request_smuggling_content_length_and_transfer_encoding(parsers_impl: ModuleType) -> None:
    for headers in ([CL, TE], [TE, CL], [(b"host", b"x"), TE, (b"x", b"y"), CL]):
        reason = parsers_impl.framing_error(headers)
        assert reason is not None and "Transfer-Encoding and Content-Length" in reason


def test_request_smuggling_transfer_encoding_of_any_value(parsers_impl: ModuleType) -> None:
    for value in (b"chunked", b"gzip, chunked", b"identity", b"", b" chunked"):
        assert parsers_impl.framing_error([CL, (b"transfer-encoding", value)]) is not None


def test_request_smuggling_conflicting_content_lengths(parsers_impl: ModuleType) -> None:
    reason = parsers_impl.framing_error([(b"content-length", b"5"), (b"content-length", b"6")])
    assert reason is not None and "Content-Length" in reason


def test_unambiguous_framing_passes(parsers_impl: ModuleType) -> None:
    for headers in ([], [CL], [TE], [CL, CL], [(b"host", b"x"), (b"accept", b"*/*")]):
        assert parsers_impl.framing_error(headers) is None
    assert parsers_impl.framing_error(iter([CL])) is None


@pytest.fixture
def app() -> Covet:
    app = Covet()
    app.state.ran = []

    @app.before_request
    def hook() -> None:
        app.state.ran.append("hook")

    @app.route("/", methods=["GET", "POST"])
    async def index(request: Request) -> str:
        app.state.ran.append("handler")
        return "ok"

    return app


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_request_smuggling_answered_400_with_connection_close(app: Covet, method: str) -> None:
    response = call(app, method=method, headers=[(b"host", b"x"), CL, TE], chunks=[b"0\r\n\r\n"])
    assert response.status == 400
    assert response.header(b"connection") == b"close"
    assert b"Transfer-Encoding and Content-Length" in response.body
    assert app.state.ran == []  # no app code ran for it


def test_request_smuggling_refused_before_user_middleware(app: Covet) -> None:
    seen: list[str] = []

    class Spy:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
            seen.append(str(scope["type"]))
            await self.inner(scope, receive, send)  # type: ignore[operator]

    app.add_middleware(Spy)
    response = call(app, method="POST", headers=[(b"host", b"x"), CL, TE])
    assert response.status == 400
    assert response.header(b"connection") == b"close"
    assert seen == []


def test_request_smuggling_head_request_gets_no_body(app: Covet) -> None:
    response = call(app, method="HEAD", headers=[(b"host", b"x"), CL, TE])
    assert response.status == 400
    assert response.body == b""


def test_body_length_mismatch_asks_to_close_the_connection(app: Covet) -> None:
    # Shorter or longer than declared: the rest of the connection cannot be trusted either.
    @app.post("/size")
    async def size(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    for chunks in ([b"hi"], [b"hello", b" world"]):
        response = call(app, "/size", method="POST", headers=[(b"host", b"x"), (b"content-length", b"5")], chunks=chunks)
        assert response.status == 400
        assert response.header(b"connection") == b"close"
    response = call(app, "/size", method="POST", headers=[(b"host", b"x"), (b"content-length", b"5x")])
    assert response.status == 400
    assert response.header(b"connection") == b"close"


def test_honest_requests_keep_the_connection(app: Covet) -> None:
    response = TestClient(app).post("/", content=b"abc")
    assert response.status_code == 200
    assert "connection" not in response.headers
