"""TrustedHost, HTTPSRedirect, ProxyHeaders and SecurityHeaders middleware, hostile cases first."""

from __future__ import annotations

from typing import Any

import pytest

from covet import Covet, HTMLResponse, Request, Response
from covet.middleware import (
    HTTPSRedirectMiddleware,
    ProxyHeadersMiddleware,
    SecurityHeadersMiddleware,
    TrustedHostMiddleware,
    csp_nonce,
)
from covet.testing import TestClient


def echo_app() -> Covet:
    app = Covet()

    @app.get("/where")
    async def where(request: Request) -> dict[str, object]:
        client = request.client
        return {
            "client": client.host if client else None,
            "scheme": request.url.scheme,
            "host": request.url.netloc,
            "link": request.url_for("where"),
        }

    return app


# --- TrustedHostMiddleware ---------------------------------------------------------------------


def trusted_client() -> TestClient:
    app = echo_app()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["shop.example", "*.shop.example"])
    return TestClient(app)


@pytest.mark.parametrize(
    "host",
    [
        "shop.example",
        "SHOP.example",
        "shop.example.",
        "shop.example:8443",
        "eu.shop.example",
        "a.b.shop.example",
    ],
)
def test_trusted_hosts_pass(host: str) -> None:
    assert trusted_client().get("/where", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.test",
        "shop.example.evil.test",
        "evilshop.example",
        "shop.example@evil.test",
        "evil.test#shop.example",
        "evil.test/shop.example",
        "shop.example:80@evil.test",
        "",
    ],
)
def test_host_spoofing_past_trusted_host_is_refused(host: str) -> None:
    r = trusted_client().get("/where", headers={"host": host})
    assert r.status_code == 400
    assert r.text == "Invalid host header."


def test_two_host_headers_are_refused() -> None:
    app = echo_app()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["shop.example"])
    r = TestClient(app).get("/where", headers=[("host", "shop.example"), ("host", "evil.test")])
    assert r.status_code == 400


def test_bad_patterns_raise_at_construction() -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        TrustedHostMiddleware(Covet(), allowed_hosts=["shop.*.example"])
    with pytest.raises(ValueError, match="without scheme"):
        TrustedHostMiddleware(Covet(), allowed_hosts=["https://shop.example"])


def test_www_redirect() -> None:
    app = echo_app()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["www.shop.example"], www_redirect=True)
    r = TestClient(app, follow_redirects=False).get("/where?x=1", headers={"host": "shop.example"})
    assert r.status_code == 308
    assert r.headers["location"] == "http://www.shop.example/where?x=1"


# --- HTTPSRedirect + ProxyHeaders --------------------------------------------------------------


def test_http_redirects_to_https_keeping_path_and_query() -> None:
    app = echo_app()
    app.add_middleware(HTTPSRedirectMiddleware)
    client = TestClient(app, follow_redirects=False)
    r = client.get("/where?a=1", headers={"host": "shop.example:80"})
    assert r.status_code == 308
    assert r.headers["location"] == "https://shop.example/where?a=1"
    assert TestClient(app, base_url="https://shop.example").get("/where").status_code == 200


def test_https_redirect_refuses_malformed_host() -> None:
    app = echo_app()
    app.add_middleware(HTTPSRedirectMiddleware)
    r = TestClient(app, follow_redirects=False).get("/where", headers={"host": "evil.test/x"})
    assert r.status_code == 400


def proxied(trusted: list[str] | str, peer: str | None, **options: Any) -> TestClient:
    app = echo_app()
    app.add_middleware(HTTPSRedirectMiddleware)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted, **options)
    return TestClient(app, client=None if peer is None else (peer, 5000), follow_redirects=False)


def test_forwarded_proto_from_trusted_proxy_keeps_https() -> None:
    client = proxied(["10.0.0.1"], "10.0.0.1", trust_host=True)
    r = client.get(
        "/where",
        headers={
            "host": "internal:8000",
            "x-forwarded-proto": "https",
            "x-forwarded-for": "203.0.113.9",
            "x-forwarded-host": "shop.example",
        },
    )
    assert r.status_code == 200
    assert r.json() == {
        "client": "203.0.113.9",
        "scheme": "https",
        "host": "shop.example",
        "link": "https://shop.example/where",
    }


def test_untrusted_x_forwarded_proto_is_ignored() -> None:
    client = proxied(["10.0.0.1"], "198.51.100.7")
    r = client.get(
        "/where", headers={"host": "shop.example", "x-forwarded-proto": "https", "x-forwarded-for": "1.2.3.4"}
    )
    assert r.status_code == 308  # still plain http: the header came from the client itself
    client = proxied(["10.0.0.1"], "198.51.100.7")
    app_view = TestClient(client.app, client=("198.51.100.7", 1), base_url="https://shop.example")
    assert app_view.get("/where", headers={"x-forwarded-for": "1.2.3.4"}).json()["client"] == "198.51.100.7"


def test_x_forwarded_for_client_is_rightmost_untrusted() -> None:
    client = proxied(["10.0.0.0/8"], "10.0.0.1")
    r = client.get(
        "/where",
        headers={
            "host": "shop.example",
            "x-forwarded-proto": "https",
            "x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.1.2.3",
        },
    )
    assert r.json()["client"] == "203.0.113.9"  # 6.6.6.6 was written by the client: not believed



def test_ipv6_zone_in_forwarded_for_cannot_smuggle_text_into_the_client() -> None:
    # ipaddress accepts any text after "%" (an IPv6 zone): spaces and quotes would reach
    # request.client, logs and rate-limit keys. The zone is dropped, in both header families.
    forged = '::1%x - - [01-Jan-2030] "DELETE /admin HTTP/1.1" 200'
    client = proxied("*", "10.0.0.1")
    r = client.get("/where", headers={"host": "shop.example", "x-forwarded-proto": "https", "x-forwarded-for": forged})
    assert r.json()["client"] == "::1"
    client = proxied("*", "10.0.0.1", mode="forwarded")
    r = client.get("/where", headers={"host": "shop.example", "forwarded": 'for="[fe80::1%eth0 evil]";proto=https'})
    assert r.json()["client"] == "fe80::1"

def test_forwarded_header_rfc7239() -> None:
    client = proxied(["10.0.0.1"], "10.0.0.1", mode="forwarded", trust_host=True)
    r = client.get(
        "/where",
        headers={
            "host": "internal",
            "forwarded": 'for=6.6.6.6;proto=http, for="[2001:db8::1]:4711";proto=https;host=shop.example',
        },
    )
    assert r.json() == {
        "client": "2001:db8::1",
        "scheme": "https",
        "host": "shop.example",
        "link": "https://shop.example/where",
    }


def test_forwarded_garbage_scheme_and_host_are_ignored() -> None:
    client = proxied(["10.0.0.1"], "10.0.0.1", trust_host=True)
    r = client.get(
        "/where",
        headers={
            "host": "shop.example",
            "x-forwarded-proto": "javascript",
            "x-forwarded-host": "evil.test/x?",
        },
    )
    assert r.status_code == 308
    assert r.headers["location"] == "https://shop.example/where"


def test_client_written_forwarded_header_passed_through_by_the_proxy_is_ignored() -> None:
    # nginx appends to X-Forwarded-For and passes the client's own Forwarded header on untouched:
    # only the configured family is read, so the client cannot pick its address.
    client = proxied(["127.0.0.1"], "127.0.0.1")
    r = client.get(
        "/where",
        headers={
            "host": "shop.example",
            "x-forwarded-proto": "https",
            "x-forwarded-for": "203.0.113.7",
            "forwarded": "for=10.0.0.9;proto=https",
        },
    )
    assert r.json()["client"] == "203.0.113.7"


def test_x_forwarded_host_is_ignored_unless_trust_host() -> None:
    # Host poisoning: a client's X-Forwarded-Host passed through by the proxy would end up in links.
    client = proxied(["127.0.0.1"], "127.0.0.1")
    r = client.get(
        "/where",
        headers={
            "host": "shop.example",
            "x-forwarded-proto": "https",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-host": "attacker.example",
        },
    )
    assert r.json()["link"] == "https://shop.example/where"


def test_unix_socket_peer_is_trusted_under_star() -> None:
    # Behind nginx on a Unix socket the peer has no address: "*" must still apply the headers,
    # or HTTPSRedirect loops and every client shares one rate-limit key.
    r = proxied("*", None).get(
        "/where",
        headers={"host": "shop.example", "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"},
    )
    assert r.status_code == 200 and r.json()["client"] == "203.0.113.7"
    assert (
        proxied(["127.0.0.1"], None)
        .get("/where", headers={"host": "shop.example", "x-forwarded-proto": "https"})
        .status_code
        == 308
    )


def test_proxy_headers_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="x-forwarded"):
        ProxyHeadersMiddleware(Covet(), mode="both")


def test_proxy_headers_bad_trusted_host_raises() -> None:
    with pytest.raises(ValueError, match="10.0.0.0/8"):
        ProxyHeadersMiddleware(Covet(), trusted_hosts=["proxy.local"])


# --- SecurityHeadersMiddleware -----------------------------------------------------------------


def test_security_headers_defaults_and_hsts_only_over_https() -> None:
    app = echo_app()
    app.add_middleware(SecurityHeadersMiddleware)
    r = TestClient(app).get("/where")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in r.headers
    r = TestClient(app, base_url="https://shop.example").get("/where")
    assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_csp_nonce_per_request_and_in_policy() -> None:
    app = Covet()

    @app.get("/page")
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(f'<script nonce="{csp_nonce(request)}">1</script>')

    @app.get("/own")
    async def own() -> Response:
        return Response(b"", headers={"content-security-policy": "default-src *"})

    app.add_middleware(
        SecurityHeadersMiddleware, content_security_policy={"default-src": "'self'"}, csp_nonce=True
    )
    client = TestClient(app)
    first, second = client.get("/page"), client.get("/page")
    nonce = first.text.split('"')[1]
    assert f"script-src 'self' 'nonce-{nonce}'" in first.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    assert nonce not in second.headers["content-security-policy"]
    assert client.get("/own").headers["content-security-policy"] == "default-src *"


def test_csp_nonce_without_middleware_raises() -> None:
    app = Covet()

    @app.get("/page")
    async def page(request: Request) -> str:
        return csp_nonce(request)

    with pytest.raises(RuntimeError, match="SecurityHeadersMiddleware"):
        TestClient(app).get("/page")


def test_host_made_of_a_dot_gets_400_not_an_offsite_redirect() -> None:
    # "Host: ." left an empty netloc: "https:///evil.example/phish" is read as a foreign host.
    app = Covet()
    app.add_middleware(HTTPSRedirectMiddleware)

    @app.get("/<path:p>")
    async def anything(p: str) -> dict[str, str]:
        return {}

    client = TestClient(app, follow_redirects=False)
    for host in (".", ".:80", "..:8080"):
        r = client.get("http://testserver/evil.example/phish", headers={"host": host})
        assert r.status_code == 400, (host, r.headers.get("location"))
