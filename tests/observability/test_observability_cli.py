"""``covet run``: covet's access log replaces the server's; ``--debug`` stays on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from server_processes import start_server, stop_server

from covet.cli import main
from covet.observability._serving import is_loopback

COVET = [sys.executable, "-m", "covet"]

APP = """
from covet import Covet

app = Covet()

@app.get("/items/<int:item_id>")
async def item(item_id: int) -> dict:
    return {"id": item_id}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(argv: list[str], cwd: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    process = start_server(
        [*COVET, "run", *argv, "--port", str(port)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"covet run exited: {process.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("covet run did not listen")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    return stop_server(process, timeout=20)


def run_and_get(tmp_path: Path, source: str, options: list[str], paths: list[str]) -> tuple[list[int], str, str]:
    """Serve ``source`` as shop.py with ``covet run shop.py *options``, GET each path, stop:
    the statuses, stdout and stderr."""
    (tmp_path / "shop.py").write_text(source)
    port = free_port()
    process = serve(["shop.py", *options], tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            statuses = [client.get(path).status_code for path in paths]
    finally:
        out, err = stop(process)
    return statuses, out, err


@pytest.mark.parametrize("format", ["combined", "json"])
def test_run_logs_one_access_line_per_request(tmp_path: Path, format: str) -> None:
    options = ["--access-log-format", format]
    statuses, out, err = run_and_get(tmp_path, APP, options, ["/items/5", "/nope/../etc/passwd"])
    assert statuses == [200, 404]
    lines = [line for line in (out + err).splitlines() if "GET " in line or '"GET"' in line]
    assert len(lines) == 2, out + err
    if format == "json":
        routes = [json.loads(line)["route"] for line in lines]
    else:
        routes = [line.split('"')[1].split()[1] for line in lines]
    assert routes == ["/items/<int:item_id>", "<unmatched>"]
    assert "passwd" not in out + err


def test_run_prints_the_lines_of_an_app_that_adds_the_access_log_itself(tmp_path: Path) -> None:
    # covet run keeps the app's own AccessLogMiddleware (and its format) instead of adding one,
    # and must still print its lines: the server's own access log is off.
    app = APP + "\nfrom covet.observability import AccessLogMiddleware\napp.add_middleware(AccessLogMiddleware, format='combined')\n"
    statuses, out, err = run_and_get(tmp_path, app, ["--access-log-format", "json"], ["/items/5"])
    assert statuses == [200]
    lines = [line for line in out.splitlines() if "/items/" in line]
    assert len(lines) == 1, out + err
    assert '"GET /items/<int:item_id> HTTP/1.1" 200' in lines[0]


@pytest.mark.parametrize("server", ["hypercorn", "uvicorn", "granian"])
def test_run_keeps_stdout_for_access_lines_and_errors_on_stderr(tmp_path: Path, server: str) -> None:
    # A log shipper reading stdout as JSON lines must not meet a server banner or a traceback.
    pytest.importorskip(server)
    app = APP + "\n@app.get('/boom')\nasync def boom() -> dict:\n    raise RuntimeError('kaput')\n"
    options = ["--server", server, "--access-log-format", "json"]
    statuses, out, err = run_and_get(tmp_path, app, options, ["/items/5", "/boom"])
    assert statuses == [200, 500]
    lines = [line for line in out.splitlines() if line.strip()]
    assert [json.loads(line)["route"] for line in lines] == ["/items/<int:item_id>", "/boom"], out
    assert "kaput" in err and "Traceback" in err


def test_run_no_access_log(tmp_path: Path) -> None:
    statuses, out, err = run_and_get(tmp_path, APP, ["--no-access-log"], ["/items/5"])
    assert statuses == [200]
    assert "/items" not in out + err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com"])
def test_debug_refuses_public_bind(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "whatever.py", "--debug", "--host", host]) == 2
    err = capsys.readouterr().err
    assert "--force-debug" in err and "loopback" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "localhost.evil.com", ""])
def test_non_loopback_hosts(host: str) -> None:
    assert not is_loopback(host)
