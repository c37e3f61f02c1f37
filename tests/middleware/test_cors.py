"""CORSMiddleware: allow-lists, regex origins, preflights, credentials, Vary, hostile origins."""

from __future__ import annotations

import pytest

from covet import Covet, Response
from covet.middleware import CORSMiddleware
from covet.testing import TestClient


def make(**options: object) -> TestClient:
    app = Covet()

    @app.get("/data")
    async def data() -> dict[str, int]:
        return {"a": 1}

    @app.get("/varied")
    async def varied() -> Response:
        return Response(b"x", headers={"vary": "Accept-Language"})

    @app.post("/data")
    async def post() -> dict[str, int]:
        return {"b": 2}

    app.add_middleware(CORSMiddleware, **options)
    return TestClient(app)


def test_default_allows_no_origin() -> None:
    r = make().get("/data", headers={"origin": "https://shop.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Origin"


def test_listed_origin_gets_headers_and_vary() -> None:
    client = make(allow_origins=["https://shop.example"], allow_credentials=True, expose_headers=["X-Total"])
    r = client.get("/data", headers={"origin": "https://shop.example"})
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-expose-headers"] == "X-Total"
    assert r.headers["vary"] == "Origin"


def test_origin_reflection_is_refused_for_unlisted_origins() -> None:
    client = make(allow_origins=["https://shop.example"], allow_credentials=True)
    for origin in ("https://evil.test", "https://shop.example.evil.test", "http://shop.example", "null"):
        r = client.get("/data", headers={"origin": origin})
        assert "access-control-allow-origin" not in r.headers, origin


def test_null_origin_cannot_be_listed() -> None:
    with pytest.raises(ValueError, match="null"):
        CORSMiddleware(Covet(), allow_origins=["null"])


def test_wildcard_with_credentials_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="credentials"):
        CORSMiddleware(Covet(), allow_origins=["*"], allow_credentials=True)


def test_origin_with_path_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="trailing slash"):
        CORSMiddleware(Covet(), allow_origins=["https://shop.example/"])


def test_regex_must_match_whole_origin_no_suffix_or_port_lookalikes() -> None:
    client = make(allow_origin_regex=r"https://[a-z]+\.shop\.example")
    assert client.get("/data", headers={"origin": "https://eu.shop.example"}).headers[
        "access-control-allow-origin"
    ] == "https://eu.shop.example"
    for origin in ("https://eu.shop.example.evil.test", "https://eu.shop.example:8443", "https://eu.shop.examplex"):
        assert "access-control-allow-origin" not in client.get("/data", headers={"origin": origin}).headers


def test_wildcard_without_credentials_sends_star_and_no_vary() -> None:
    client = make(allow_origins=["*"])
    r = client.get("/data", headers={"origin": "https://any.test"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "vary" not in r.headers
    assert "vary" not in client.get("/data").headers


def test_vary_origin_even_without_origin_header_when_answer_depends_on_it() -> None:
    r = make(allow_origins=["https://shop.example"]).get("/data")
    assert r.headers["vary"] == "Origin"


def test_apps_own_vary_values_are_kept() -> None:
    r = make(allow_origins=["https://shop.example"]).get("/varied", headers={"origin": "https://shop.example"})
    assert r.headers["vary"] == "Accept-Language, Origin"


def test_preflight_allowed() -> None:
    client = make(allow_origins=["https://shop.example"], allow_methods=["GET", "POST"], allow_headers=["X-Token"], max_age=300)
    r = client.options(
        "/data",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-token, content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert r.headers["access-control-max-age"] == "300"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "x-token" in r.headers["access-control-allow-headers"]
    assert r.headers["vary"] == "Origin"


def test_preflight_refused_for_method_header_or_origin() -> None:
    client = make(allow_origins=["https://shop.example"])
    base = {"origin": "https://shop.example", "access-control-request-method": "GET"}
    r = client.options("/data", headers={**base, "access-control-request-method": "DELETE"})
    assert r.status_code == 400 and "DELETE" in r.text
    r = client.options("/data", headers={**base, "access-control-request-headers": "x-secret"})
    assert r.status_code == 400 and "x-secret" in r.text
    r = client.options("/data", headers={**base, "origin": "https://evil.test"})
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


def test_preflight_star_headers_with_credentials_reflects_requested() -> None:
    client = make(allow_origins=["https://shop.example"], allow_headers=["*"], allow_methods=["*"], allow_credentials=True)
    r = client.options(
        "/data",
        headers={"origin": "https://shop.example", "access-control-request-method": "PATCH", "access-control-request-headers": "x-a"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-headers"] == "x-a"
    assert r.headers["access-control-allow-methods"] == "PATCH"
