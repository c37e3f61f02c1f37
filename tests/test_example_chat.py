"""examples/chat: in process, over ``covet run --workers 2`` with Redis (clients on different
workers see each other), and in headless Chromium (the page's JavaScript sends and receives)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from server_processes import start_server
from test_cli import free_port, stop, wait_for_port
from websockets.sync.client import ClientConnection, connect

from covet.testing import TestClient

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chat" / "app.py"
COVET_SCRIPT = Path(sys.executable).parent / "covet"
REDIS_URL = os.environ.get("COVET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _redis_reachable() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _load_example(monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    monkeypatch.setenv("CHAT_BROADCAST_URL", url)
    spec = importlib.util.spec_from_file_location(f"chat_example_{uuid.uuid4().hex}", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chat_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _load_example(monkeypatch, "memory://")
    with TestClient(chat.app) as client:
        assert "new WebSocket" in client.get("/").text
        with client.websocket_connect("/ws/r1?name=ada") as ada, client.websocket_connect("/ws/r1?name=bob") as bob:
            assert ada.receive_json()["joined"] == "r1" and bob.receive_json()["joined"] == "r1"
            ada.send_json({"text": "  hi bob  "})
            assert bob.receive_json()["text"] == "hi bob"
            assert ada.receive_json()["name"] == "ada"


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set COVET_TEST_REDIS_URL)")
    port = free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", str(EXAMPLE), "--port", str(port), "--workers", "2", "--no-access-log"],
        env={**os.environ, "CHAT_BROADCAST_URL": REDIS_URL},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        stderr = stop(process)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def test_clients_on_different_workers_see_each_others_messages(served: int) -> None:
    room = uuid.uuid4().hex
    url = f"ws://127.0.0.1:{served}/ws/{room}"
    by_worker: dict[int, ClientConnection] = {}
    with contextlib.ExitStack() as opened:
        # The kernel spreads connections over the two workers; open until both have one.
        for _ in range(40):
            ws = opened.enter_context(connect(url + "?name=probe", open_timeout=10))
            worker = json.loads(ws.recv(timeout=10))["worker"]
            by_worker.setdefault(worker, ws)
            if len(by_worker) == 2:
                break
        assert len(by_worker) == 2, "every connection landed on one worker"
        sender, receiver = by_worker.values()
        sender.send(json.dumps({"text": "across workers"}))
        while True:  # skip nothing but our own message; other probes stay silent
            message = json.loads(receiver.recv(timeout=10))
            if message.get("text") == "across workers":
                break
        sender_pid, receiver_pid = by_worker.keys()
        assert message["worker"] == sender_pid != receiver_pid


def test_page_sends_and_receives_in_chromium(served: int) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    room = uuid.uuid4().hex
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            ada = browser.new_page()
            bob = browser.new_page()
            for page, name in ((ada, "ada"), (bob, "bob")):
                page.goto(f"http://127.0.0.1:{served}/?room={room}&name={name}")
                page.wait_for_selector("#status[data-ready=yes]", timeout=15000)
            ada.fill("#text", "<b>hello</b> from chromium")
            ada.click("button")
            bob.wait_for_function(
                "document.getElementById('log').textContent.includes('ada: <b>hello</b> from chromium')",
                timeout=15000,
            )
            assert bob.locator("#log b").count() == 0  # shown as text, never as markup
        finally:
            browser.close()
