"""covet._locations: the redirects covet makes by itself never leave the site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgi_raw import call

from covet import Covet, RedirectResponse
from covet._locations import request_path_location, same_site_path, trailing_slash_location
from covet.staticfiles import StaticFiles
from covet.testing import TestClient


def scope(raw_path: bytes | None = None, path: str = "/", query: bytes = b"", root_path: str = "") -> dict[str, Any]:
    made: dict[str, Any] = {"type": "http", "path": path, "query_string": query, "root_path": root_path}
    if raw_path is not None:
        made["raw_path"] = raw_path
    return made


# Paths a browser would read as another host once "/" is appended, and where they must go instead.
OFF_SITE = [
    (b"//evil.com", "/evil.com/"),
    (b"///evil.com/..", "/evil.com/../"),
    (b"////evil.com", "/evil.com/"),
    (b"/\\evil.com", "/%5Cevil.com/"),
    (b"/\\/evil.com", "/%5C/evil.com/"),
    (b"/\t/evil.com", "/%09/evil.com/"),
    (b"/\n/evil.com", "/%0A/evil.com/"),
    (b"/ /evil.com", "/%20/evil.com/"),
]


@pytest.mark.parametrize(("raw_path", "location"), OFF_SITE)
def test_open_redirect_leading_slashes_trailing_slash_location(raw_path: bytes, location: str) -> None:
    assert trailing_slash_location(scope(raw_path), "/ignored/") == location


@pytest.mark.parametrize(
    ("target", "location"),
    [("//evil.com/", "/evil.com/"), ("/\\evil.com/", "/%5Cevil.com/"), ("/a b/", "/a%20b/")],
)
def test_open_redirect_without_raw_path_trailing_slash_location(target: str, location: str) -> None:
    assert trailing_slash_location(scope(None, target[:-1]), target) == location


def test_trailing_slash_location_keeps_escapes_and_query() -> None:
    assert trailing_slash_location(scope(b"/n/x%3Fy"), "/n/x?y/") == "/n/x%3Fy/"
    assert trailing_slash_location(scope(b"/n/50%25", query=b"a=1&b=%20"), "/n/50%/") == "/n/50%25/?a=1&b=%20"
    assert trailing_slash_location(scope(b"/a", query=b"next=//evil.com"), "/a/") == "/a/?next=//evil.com"
    assert trailing_slash_location(scope(None, "/a", root_path="/api/"), "/a/") == "/api/a/"


def test_header_injection_through_redirect_query_is_escaped() -> None:
    location = trailing_slash_location(scope(b"/a", query=b"x=\r\nSet-Cookie:%20a=b"), "/a/")
    assert "\r" not in location and "\n" not in location
    assert location == "/a/?x=%0D%0ASet-Cookie:%20a=b"


def test_non_ascii_raw_path_bytes_are_escaped_not_reencoded() -> None:
    assert request_path_location(scope(b"/caf\xc3\xa9"), "/") == "/caf%C3%A9/"


def test_same_site_path_collapses_leading_slashes() -> None:
    assert same_site_path("/a") == "/a"
    assert same_site_path("//a//b") == "/a//b"
    assert same_site_path("") == "/"


@pytest.fixture
def app() -> Covet:
    app = Covet()

    @app.get("/<path:page>/")
    async def page(page: str) -> str:
        return page

    return app


@pytest.mark.parametrize(("raw_path", "location"), OFF_SITE[:4])
def test_open_redirect_double_slash_trailing_slash_rule(app: Covet, raw_path: bytes, location: str) -> None:
    response = call(app, raw_path.decode("latin-1"), raw_path=raw_path)
    assert response.status == 308
    assert response.header(b"location") == location.encode()


def test_open_redirect_double_slash_trailing_slash_rule_without_raw_path(app: Covet) -> None:
    response = call(app, "//evil.com")
    assert response.status == 308
    assert response.header(b"location") == b"/evil.com/"


def test_redirect_response_keeps_the_url_the_user_gave() -> None:
    # Only redirects covet builds from the request are confined; the user's own are sent as given.
    app = Covet()

    @app.get("/go")
    async def go() -> RedirectResponse:
        return RedirectResponse("//cdn.example/x")

    response = TestClient(app).get("/go", follow_redirects=False)
    assert response.headers["location"] == "//cdn.example/x"


def test_open_redirect_double_slash_static_directory(tmp_path: Path) -> None:
    (tmp_path / "evil.com").mkdir()
    (tmp_path / "evil.com" / "index.html").write_text("hi")
    files = StaticFiles(directory=tmp_path, html=True)
    response = call(files, "//evil.com", raw_path=b"//evil.com")
    assert response.status == 307
    assert response.header(b"location") == b"/evil.com/"
