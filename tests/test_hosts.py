"""covet._hosts and request.url: a Host header that is not host[:port] never reaches a URL."""

from __future__ import annotations

import pytest
from asgi_raw import call

from covet import Covet, Request
from covet._hosts import MAX_HOST_LENGTH, is_valid_host
from covet.testing import TestClient

VALID = [
    "example.com",
    "example.com:8000",
    "example.com:",  # RFC 3986: port = *DIGIT
    "EXAMPLE.com",
    "127.0.0.1",
    "127.0.0.1:80",
    "localhost",
    "xn--caf-dma.example",
    "a-b_c~d.example",
    "[::1]",
    "[::1]:8000",
    "[2001:db8::1]",
    "[::ffff:192.0.2.1]:443",
    "[v1.future]",
    "%65xample.com",
]

INVALID = [
    "",
    ":80",
    "example.com/x?y=",
    "example.com/",
    "example.com?x",
    "example.com#x",
    "user@example.com",
    "example.com:80:80",
    "example.com:8x",
    "exa mple.com",
    "example.com\\evil.com",
    "example.com\r\nx: y",
    "[::1",
    "::1",
    "[::1]x",
    "[::g]",
    "[fe80::1%eth0]",
    "[1.2.3.4]",
    "[]",
    "café.example",
    "example.com%2",
    "a" * (MAX_HOST_LENGTH + 1),
]


@pytest.mark.parametrize("value", VALID)
def test_valid_hosts(value: str) -> None:
    assert is_valid_host(value)


@pytest.mark.parametrize("value", INVALID)
def test_host_header_injection_invalid_hosts(value: str) -> None:
    assert not is_valid_host(value)


@pytest.fixture
def app() -> Covet:
    app = Covet()

    @app.get("/url")
    async def url(request: Request) -> dict[str, str]:
        return {"url": str(request.url), "host": request.url.hostname, "external": request.url_for("url")}

    return app


def test_host_header_injection_path_and_query_gives_400(app: Covet) -> None:
    response = TestClient(app).get("/url", headers={"host": "example.com/x?y="})
    assert response.status_code == 400
    assert "Invalid Host header" in response.json()["detail"]


def test_host_header_injection_password_reset_poisoning(app: Covet) -> None:
    # url_for(_external) builds links for emails: the Host must not bring its own path and query.
    for host in (b"evil.com/reset?token=", b"evil.com#", b"user@evil.com", b"evil.com\\x"):
        response = call(app, "/url", headers=[(b"host", host)])
        assert response.status == 400, host


def test_duplicate_host_headers_give_400(app: Covet) -> None:
    response = call(app, "/url", headers=[(b"host", b"a.example"), (b"host", b"b.example")])
    assert response.status == 400
    assert b"More than one Host header" in response.body


def test_ipv6_host_builds_urls(app: Covet) -> None:
    response = TestClient(app).get("/url", headers={"host": "[::1]:8000"})
    assert response.status_code == 200
    assert response.json() == {"url": "http://[::1]:8000/url", "host": "::1", "external": "http://[::1]:8000/url"}


def test_missing_host_falls_back_to_the_server_address(app: Covet) -> None:
    response = call(app, "/url", headers=[])
    assert response.status == 200
    assert b'"url":"http://testserver/url"' in response.body


def test_routes_not_building_urls_ignore_the_host() -> None:
    # The check is where absolute URLs are made, not on every request: a plain route still answers.
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    assert call(app, "/", headers=[(b"host", b"example.com/x")]).status == 200
