"""TechEmpower's "single query" and "multiple queries" (20) over PostgreSQL, in-process.

Usage: ``python bench/db_queries.py [--rounds 5] [--requests 400] [--concurrency 16]``. Needs
covet[db] and a PostgreSQL (``COVET_BENCH_POSTGRES_URL``, else ``COVET_TEST_POSTGRES_URL``, else
``postgresql://postgres@127.0.0.1:5432/test``); the ``world`` table (10,000 rows) is made in a
schema of this run's own and dropped at the end. Starlette and FastAPI are measured when importable
(``pip install starlette fastapi`` next to covet; bench/run.py's venv has them).

Each app answers ``GET /db`` with one random ``World`` row as ``{"id", "randomNumber"}`` and
``GET /queries?queries=20`` with a list of 20, each row read by its own query (TechEmpower's
rules). Apps are called as ASGI callables, no server: ``--concurrency`` requests in flight at a
time on one event loop, in interleaved rounds, every answer checked against the table. The floor
is a raw ASGI app over an asyncpg pool; every figure is also given as a ratio to it, taken in the
same run. The database round trips dominate, so the ratios show what each layer (framework,
SQLAlchemy ORM) adds on top of the driver.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from covet import Covet, Depends, Query
from covet.db import Database

ROWS = 10_000
URL = os.environ.get(
    "COVET_BENCH_POSTGRES_URL", os.environ.get("COVET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class WorldOut(msgspec.Struct, rename={"random_number": "randomNumber"}):
    id: int
    random_number: int


_encode = msgspec.json.encode


def _ids(count: int) -> list[int]:
    return [random.randint(1, ROWS) for _ in range(count)]


def _count(raw: str | None) -> int:
    # TechEmpower: a missing or bad value is 1, and the count is clamped to 1..500.
    try:
        return min(max(int(raw or "1"), 1), 500)
    except ValueError:
        return 1


async def _pool(schema: str, size: int) -> asyncpg.Pool:
    parsed = make_url(URL)
    return await asyncpg.create_pool(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        database=parsed.database, min_size=size, max_size=size, server_settings={"search_path": schema},
    )


# --- the apps -------------------------------------------------------------------------------------

_SELECT = "SELECT id, randomnumber FROM world WHERE id = $1"


def raw_app(pool: asyncpg.Pool) -> App:
    """The floor: plain ASGI over asyncpg."""
    headers = [(b"content-type", b"application/json")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async with pool.acquire() as connection:
            if scope["path"] == "/db":
                row = await connection.fetchrow(_SELECT, _ids(1)[0])
                body = _encode({"id": row[0], "randomNumber": row[1]})
            else:
                query = dict(pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair)
                rows = [await connection.fetchrow(_SELECT, i) for i in _ids(_count(query.get("queries")))]
                body = _encode([{"id": r[0], "randomNumber": r[1]} for r in rows])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def covet_asyncpg_app(pool: asyncpg.Pool) -> App:
    """covet with a raw asyncpg pool as an app-scoped dependency."""
    app = Covet(openapi_url=None)

    def get_pool() -> asyncpg.Pool:
        return pool

    Pool = Annotated[asyncpg.Pool, Depends(get_pool, scope="app")]

    @app.get("/db")
    async def single(db: Pool) -> WorldOut:
        async with db.acquire() as connection:
            row = await connection.fetchrow(_SELECT, _ids(1)[0])
        return WorldOut(row[0], row[1])

    @app.get("/queries")
    async def multiple(db: Pool, queries: str | None = None) -> list[WorldOut]:
        async with db.acquire() as connection:
            return [WorldOut(*(await connection.fetchrow(_SELECT, i))) for i in _ids(_count(queries))]

    return app


def covet_db_app(schema: str, size: int, **options: Any) -> tuple[App, Database]:
    """covet with covet.db: a request-scoped AsyncSession, ORM rows encoded through WorldOut."""
    db = Database(URL, pool_size=size, max_overflow=0, connect_args={"server_settings": {"search_path": schema}}, **options)

    class World(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "world"
        id: Mapped[int] = mapped_column(primary_key=True)
        random_number: Mapped[int] = mapped_column("randomnumber")

    app = Covet(database=db, openapi_url=None)
    Session = Annotated[AsyncSession, Depends(db.session)]

    @app.get("/db")
    async def single(session: Session) -> WorldOut:
        return await session.get(World, _ids(1)[0])  # type: ignore[return-value]

    @app.get("/queries")
    async def multiple(session: Session, queries: Annotated[str | None, Query()] = None) -> list[WorldOut]:
        return [await session.get(World, i) for i in _ids(_count(queries))]  # type: ignore[misc]

    return app, db


def peer_apps(pool: asyncpg.Pool, schema: str, size: int, engines: list[Any]) -> dict[str, App]:
    """Starlette and FastAPI over the same asyncpg pool, and FastAPI with SQLAlchemy, when installed."""
    apps: dict[str, App] = {}
    try:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route
    except ImportError:
        return apps

    async def s_single(request: Request) -> Response:
        async with pool.acquire() as connection:
            row = await connection.fetchrow(_SELECT, _ids(1)[0])
        return Response(_encode({"id": row[0], "randomNumber": row[1]}), media_type="application/json")

    async def s_multiple(request: Request) -> Response:
        async with pool.acquire() as connection:
            rows = [await connection.fetchrow(_SELECT, i) for i in _ids(_count(request.query_params.get("queries")))]
        return Response(_encode([{"id": r[0], "randomNumber": r[1]} for r in rows]), media_type="application/json")

    apps["starlette-asyncpg"] = Starlette(routes=[Route("/db", s_single), Route("/queries", s_multiple)])
    try:
        from fastapi import FastAPI
    except ImportError:
        return apps
    fast = FastAPI(openapi_url=None)

    @fast.get("/db")
    async def f_single() -> dict[str, int]:
        async with pool.acquire() as connection:
            row = await connection.fetchrow(_SELECT, _ids(1)[0])
        return {"id": row[0], "randomNumber": row[1]}

    @fast.get("/queries")
    async def f_multiple(queries: str | None = None) -> list[dict[str, int]]:
        async with pool.acquire() as connection:
            rows = [await connection.fetchrow(_SELECT, i) for i in _ids(_count(queries))]
        return [{"id": r[0], "randomNumber": r[1]} for r in rows]

    apps["fastapi-asyncpg"] = fast

    # FastAPI with SQLAlchemy as its tutorial writes it: a yield dependency over async_sessionmaker.
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class World(Base):
        __tablename__ = "world"
        id: Mapped[int] = mapped_column(primary_key=True)
        random_number: Mapped[int] = mapped_column("randomnumber")

    engine = create_async_engine(
        URL.replace("postgresql://", "postgresql+asyncpg://"), pool_size=size, max_overflow=0,
        connect_args={"server_settings": {"search_path": schema}},
    )
    engines.append(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get_session() -> Any:
        async with sessions() as session:
            yield session
            await session.commit()

    from fastapi import Depends as FDepends

    orm = FastAPI(openapi_url=None)

    @orm.get("/db")
    async def o_single(session: Annotated[AsyncSession, FDepends(get_session)]) -> dict[str, int]:
        row = await session.get(World, _ids(1)[0])
        assert row is not None
        return {"id": row.id, "randomNumber": row.random_number}

    @orm.get("/queries")
    async def o_multiple(
        session: Annotated[AsyncSession, FDepends(get_session)], queries: str | None = None
    ) -> list[dict[str, int]]:
        rows = [await session.get(World, i) for i in _ids(_count(queries))]
        return [{"id": r.id, "randomNumber": r.random_number} for r in rows if r is not None]

    apps["fastapi-sqlalchemy"] = orm
    return apps


# --- measuring ------------------------------------------------------------------------------------


async def _call(app: App, path: str, query: bytes, truth: dict[int, int]) -> None:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
        "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    data = json.loads(body)
    rows = [data] if path == "/db" else data
    if status != 200 or len(rows) != (1 if path == "/db" else 20) or any(truth[r["id"]] != r["randomNumber"] for r in rows):
        raise AssertionError(f"wrong answer from {path}: {status} {body[:200]!r}")


async def _throughput(app: App, path: str, query: bytes, requests: int, concurrency: int, truth: dict[int, int]) -> float:
    """Requests per second for ``requests`` calls, ``concurrency`` at a time."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await _call(app, path, query, truth)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def _lifespan(app: App) -> tuple[asyncio.Task[None], asyncio.Queue[dict[str, Any]]]:
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    message = await from_app.get()
    assert message["type"] == "lifespan.startup.complete", message
    return task, to_app


async def main(args: argparse.Namespace) -> None:
    random.seed(20261202)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await _pool("public", 1)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        await admin.execute(f"CREATE TABLE {schema}.world (id integer PRIMARY KEY, randomnumber integer NOT NULL)")
        await admin.copy_records_to_table(
            "world", schema_name=schema, records=[(i, random.randint(1, 10_000)) for i in range(1, ROWS + 1)]
        )
        truth = {row[0]: row[1] for row in await admin.fetch(f"SELECT id, randomnumber FROM {schema}.world")}
        pool = await _pool(schema, args.concurrency)
        covet_db, db = covet_db_app(schema, args.concurrency)
        covet_db_fast, db_fast = covet_db_app(schema, args.concurrency, pool_pre_ping=False)
        engines: list[Any] = []
        apps: dict[str, App] = {
            "raw-asgi-asyncpg": raw_app(pool),
            "covet-asyncpg": covet_asyncpg_app(pool),
            "covet-db": covet_db,
            "covet-db (pool_pre_ping=False)": covet_db_fast,
            **peer_apps(pool, schema, args.concurrency, engines),
        }
        lifespans = [await _lifespan(apps[name]) for name in ("covet-asyncpg", "covet-db", "covet-db (pool_pre_ping=False)")]
        results: dict[tuple[str, str], list[float]] = {}
        scenarios = [("single query", "/db", b""), ("multiple queries (20)", "/queries", b"queries=20")]
        for _, path, query in scenarios:  # warm-up: connections, prepared statements, caches
            for app in apps.values():
                await _throughput(app, path, query, args.concurrency * 4, args.concurrency, truth)
        for _ in range(args.rounds):
            for label, path, query in scenarios:
                requests = args.requests if path == "/db" else max(args.requests // 10, args.concurrency)
                for name, app in apps.items():
                    rate = await _throughput(app, path, query, requests, args.concurrency, truth)
                    results.setdefault((label, name), []).append(rate)
        for task, to_app in lifespans:
            await to_app.put({"type": "lifespan.shutdown"})
            await task
        await pool.close()
        for engine in engines:
            await engine.dispose()
        await db.dispose()
        await db_fast.dispose()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    print(f"Python {sys.version.split()[0]}, {args.rounds} rounds, concurrency {args.concurrency}, median requests/s\n")
    print("| scenario | app | requests/s | ratio to raw |")
    print("| --- | --- | ---: | ---: |")
    for label, _, _ in scenarios:
        floor = statistics.median(results[(label, "raw-asgi-asyncpg")])
        for name in apps:
            rate = statistics.median(results[(label, name)])
            print(f"| {label} | {name} | {rate:,.0f} | {rate / floor:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400, help="single-query requests per round (multiple: a tenth)")
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
