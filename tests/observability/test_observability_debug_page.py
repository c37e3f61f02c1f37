"""The debug=True error page: frames, source, locals, request, route, masking; and its absence
with debug=False. Rendered in headless Chromium (Debian's, driven by Playwright) and read as text."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from covet import Covet, Request
from covet.observability.debug_page import MASK, is_secret_key, render_text
from covet.testing import TestClient

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Secrets arrive with the request (never in the source, which the page shows as it is).
SECRETS = ["hunter2", "abc.def", "cookie-xyz", "k9k9"]
SEED = "".join(["se", "ed"])


def make_app(debug: bool = True) -> Covet:
    app = Covet(debug=debug)

    @app.get("/items/<int:item_id>")
    async def charge_item(item_id: int, request: Request) -> dict:
        password = request.headers["x-db-password"]
        api_token = request.query_params["api_key"]  # noqa: F841 - locals the page shows
        profile = {"name": "ann", "client_secret": request.cookies["session"], "nested": {"private_key": password}}  # noqa: F841
        basket = ["apple", "pear"]  # noqa: F841
        return json.loads("{not json")  # raises inside the standard library

    return app


def error_page(debug: bool = True) -> Any:
    client = TestClient(make_app(debug), raise_server_exceptions=False)
    return client.get(
        "/items/42?page=2&api_key=k9k9",
        headers={
            "accept": "text/html",
            "authorization": "Bearer abc.def",
            "cookie": "session=cookie-xyz",
            "x-trace": "visible-header",
            "x-db-password": "hunter2",
        },
    )


def test_debug_page_never_shown_without_debug() -> None:
    response = error_page(debug=False)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    for text in ["charge_item", "basket", "Traceback", *SECRETS]:
        assert text not in response.text


def test_debug_page_html_masks_request_secrets() -> None:
    response = error_page()
    assert response.status_code == 500 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for secret in SECRETS:
        assert secret not in page, secret
    assert "visible-header" in page and "&#x27;apple&#x27;" in page


def test_text_version_is_masked_too() -> None:
    try:
        raise KeyError("x")
    except KeyError as exc:
        token = "t0ps3cret"  # noqa: F841 - a local the page must mask
        text = render_text({"type": "http", "method": "GET", "path": "/", "headers": []}, exc)
    assert "t0ps3cret" not in text and f"token = {MASK}" in text
    assert "route: no route matched" in text


@pytest.mark.parametrize("key", ["password", "DB_PASSWD", "api_key", "X-Api-Key", "authorization", "Cookie", "csrf_token", "sessionid", b"secret"])
def test_secret_looking_keys(key: object) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["name", "page", "item_id", "basket", 3])
def test_ordinary_keys(key: object) -> None:
    assert not is_secret_key(key)


class Login(msgspec.Struct):
    username: str
    password: str


@dataclasses.dataclass
class Settings:
    database_url: str
    secret_key: str


def test_secrets_in_objects_mappings_bytes_and_urls_are_masked_on_the_page() -> None:
    # The shapes a secret hides in beyond a dict's own keys: a Struct's or dataclass's repr, the
    # Headers mapping, the raw JSON body, a dict nested deeper than the walk, a URL's password,
    # and a header value carrying a token under an ordinary name. The secrets are made at run time:
    # the page shows this test's source too.
    app = Covet(debug=True)

    @app.post("/login")
    async def login(data: Login, request: Request) -> dict:
        secret = request.headers["x-seed"]
        settings = Settings(f"postgres://app:{secret}-dsn@db/app", f"{secret}-settings")  # noqa: F841
        headers = request.headers  # noqa: F841
        raw = await request.body()  # noqa: F841
        config = {"db": {"primary": {"options": {"password": f"{secret}-nested", "pool": 5}}}}  # noqa: F841
        raise RuntimeError("user store unreachable")

    response = TestClient(app, raise_server_exceptions=False).post(
        "/login",
        json={"username": "ann", "password": f"{SEED}-body"},
        headers={
            "accept": "text/html",
            "authorization": f"Bearer {SEED}-bearer",
            "referer": f"https://shop.example/reset?token={SEED}-referer&step=2",
            "x-seed": SEED,
        },
    )
    assert response.status_code == 500
    page = response.text
    for kind in ["body", "bearer", "settings", "dsn", "nested", "referer"]:
        assert f"{SEED}-{kind}" not in page, kind
    # What is not secret stays readable.
    assert "ann" in page and "pool" in page and "step=2" in page and "postgres://app:" in page

def test_broken_repr_does_not_break_the_page() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    app = Covet(debug=True)

    @app.get("/")
    async def index() -> None:
        thing = Hostile()  # noqa: F841
        raise ValueError("outer")

    response = TestClient(app, raise_server_exceptions=False).get("/", headers={"accept": "text/html"})
    assert "unrepresentable Hostile" in response.text


# -- in the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


def test_debug_page_in_chromium(browser: Any) -> None:
    html = error_page().text
    origin = "http://127.0.0.1:9"  # never contacted: the page is served from the route below
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    context.route("**/*", lambda route: route.fulfill(status=500, content_type="text/html", body=html))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{origin}/items/42")
        text = page.inner_text("body")
        # The exception, the failing app frame with its source line and (masked) locals.
        assert "JSONDecodeError" in text
        assert 'return json.loads("{not json")' in text
        assert "charge_item" in text
        assert "'apple'" in text and "item_id" in text
        assert f"password\t{MASK}" in text and f"api_token\t{MASK}" in text
        assert f"'client_secret': {MASK}" in text and f"'private_key': {MASK}" in text
        # The request (headers and query, secret ones masked) and the matched route.
        assert "visible-header" in text and f"header authorization\t{MASK}" in text
        assert f"query api_key\t{MASK}" in text and "query page\t2" in text
        assert "/items/<int:item_id>" in text and "charge_item" in text
        for secret in SECRETS:
            assert secret not in text, secret
        # Library frames (json's) are collapsed: their source is not shown until opened.
        library = page.locator("details.library")
        assert library.count() >= 1
        assert not library.first.locator("pre.source").is_visible()
        assert page.locator("details.app pre.source").first.is_visible()
        library.first.locator("summary").click()
        assert library.first.locator("pre.source").is_visible()
        # Copy as text puts the masked plain-text report on the clipboard.
        page.click("#copy")
        page.wait_for_function("document.getElementById('copy').textContent === 'Copied'")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("Traceback (most recent call last):")
        assert "JSONDecodeError" in copied and f"password = {MASK}" in copied
        for secret in SECRETS:
            assert secret not in copied, secret
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Login(username='ann', password='x1')", f"Login(username='ann', password={MASK})"),
        ("Foo(a=Bar(password=1234))", f"Foo(a=Bar(password={MASK}))"),
        ("password=(hunter2)", f"password={MASK})"),
        ("https://x/?token={abc123}&a=1", f"https://x/?token={MASK}}}&a=1"),  # a closing bracket stays
        ("{'a': {'b': {'api_key': 12345, 'z': 1}}}", f"{{'a': {{'b': {{'api_key': {MASK}, 'z': 1}}}}}}"),
        ('{"user":"ann","password":"x1"}', f'{{"user":"ann","password":{MASK}}}'),
        ("postgres://app:x1@db:5432/app", f"postgres://app:{MASK}@db:5432/app"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", f"Bearer {MASK}"),
        ("Basic dXNlcjpwYXNz", f"Basic {MASK}"),
        # Prose that names a credential without holding one stays readable.
        ("Invalid token provided in request", "Invalid token provided in request"),
        ("Using basic authentication here", "Using basic authentication here"),
        ("Token mismatch: expected abcdefgh", "Token mismatch: expected abcdefgh"),
        ("http://example.com:8080/x@y", "http://example.com:8080/x@y"),
    ],
)
def test_masking_inside_text(text: str, shown: str) -> None:
    from covet.observability.debug_page import _mask_text

    assert _mask_text(text) == shown
