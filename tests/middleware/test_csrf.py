"""CSRFMiddleware: tokens in header and form, Origin/Sec-Fetch-Site, exemptions, hostile cases."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from covet import Covet, Request
from covet.middleware import CSRFMiddleware, SessionMiddleware, csrf_token
from covet.testing import TestClient

KEY = "c" * 32


def csrf_app(with_sessions: bool = False) -> Covet:
    app = Covet()

    @app.get("/form")
    async def form(request: Request) -> dict[str, str]:
        return {"token": csrf_token(request)}

    @app.post("/transfer")
    async def transfer(request: Request) -> dict[str, Any]:
        form = await request.form()
        return {"amount": form.get("amount")}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        form = await request.form()
        file = form["file"]
        return {"size": len(await file.read())}  # type: ignore[union-attr]

    @app.post("/api")
    async def api(request: Request) -> dict[str, Any]:
        return {"json": await request.json()}

    @app.post("/hook", csrf_exempt=True)
    async def hook() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(CSRFMiddleware, secret_key=KEY)
    if with_sessions:
        app.add_middleware(SessionMiddleware, secret_key="s" * 32)
    return app


def browser(with_sessions: bool = False) -> tuple[TestClient, str]:
    client = TestClient(csrf_app(with_sessions))
    token = client.get("/form").json()["token"]
    return client, token


@pytest.mark.parametrize("with_sessions", [False, True])
def test_form_field_token_passes_and_body_reaches_handler(with_sessions: bool) -> None:
    client, token = browser(with_sessions)
    r = client.post("/transfer", data={"amount": "10", "csrf_token": token})
    assert r.status_code == 200 and r.json() == {"amount": "10"}


@pytest.mark.parametrize("with_sessions", [False, True])
def test_header_token_passes(with_sessions: bool) -> None:
    client, token = browser(with_sessions)
    r = client.post("/api", json={"a": 1}, headers={"x-csrf-token": token})
    assert r.status_code == 200 and r.json() == {"json": {"a": 1}}


def test_tokens_are_masked_differently_each_time_and_all_valid() -> None:
    client, token = browser()
    other = client.get("/form").json()["token"]
    assert other != token
    assert client.post("/transfer", data={"amount": "1", "csrf_token": other}).status_code == 200


def test_missing_token_with_cookies_is_refused() -> None:
    client, _ = browser()
    r = client.post("/transfer", data={"amount": "10"})
    assert r.status_code == 403 and "missing" in r.json()["detail"]


def test_csrf_via_text_plain_is_refused() -> None:
    client, token = browser()
    r = client.post("/api", content=b'{"a": 1}', headers={"content-type": "text/plain"})
    assert r.status_code == 403
    # Even without cookies a text/plain body (a cross-site form can send one) needs a token.
    fresh = TestClient(csrf_app())
    assert fresh.post("/api", content=b"{}", headers={"content-type": "text/plain"}).status_code == 403


def test_csrf_via_multipart_form_is_refused_and_token_in_multipart_passes() -> None:
    client, token = browser()
    files = {"file": ("a.txt", b"hello", "text/plain")}
    assert client.post("/upload", data={"amount": "1"}, files=files).status_code == 403
    r = client.post("/upload", data={"csrf_token": token}, files=files)
    assert r.status_code == 200 and r.json() == {"size": 5}


def test_csrf_token_in_get_query_does_not_count() -> None:
    client, token = browser()
    r = client.post(f"/transfer?csrf_token={token}", data={"amount": "10"})
    assert r.status_code == 403


def test_wrong_or_foreign_token_is_refused() -> None:
    client, token = browser()
    attacker, attacker_token = browser()
    assert client.post("/transfer", data={"csrf_token": attacker_token}).status_code == 403
    assert client.post("/transfer", data={"csrf_token": token[:-2]}).status_code == 403
    assert client.post("/transfer", data={"csrf_token": "A" * 86}).status_code == 403


def test_forged_csrf_cookie_is_refused() -> None:
    client, token = browser()
    value = client.cookies["csrftoken"]
    client.cookies.clear()
    client.cookies.set("csrftoken", ("y" if value[0] == "x" else "x") + value[1:])  # always a change
    assert client.post("/transfer", data={"csrf_token": token}).status_code == 403


def test_cross_origin_and_cross_site_requests_are_refused_first() -> None:
    client, token = browser()
    r = client.post("/transfer", data={"csrf_token": token}, headers={"origin": "https://evil.test"})
    assert r.status_code == 403 and "Origin" in r.json()["detail"]
    r = client.post("/transfer", data={"csrf_token": token}, headers={"origin": "null"})
    assert r.status_code == 403
    r = client.post("/transfer", data={"csrf_token": token}, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = client.post(
        "/transfer",
        data={"csrf_token": token},
        headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"},
    )
    assert r.status_code == 200


def test_bearer_token_api_without_cookies_is_not_broken() -> None:
    client = TestClient(csrf_app())
    r = client.post("/api", json={"a": 1}, headers={"authorization": "Bearer abc"})
    assert r.status_code == 200


def test_route_exemption() -> None:
    client, _ = browser()
    assert client.post("/hook", data={"x": "1"}).status_code == 200


def test_safe_methods_never_checked() -> None:
    client, _ = browser()
    assert client.get("/form").status_code == 200


def test_csrf_cookie_is_httponly_and_set_once() -> None:
    client = TestClient(csrf_app())
    r = client.get("/form")
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Lax" in r.headers["set-cookie"]
    assert r.headers["vary"] == "Cookie"  # the page holds a token made from the cookie
    again = client.get("/form")
    assert "set-cookie" not in again.headers and again.headers["vary"] == "Cookie"


def test_oversized_form_body_is_413_not_buffered_whole() -> None:
    app = csrf_app()
    app.max_body_size = 1000
    client = TestClient(app)
    client.get("/form")
    r = client.post("/transfer", data={"amount": "x" * 5000})
    assert r.status_code == 413


def test_csrf_token_without_middleware_raises() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> str:
        return csrf_token(request)

    with pytest.raises(RuntimeError, match="CSRFMiddleware"):
        TestClient(app).get("/")


def test_cross_site_websocket_hijacking_is_refused() -> None:
    accepted: list[bool] = []

    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        accepted.append(True)

    middleware = CSRFMiddleware(ws_app, secret_key=KEY)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    def handshake(*headers: tuple[bytes, bytes]) -> None:
        scope = {
            "type": "websocket",
            "scheme": "wss",
            "path": "/ws",
            "headers": [(b"host", b"shop.example"), *headers],
        }
        anyio.run(middleware, scope, receive, send)

    handshake((b"origin", b"https://evil.test"), (b"cookie", b"session=abc"))
    assert sent == [{"type": "websocket.close", "code": 1008}] and accepted == []
    handshake((b"origin", b"https://shop.example"), (b"cookie", b"session=abc"))
    handshake((b"origin", b"https://evil.test"))  # no cookies: nothing ambient to hijack
    assert accepted == [True, True]


def test_csrf_cookie_settings_are_checked_at_construction() -> None:
    # A bad same_site used to surface as a 500 on the first page that set the cookie.
    from covet import Covet
    from covet.middleware import CSRFMiddleware

    with pytest.raises(ValueError, match="same_site"):
        CSRFMiddleware(Covet(), secret_key="c" * 32, same_site="bogus")
    with pytest.raises(ValueError, match="Secure"):
        CSRFMiddleware(Covet(), secret_key="c" * 32, same_site="none", cookie_secure=False)
    assert CSRFMiddleware(Covet(), secret_key="c" * 32, same_site="None").cookie_secure is True
