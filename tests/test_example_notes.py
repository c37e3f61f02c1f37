"""examples/notes.py, the CRUD example, on SQLite and PostgreSQL: in-process, and served by ``covet run``."""

# ruff: noqa: F811 - the fixtures imported from db_backends are test parameters of the same name

import importlib.util
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import anyio
import httpx
import pytest
from db_backends import POSTGRES_URL, _reachable, _run_sql, postgres_schema  # noqa: F401
from server_processes import start_server, stop_server

from covet.testing import TestClient

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "notes.py"
_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def notes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ModuleType]:
    """The example loaded fresh, its database a SQLite file in tmp_path or this run's PostgreSQL schema."""
    name = f"_covet_example_notes_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if request.param == "sqlite":
        module.app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'notes.db'}"
    else:
        module.app.config["DATABASE_URL"] = POSTGRES_URL
        schema = request.getfixturevalue("postgres_schema")
        module.db.engine_options["connect_args"] = {"server_settings": {"search_path": schema}}
    try:
        yield module
    finally:
        sys.modules.pop(name, None)

        async def drop() -> None:
            try:
                await module.db.drop_all()
            finally:
                await module.db.dispose()

        anyio.run(drop)


@pytest.mark.usefixtures("serving_mode")  # plain, behind a hook, behind a middleware
def test_crud(notes: ModuleType) -> None:
    with TestClient(notes.app) as client:
        work = client.post("/notebooks", json={"name": "work"})
        assert work.status_code == 201 and work.json() == {"id": 1, "name": "work"}
        assert client.post("/notebooks", json={"name": "work"}).status_code == 409
        assert client.post("/notebooks", json={"name": ""}).status_code == 422
        client.post("/notebooks", json={"name": "home"})
        assert [n["name"] for n in client.get("/notebooks").json()] == ["home", "work"]

        r = client.post("/notebooks/1/notes", json={"title": "plan", "body": "ship it"})
        assert r.status_code == 201
        note = r.json()
        assert set(note) == {"id", "notebook_id", "title", "body", "created_at"}
        assert client.post("/notebooks/99/notes", json={"title": "orphan"}).status_code == 409
        assert client.get(f"/notes/{note['id']}").json()["body"] == "ship it"
        patched = client.patch(f"/notes/{note['id']}", json={"title": "new plan"}).json()
        assert patched["title"] == "new plan" and patched["body"] == "ship it"
        assert client.get(f"/notes/{note['id']}").json()["title"] == "new plan"  # committed
        assert client.get("/notes/999").status_code == 404

        for i in range(24):
            client.post("/notebooks/1/notes", json={"title": f"n{i}"})
        page = client.get("/notebooks/1/notes", params={"limit": 10}).json()
        assert page["total"] == 25 and len(page["items"]) == 10
        assert page["next"] == "/notebooks/1/notes?limit=10&offset=10"
        assert client.get(page["next"]).json()["items"][0]["title"] == "n9"

        assert client.delete(f"/notes/{note['id']}").status_code == 204
        assert client.get(f"/notes/{note['id']}").status_code == 404
        assert client.delete("/notebooks/1").status_code == 204
        assert client.get("/notebooks/1/notes").json()["total"] == 0  # cascaded
        assert client.get("/health").json() == {"database": True}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _serve_and_use(tmp_path: Path, env: dict[str, str]) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "covet", "run", str(EXAMPLE), "--port", str(port), "--no-access-log"]
    server = start_server(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(server.stdout.read().decode() if server.stdout else "no output") from None
                time.sleep(0.2)
        assert health.json() == {"database": True}
        assert httpx.post(f"{base}/notebooks", json={"name": "served"}).status_code == 201
        assert httpx.get(f"{base}/notebooks").json() == [{"id": 1, "name": "served"}]
    finally:
        stop_server(server, signal.SIGTERM, timeout=30)


def test_readme_command_serves_it_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COVET_DATABASE_URL"}
    _serve_and_use(tmp_path, env)
    assert (tmp_path / "app.db").is_file()  # the default database, in the working directory


def test_one_variable_moves_it_to_postgresql(tmp_path: Path) -> None:
    if not _reachable(POSTGRES_URL):
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set COVET_TEST_POSTGRES_URL)")
    name = f"covet_notes_{uuid.uuid4().hex[:12]}"
    anyio.run(_run_sql, POSTGRES_URL, f"CREATE DATABASE {name}")
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        _serve_and_use(tmp_path, {**os.environ, "COVET_DATABASE_URL": url})
        assert not (tmp_path / "app.db").exists()
    finally:
        anyio.run(_run_sql, POSTGRES_URL, f"DROP DATABASE {name} WITH (FORCE)")
