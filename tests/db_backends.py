"""Real databases for the covet.db tests: a SQLite file per test, a PostgreSQL schema per test run.

PostgreSQL is ``COVET_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
trust auth). Each pytest process works in its own schema (``covet_<uuid>``, dropped at the end),
so parallel runs and xdist workers never see each other's tables. Tests using PostgreSQL skip,
saying why, only when the server does not accept connections.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from covet.db import Database

POSTGRES_URL = os.environ.get("COVET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable(url: str) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout=2):
            return True
    except OSError:
        return False


async def _run_sql(url: str, *statements: str) -> None:
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password, database=parsed.database
    )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of this test process's own in the test PostgreSQL; skips when the server is down."""
    if not _reachable(POSTGRES_URL):
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set COVET_TEST_POSTGRES_URL)")
    schema = f"covet_{uuid.uuid4().hex[:12]}"
    asyncio.run(_run_sql(POSTGRES_URL, f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        asyncio.run(_run_sql(POSTGRES_URL, f"DROP SCHEMA {schema} CASCADE"))


def postgres_database(schema: str, **options: Any) -> Database:
    """A Database on the test PostgreSQL whose tables live in ``schema``."""
    connect_args = dict(options.pop("connect_args", {}))
    connect_args["server_settings"] = {"search_path": schema, **connect_args.get("server_settings", {})}
    return Database(POSTGRES_URL, connect_args=connect_args, **options)


@pytest.fixture(params=["sqlite", "postgresql"])
def make_db(request: pytest.FixtureRequest, tmp_path: Any) -> Callable[..., Database]:
    """``make_db(**options)``: a Database on SQLite (a file in tmp_path), then on PostgreSQL."""
    if request.param == "sqlite":
        return lambda **options: Database(f"sqlite:///{tmp_path / 'test.db'}", **options)
    schema = request.getfixturevalue("postgres_schema")
    return lambda **options: postgres_database(schema, **options)
