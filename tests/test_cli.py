"""covet.cli: ``covet --version``, ``routes``, ``openapi``, target loading and a real ``covet run``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from server_processes import start_server, stop_server

import covet
from covet.cli import _TARGET_VARIABLE, SERVERS, _app_from_environment, main

HELLO = Path(__file__).resolve().parent.parent / "examples" / "hello.py"
COVET_SCRIPT = Path(sys.executable).parent / "covet"

APP_SOURCE = """
from covet import Covet

{attr} = Covet(title="tmp app")

@{attr}.get("/ping/<int:n>", name="ping")
def ping(n: int) -> dict:
    return {{"n": n}}
"""


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Undo the sys.path entries the CLI adds when it loads a file target."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    return monkeypatch


def write_module(tmp_path: Path, source: str) -> tuple[Path, str]:
    """A uniquely named module file, so sys.modules caching never mixes tests up."""
    name = f"covet_cli_target_{uuid.uuid4().hex}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path, name


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error:")
    assert "Traceback" not in err
    return lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"covet {covet.__version__}")
    expected = "speedups: compiled" if covet.speedups_enabled() else "speedups: pure"
    assert expected in out


def test_routes_for_example_file(capsys: pytest.CaptureFixture[str], isolated: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(capsys, "routes", str(HELLO))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["METHODS", "PATH", "NAME", "HANDLER"]
    rows = [line.split() for line in lines[1:]]
    assert ["GET", "/", "index", "hello.index"] in rows
    assert ["GET", "/items", "list_items", "hello.list_items"] in rows
    assert ["GET", "/items/<int:item_id>", "get_item", "hello.get_item"] in rows
    assert ["POST", "/items", "create_item", "hello.create_item"] in rows
    assert ["GET", "/admin/stats", "admin.stats", "hello.stats"] in rows


def test_openapi_for_example_file(capsys: pytest.CaptureFixture[str], isolated: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(capsys, "openapi", str(HELLO))
    assert code == 0, err
    document = json.loads(out)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "covet example", "version": "1.0.0"}
    assert set(document["paths"]["/items"]) == {"get", "post"}
    assert set(document["paths"]) >= {"/", "/items", "/items/{item_id}", "/admin/stats"}


def test_target_module_attr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    _, name = write_module(tmp_path, APP_SOURCE.format(attr="api"))
    isolated.syspath_prepend(str(tmp_path))
    code, out, err = run_cli(capsys, "routes", f"{name}:api")
    assert code == 0, err
    assert ["GET", "/ping/<int:n>", "ping", f"{name}.ping"] in [line.split() for line in out.splitlines()]


def test_target_module_defaults_to_app(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    _, name = write_module(tmp_path, APP_SOURCE.format(attr="app"))
    isolated.syspath_prepend(str(tmp_path))
    code, out, err = run_cli(capsys, "openapi", name)
    assert code == 0, err
    assert "/ping/{n}" in json.loads(out)["paths"]


def test_target_file_path_finds_app(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="app"))
    code, out, err = run_cli(capsys, "openapi", str(path))
    assert code == 0, err
    assert json.loads(out)["info"]["title"] == "tmp app"


def test_target_file_path_with_attr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="service"))
    code, out, err = run_cli(capsys, "routes", f"{path}:service")
    assert code == 0, err
    assert "/ping/<int:n>" in out


def test_target_relative_file_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="app"))
    isolated.chdir(tmp_path)
    code, out, err = run_cli(capsys, "routes", f"./{path.name}")
    assert code == 0, err
    assert "/ping/<int:n>" in out


def test_missing_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "app.py"
    line = assert_one_line_error(*run_cli(capsys, "routes", str(missing)))
    assert str(missing) in line


def test_missing_module(capsys: pytest.CaptureFixture[str], isolated: pytest.MonkeyPatch) -> None:
    name = f"no_such_module_{uuid.uuid4().hex}"
    line = assert_one_line_error(*run_cli(capsys, "openapi", f"{name}:app"))
    assert repr(name) in line


def test_missing_attribute_suggests_the_app(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="api"))
    line = assert_one_line_error(*run_cli(capsys, "routes", str(path)))
    assert "'app'" in line
    assert f"{path}:api" in line


def test_missing_attribute_in_module_target_suggests_the_app(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    _, name = write_module(tmp_path, APP_SOURCE.format(attr="api"))
    isolated.syspath_prepend(str(tmp_path))
    line = assert_one_line_error(*run_cli(capsys, "routes", f"{name}:application"))
    assert "'application'" in line
    assert f"{name}:api" in line


def test_syntax_error_in_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, "from covet import Covet\napp = Covet(\ndef broken(:\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", str(path)))
    assert "syntax" in line.lower()
    assert path.name in line


def test_target_raising_at_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, name = write_module(tmp_path, "raise RuntimeError('database unreachable')\n")
    line = assert_one_line_error(*run_cli(capsys, "openapi", str(path)))
    assert "RuntimeError" in line
    assert "database unreachable" in line
    assert name not in sys.modules


def test_target_raising_multiline_error_stays_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, "raise ValueError('first line\\nsecond line')\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", str(path)))
    assert "ValueError" in line


def test_target_importing_missing_dependency(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    dependency = f"missing_dep_{uuid.uuid4().hex}"
    path, _ = write_module(tmp_path, f"import {dependency}\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", str(path)))
    assert dependency in line


def test_non_asgi_attribute(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, "app = 42\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", f"{path}:app"))
    assert "int" in line
    assert "ASGI" in line


def test_plain_asgi_app_is_not_a_covet_app_for_routes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, "async def app(scope, receive, send):\n    pass\n")
    line = assert_one_line_error(*run_cli(capsys, "openapi", str(path)))
    assert "covet" in line


def test_target_ending_with_colon(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="app"))
    line = assert_one_line_error(*run_cli(capsys, "routes", f"{path}:"))
    assert f"{path}:app" in line


def test_target_not_a_python_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.txt"
    path.write_text("app = 1\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", str(path)))
    assert ".py" in line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"covet run exited early with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"covet run did not listen on port {port} within {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> bytes:
    """Stop a server as Ctrl+C would (see server_processes) and return its stderr."""
    return stop_server(process)[1]


def start_covet_run(directory: Path, target: str, *arguments: str) -> tuple[subprocess.Popen[bytes], int]:
    """``covet run TARGET`` in ``directory`` on a free port, once it listens: ``(process, port)``.

    The caller stops it with :func:`stop` (which gives its stderr).
    """
    port = free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", target, "--port", str(port), "--no-access-log", *arguments],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
    except BaseException:
        stop(process)
        raise
    return process, port


@pytest.mark.parametrize("server", SERVERS)
def test_run_serves_example_over_http(server: str) -> None:
    port = free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", str(HELLO), "--port", str(port), "--no-access-log", "--server", server],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            index = client.get("/")
            assert index.status_code == 200
            assert index.text == "Hello from covet!"
            assert client.get("/items/1").json() == {"name": "keyboard", "price": 49.0, "tags": ["desk"]}
            created = client.post("/items", json={"name": "mouse", "price": 9.5})
            assert created.status_code == 201
            new_id = created.json()["id"]
            assert client.get(f"/items/{new_id}").json()["name"] == "mouse"
            missing = client.get("/items/999")
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("application/json")
            assert missing.json() == {"detail": "No item 999"}
    finally:
        stderr = stop(process)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    assert f"with {server} on".encode() in stderr


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
@pytest.mark.parametrize("form", ["module:attr", "file.py:attr"])
def test_run_target_forms_in_worker_processes(server: str, form: str, tmp_path: Path) -> None:
    # Two workers: each is a fresh process that must find the app from the TARGET alone.
    path, name = write_module(tmp_path, APP_SOURCE.format(attr="api"))
    target = f"{name}:api" if form == "module:attr" else f"{path.name}:api"
    port = free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", target, "--port", str(port), "--server", server, "--workers", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for n in range(8):
                response = client.get(f"/ping/{n}")
                assert response.status_code == 200
                assert response.json() == {"n": n}
    finally:
        stderr = stop(process)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def test_run_reload_with_granian_serves_the_edited_code(tmp_path: Path) -> None:
    # granian forks workers from the process that imported TARGET; a reload must not reuse that import.
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="app"))
    port = free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", str(path), "--port", str(port), "--server", "granian", "--reload"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        url = f"http://127.0.0.1:{port}/ping/3"
        assert httpx.get(url, timeout=10).json() == {"n": 3}
        edited = APP_SOURCE.format(attr="app").replace('{"n": n}', '{"n": n, "edited": True}')
        assert "edited" in edited
        path.write_text(edited)
        deadline = time.monotonic() + 30
        body: object = None
        while time.monotonic() < deadline:
            try:
                body = httpx.get(url, timeout=10).json()
            except httpx.TransportError:
                body = None  # the worker is restarting
            if body == {"n": 3, "edited": True}:
                break
            time.sleep(0.2)
        assert body == {"n": 3, "edited": True}
    finally:
        stop(process)


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_run_without_the_server_package_names_the_extra(server: str) -> None:
    # None in sys.modules makes "import <server>" fail exactly as if the package were not installed.
    program = (
        f"import sys; sys.modules[{server!r}] = None; from covet.cli import main; "
        f"sys.exit(main(['run', {str(HELLO)!r}, '--server', {server!r}, '--port', '{free_port()}']))"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:")
    assert f"pip install 'covet[{server}]'" in lines[0]
    assert "Traceback" not in result.stderr


def test_run_with_zero_workers(capsys: pytest.CaptureFixture[str], isolated: pytest.MonkeyPatch) -> None:
    line = assert_one_line_error(*run_cli(capsys, "run", str(HELLO), "--workers", "0"))
    assert "--workers must be at least 1, got 0" in line


def test_run_rejects_an_unknown_server(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["run", str(HELLO), "--server", "gunicorn"])
    assert exc_info.value.code == 2
    assert "'gunicorn'" in capsys.readouterr().err


def test_run_target_variable_stays_out_of_prefixed_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # The variable that hands TARGET to worker processes must not turn up in app.config.
    monkeypatch.setenv(_TARGET_VARIABLE, "shop:app")
    app = covet.Covet()
    app.config.from_prefixed_env("COVET")
    assert all("TARGET" not in str(key) for key in app.config)


def test_app_factory_without_a_target_says_how_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_TARGET_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match="covet run TARGET"):
        _app_from_environment()


def test_run_with_bad_target_exits_2_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(COVET_SCRIPT), "run", str(tmp_path / "missing.py"), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert time.monotonic() - started < 15
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(r"Error: No such file: .*missing\.py", lines[0])
    assert "Traceback" not in result.stderr


# --- Flask habits: site.py, app factories, COVET_APP, python -m covet, --debug, app.run() ---------


def test_file_named_like_a_stdlib_module_loads_the_named_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    # `covet run site.py` imported the standard library's site module: "has no attribute 'app'".
    import site as stdlib_site

    (tmp_path / "site.py").write_text(APP_SOURCE.format(attr="app"))
    isolated.chdir(tmp_path)
    code, out, err = run_cli(capsys, "routes", "site.py")
    assert code == 0, err
    assert "/ping/<int:n>" in out
    assert sys.modules["site"] is stdlib_site


def test_error_embedding_a_message_with_a_period_ends_with_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    # "...(or rename the placeholder).." : the embedded message's period plus covet's own.
    path, _ = write_module(tmp_path, "from covet import Covet\napp = Covet()\n@app.get('/<int:a>')\ndef f(): pass\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", str(path)))
    assert line.endswith("(or rename the placeholder).")


@pytest.mark.parametrize("form", ["file.py:create_app", "module:create_app()", "module:create_app('shop')", "file.py"])
def test_app_factory_is_called_not_served_as_the_app(
    form: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    # `covet run factory.py:create_app` served the function itself: every request was a 500.
    source = "from covet import Covet\n\ndef create_app(title='made'):\n" + "".join(
        "    " + line + "\n" for line in APP_SOURCE.format(attr="app").replace("Covet(title=\"tmp app\")", "Covet(title=title)").splitlines()
    ) + "    return app\n"
    path, name = write_module(tmp_path, source)
    isolated.chdir(tmp_path)
    module, _, call = form.partition(":")
    target = (path.name if module.startswith("file") else name) + (f":{call}" if call else "")
    code, out, err = run_cli(capsys, "openapi", target)
    assert code == 0, err
    document = json.loads(out)
    assert document["info"]["title"] == ("shop" if "shop" in form else "made")
    assert "/ping/{n}" in document["paths"]


def test_app_factory_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    path, _ = write_module(tmp_path, "def create_app():\n    raise RuntimeError('no config')\n")
    line = assert_one_line_error(*run_cli(capsys, "routes", f"{path}:create_app"))
    assert "create_app() raised RuntimeError: no config." in line
    line = assert_one_line_error(*run_cli(capsys, "routes", f"{path}:create_app(__import__('os'))"))
    assert "literal values only" in line


def test_covet_app_variable_names_the_target(
    capsys: pytest.CaptureFixture[str], isolated: pytest.MonkeyPatch
) -> None:
    isolated.setenv("COVET_APP", str(HELLO))
    code, out, err = run_cli(capsys, "routes")
    assert code == 0, err
    assert "/items/<int:item_id>" in out
    isolated.delenv("COVET_APP")
    line = assert_one_line_error(*run_cli(capsys, "routes"))
    assert "COVET_APP" in line


def test_python_dash_m_covet_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "covet", "routes", str(HELLO)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "/items/<int:item_id>" in result.stdout


@pytest.mark.parametrize("server", SERVERS)
def test_port_already_in_use_is_one_line_not_a_traceback(server: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(COVET_SCRIPT), "run", str(HELLO), "--port", str(port), "--server", server],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: Port {port} on 127.0.0.1 is already in use (is another server running?); stop it or pick "
        "another port with --port."
    ]


BROKEN = "from covet import Covet\napp = Covet()\ndef broken(:\n"


def get_when(url: str, wanted: Callable[[httpx.Response], bool], timeout: float = 40.0) -> httpx.Response | None:
    deadline = time.monotonic() + timeout
    response: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=10)
            if wanted(response):
                return response
        except httpx.TransportError:
            response = None  # a worker is restarting
        time.sleep(0.2)
    return response


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
def test_reload_survives_a_syntax_error_and_serves_the_fix(server: str, tmp_path: Path) -> None:
    # hypercorn and granian died when a reload met a syntax error, and stayed down after the fix.
    path, _ = write_module(tmp_path, APP_SOURCE.format(attr="app"))
    port = free_port()
    process = start_server(
        [str(COVET_SCRIPT), "run", str(path), "--port", str(port), "--server", server, "--reload", "--no-access-log"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/ping/3"
    try:
        wait_for_port(port, process)
        first = get_when(url, lambda r: r.status_code == 200)  # patient: a loaded machine is slow to answer
        assert first is not None and first.json() == {"n": 3}
        time.sleep(1.1)  # a new modification time, whatever the file system's resolution
        path.write_text(BROKEN)
        broken = get_when(url, lambda r: r.status_code == 500)
        assert broken is not None and broken.status_code == 500
        assert "syntax error" in broken.text and "Fix it and save" in broken.text
        time.sleep(1.1)
        path.write_text(APP_SOURCE.format(attr="app").replace('{"n": n}', '{"n": n, "fixed": True}'))
        fixed = get_when(url, lambda r: r.status_code == 200)
        assert fixed is not None and fixed.json() == {"n": 3, "fixed": True}
        assert process.poll() is None
    finally:
        stderr = stop(process).decode(errors="replace")
    assert f"{path.name}:3: syntax error: invalid syntax. Waiting for a fix" in stderr
    assert "Traceback" not in stderr


def test_run_debug_turns_on_debug_pages_and_starts_with_a_broken_app(tmp_path: Path) -> None:
    path, _ = write_module(tmp_path, BROKEN)
    port = free_port()
    env = {**os.environ, "COVET_APP": str(path)}
    process = start_server(
        [sys.executable, "-m", "covet", "run", "--port", str(port), "--debug", "--no-access-log"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/boom"
    try:
        wait_for_port(port, process)
        assert httpx.get(url, timeout=10).status_code == 500
        time.sleep(1.1)
        path.write_text("from covet import Covet\napp = Covet()\n@app.get('/boom')\ndef boom():\n    raise ValueError('kaput')\n")
        page = get_when(url, lambda r: "kaput" in r.text)
        assert page is not None and page.status_code == 500
        assert "ValueError: kaput" in page.text  # debug=True shows the error; off, a bare 500
    finally:
        stderr = stop(process).decode(errors="replace")
    assert "in debug mode" in stderr


def test_app_run_serves_the_script_on_loopback(tmp_path: Path) -> None:
    # `python app.py` with app.run() used to exit silently.
    script = tmp_path / "app.py"
    port = free_port()
    script.write_text(APP_SOURCE.format(attr="app") + f"\nif __name__ == '__main__':\n    app.run(port={port})\n")
    process = start_server([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process)
        assert httpx.get(f"http://127.0.0.1:{port}/ping/5", timeout=10).json() == {"n": 5}
        tcp = Path("/proc/net/tcp")
        if tcp.exists():  # Linux: the listening socket (state 0A) is bound to 127.0.0.1, not 0.0.0.0
            listening = [line.split() for line in tcp.read_text().splitlines()[1:] if f":{port:04X} " in line]
            assert [row[1] for row in listening if row[3] == "0A"] == [f"0100007F:{port:04X}"]
    finally:
        stderr = stop(process).decode(errors="replace")
    assert f"on http://127.0.0.1:{port}" in stderr
