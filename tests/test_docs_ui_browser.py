"""The /docs and /redoc pages in a real browser (headless Chromium) with the network off.

Without internet the pages used to stay blank (``SwaggerUIBundle is not defined``). With
``covet[docs]`` installed covet serves Swagger UI and ReDoc itself; without it, a page whose
scripts cannot load says why and how to fix it. Chromium is Debian's ``chromium``, driven by
Playwright (``executable_path``; no browser download). CI installs both; elsewhere the test is
skipped, with the reason, when they are missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from server_processes import start_server, stop_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

APP = """
from covet import Covet
from covet._docs_assets import REDOC_CDN, SWAGGER_UI_CDN

app = Covet(title="Offline Shop")
# The pages as they are without covet[docs]: the scripts come from the CDN.
cdn = Covet(title="CDN Shop", swagger_ui_url=SWAGGER_UI_CDN, redoc_js_url=REDOC_CDN)

for each in (app, cdn):
    @each.get("/items/<int:item_id>")
    async def get_item(item_id: int) -> dict:
        return {"id": item_id}
"""


def _need(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        _need("Chromium is not installed: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("Playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        # No DNS for anything but loopback: the CDN is unreachable, as behind a firewall.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``{"app": base_url, "cdn": base_url}``: the two apps served by ``covet run`` on loopback."""
    folder = tmp_path_factory.mktemp("docs_ui")
    (folder / "docs_ui_app.py").write_text(APP)
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name in ("app", "cdn"):
            port = _free_port()
            processes.append(
                start_server(
                    [sys.executable, "-m", "covet", "run", f"docs_ui_app.py:{name}", "--port", str(port), "--no-access-log"],
                    cwd=folder,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            urls[name] = f"http://127.0.0.1:{port}"
            _wait_for(port, processes[-1])
        yield urls
    finally:
        for process in processes:
            stop_server(process)


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"covet run exited early: {process.stderr.read() if process.stderr else b''!r}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"covet run did not listen on port {port}")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    outside: list[str] = []

    def offline(route: Any) -> None:
        # Network off: only loopback answers; everything else fails as it would without internet.
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            if route.request.resource_type in ("script", "stylesheet", "fetch", "xhr"):
                outside.append(route.request.url)  # ReDoc's footer logo, an image, does not count
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.outside_requests = outside
    page.script_errors = errors
    try:
        yield page
    finally:
        context.close()


def test_swagger_ui_works_offline_from_the_installed_bundle(page: Any, servers: dict[str, str]) -> None:
    pytest.importorskip("openapi_ui_bundles", reason="covet[docs] is not installed")
    page.goto(servers["app"] + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Offline Shop" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path[data-path='/items/{item_id}']", timeout=30_000)
    assert page.outside_requests == [] and page.script_errors == []
    assert not page.is_visible("#covet-docs-error")


def test_redoc_works_offline_from_the_installed_bundle(page: Any, servers: dict[str, str]) -> None:
    pytest.importorskip("openapi_ui_bundles", reason="covet[docs] is not installed")
    page.goto(servers["app"] + "/redoc")
    page.wait_for_selector("h1:has-text('Offline Shop')", timeout=30_000)
    assert page.outside_requests == [] and page.script_errors == []
    assert not page.is_visible("#covet-docs-error")


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
def test_docs_page_without_reachable_assets_says_why_and_how_to_fix(
    page: Any, servers: dict[str, str], page_path: str
) -> None:
    # It used to be a blank white page ("SwaggerUIBundle is not defined" in the console).
    page.goto(servers["cdn"] + page_path)
    page.wait_for_selector("#covet-docs-error", state="visible", timeout=30_000)
    notice = page.inner_text("#covet-docs-error")
    assert "could not load" in notice
    assert "cdn.jsdelivr.net" in notice and "pip install 'covet[docs]'" in notice
    assert "/openapi.json" in notice
    assert page.outside_requests  # it did try the CDN, and the network was off
