"""covet.db against real databases: SQLite files and the test PostgreSQL (see tests/db_backends.py)."""

# ruff: noqa: F811 - the fixtures imported from db_backends are test parameters of the same name

import gc
import socket
import time
import warnings
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import msgspec
import pytest
import sqlalchemy as sa
from db_backends import make_db, postgres_database, postgres_schema  # noqa: F401
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from covet import Covet, Depends, HTTPException
from covet.db import DEFAULT_URL, Database, DatabaseUnavailable, async_url
from covet.testing import AsyncTestClient, TestClient

# The tests of request behaviour run three ways: plain, behind a no-op before_request hook and
# behind a no-op middleware (serving_mode, tests/conftest.py).
three_ways = pytest.mark.usefixtures("serving_mode")


class UserOut(msgspec.Struct):
    id: int
    email: str


def build(db: Database) -> tuple[Covet, Any, Any]:
    """An app over ``db`` with users and posts (a foreign key); tables made at startup, dropped at shutdown."""

    class User(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(sa.String(200), unique=True)
        password_hash: Mapped[str] = mapped_column(default="secret")

    class Post(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    app = Covet()
    app.on_startup(db.create_all)
    app.on_shutdown(db.drop_all)
    db.init_app(app)
    DB = Annotated[AsyncSession, Depends(db.session)]

    @app.post("/users", status_code=201)
    async def create_user(email: str, session: DB) -> UserOut:
        user = User(email=email)
        session.add(user)
        await session.flush()
        return user  # type: ignore[return-value] - encoded through UserOut by attribute

    @app.post("/users/unflushed", status_code=201)
    async def create_user_unflushed(email: str, session: DB) -> dict[str, bool]:
        session.add(User(email=email))  # the INSERT happens at the commit, after the handler
        return {"queued": True}

    @app.post("/users/then-fail")
    async def create_then_fail(email: str, session: DB) -> None:
        session.add(User(email=email))
        await session.flush()
        raise HTTPException(418, "changed my mind")

    @app.get("/users")
    async def list_users(session: DB) -> list[UserOut]:
        return (await session.scalars(sa.select(User).order_by(User.id))).all()  # type: ignore[return-value]

    @app.post("/posts", status_code=201)
    async def create_post(author_id: int, session: DB) -> dict[str, int]:
        post = Post(author_id=author_id)
        session.add(post)
        await session.flush()
        return {"id": post.id}

    @app.get("/count")
    async def count(session: DB) -> dict[str, int]:
        return {"users": await session.scalar(sa.select(sa.func.count()).select_from(User)) or 0}

    return app, User, Post


@three_ways
def test_session_commits_and_orm_rows_encode_through_the_return_annotation(make_db: Callable[..., Database]) -> None:
    db = make_db()
    app, _, _ = build(db)
    with TestClient(app) as client:
        r = client.post("/users", params={"email": "ada@example.com"})
        assert r.status_code == 201
        assert r.json() == {"id": 1, "email": "ada@example.com"}  # password_hash dropped by UserOut
        client.post("/users", params={"email": "bob@example.com"})
        assert client.get("/users").json() == [
            {"id": 1, "email": "ada@example.com"},
            {"id": 2, "email": "bob@example.com"},
        ]
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    schema = app.openapi()["paths"]["/users"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"type": "array", "items": {"$ref": "#/components/schemas/UserOut"}}


@three_ways
def test_commit_failure_is_the_response_not_a_lost_write(make_db: Callable[..., Database]) -> None:
    # The INSERT runs at the commit, after the handler returned: the commit happens before the
    # response is sent, so the client gets the 409 instead of a 201 for a row that never existed.
    app, _, _ = build(make_db())
    with TestClient(app) as client:
        assert client.post("/users/unflushed", params={"email": "a@x"}).status_code == 201
        r = client.post("/users/unflushed", params={"email": "a@x"})
        assert r.status_code == 409
        assert r.json()["detail"].startswith("Conflict: a row with the same unique value already exists")
        assert client.get("/count").json() == {"users": 1}


@three_ways
def test_unique_and_foreign_key_violations_are_409(make_db: Callable[..., Database]) -> None:
    app, _, _ = build(make_db())
    with TestClient(app) as client:
        client.post("/users", params={"email": "a@x"})
        r = client.post("/users", params={"email": "a@x"})
        assert r.status_code == 409
        assert "users" in r.json()["detail"]  # the constraint's name, never the SQL
        assert "INSERT" not in r.text and "a@x" not in r.text
        r = client.post("/posts", params={"author_id": 999})
        assert r.status_code == 409
        assert r.json()["detail"].startswith("Conflict: the row refers to a row that does not exist")
        assert client.post("/posts", params={"author_id": 1}).status_code == 201


@three_ways
def test_handler_error_rolls_back(make_db: Callable[..., Database]) -> None:
    db = make_db()
    app, _, _ = build(db)
    with TestClient(app) as client:
        r = client.post("/users/then-fail", params={"email": "gone@x"})
        assert r.status_code == 418
        assert client.get("/count").json() == {"users": 0}
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@three_ways
def test_session_closes_when_the_request_is_cancelled_without_gc_warnings(make_db: Callable[..., Database]) -> None:
    db = make_db()
    app, User, _ = build(db)
    holding = anyio.Event()

    @app.get("/hang")
    async def hang(session: Annotated[AsyncSession, Depends(db.session)]) -> None:
        await session.scalar(sa.select(sa.func.count()).select_from(User))  # a connection is checked out
        holding.set()
        await anyio.sleep(30)  # cancelled here, with no query running

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.get, "/hang")
                await holding.wait()
                assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
                tg.cancel_scope.cancel()
            assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            assert (await client.get("/count")).json() == {"users": 0}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        anyio.run(main)
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_transaction_outside_requests(make_db: Callable[..., Database]) -> None:
    db = make_db()
    _, User, _ = build(db)

    async def main() -> None:
        await db.create_all()
        try:
            async with db.transaction() as session:
                session.add(User(email="kept@x"))
            with pytest.raises(RuntimeError):
                async with db.transaction() as session:
                    session.add(User(email="dropped@x"))
                    await session.flush()
                    raise RuntimeError("boom")
            async with db.transaction() as session:
                emails = (await session.scalars(sa.select(User.email))).all()
            assert emails == ["kept@x"]
        finally:
            await db.drop_all()
            await db.dispose()

    anyio.run(main)


def test_two_hundred_concurrent_requests_lose_nothing(make_db: Callable[..., Database]) -> None:
    # Each request reads, then writes, then reads back: on SQLite that is the pattern that fails
    # with "database is locked" when a reader turns writer (hence BEGIN IMMEDIATE).
    db = make_db()
    app, User, _ = build(db)

    @app.post("/signup", status_code=201)
    async def signup(email: str, session: Annotated[AsyncSession, Depends(db.session)]) -> dict[str, Any]:
        await session.scalar(sa.select(sa.func.count()).select_from(User))
        user = User(email=email)
        session.add(user)
        await session.flush()
        again = await session.get(User, user.id, populate_existing=True)
        assert again is not None
        return {"id": again.id, "email": again.email}

    async def main() -> None:
        results: dict[int, Any] = {}
        async with AsyncTestClient(app) as client:

            async def one(i: int) -> None:
                r = await client.post("/signup", params={"email": f"user{i}@x"})
                results[i] = (r.status_code, r.json())

            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(one, i)
            assert sorted(status for status, _ in results.values()) == [201] * 200
            assert {body["email"] for _, body in results.values()} == {f"user{i}@x" for i in range(200)}
            assert (await client.get("/count")).json() == {"users": 200}

    anyio.run(main)


def test_sqlite_defaults(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout=7)

    async def main() -> None:
        try:
            async with db.engine.connect() as connection:
                pragma = {
                    name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                    for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
                }
        finally:
            await db.dispose()
        assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 7000, "synchronous": 1}

    anyio.run(main)


def test_naming_convention_names_constraints(make_db: Callable[..., Database]) -> None:
    db = make_db()
    build(db)

    async def main() -> None:
        await db.create_all()
        try:
            async with db.engine.connect() as connection:
                uniques, fks = await connection.run_sync(
                    lambda c: (sa.inspect(c).get_unique_constraints("users"), sa.inspect(c).get_foreign_keys("posts"))
                )
        finally:
            await db.drop_all()
            await db.dispose()
        assert [u["name"] for u in uniques] == ["uq_users_email"]
        assert [f["name"] for f in fks] == ["fk_posts_author_id_users"]

    anyio.run(main)


def test_url_from_argument_config_environment_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert async_url("sqlite:///a.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgres://u@h/d").drivername == "postgresql+asyncpg"
    assert async_url("postgresql://u@h/d").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    monkeypatch.delenv("COVET_DATABASE_URL", raising=False)
    db = Database()
    assert str(db.url) == DEFAULT_URL
    monkeypatch.setenv("COVET_DATABASE_URL", "postgresql://env@h/d")
    assert str(db.url) == "postgresql+asyncpg://env@h/d"
    app = Covet(database=db)
    assert app.extensions["db"] is db  # type: ignore[attr-defined]
    app.config["DATABASE_URL"] = "sqlite:///config.db"
    assert str(db.url) == "sqlite+aiosqlite:///config.db"
    assert str(Database("sqlite:///given.db").url) == "sqlite+aiosqlite:///given.db"
    with pytest.raises(ValueError, match="statement_timeout"):
        Database(statement_timeout=0)


def test_session_is_torn_down_before_the_send_by_default() -> None:
    db = Database("sqlite://")
    assert Depends(db.session).scope == "function"
    assert Depends(db.session, scope="request").scope == "request"


def test_engine_on_another_event_loop_is_refused_with_a_fix(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'l.db'}")

    async def use() -> None:
        async with db.transaction() as session:
            await session.execute(sa.text("SELECT 1"))

    anyio.run(use)
    with pytest.raises(RuntimeError, match="with TestClient"):
        anyio.run(use)
    db._loop = None  # what shutdown does; then the engine can be disposed on this loop
    anyio.run(db.dispose)


# --- PostgreSQL: a lost database is a quick 503 ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@three_ways
def test_database_down_is_a_quick_503_and_ping_says_false() -> None:
    db = Database(f"postgresql://postgres@127.0.0.1:{_free_port()}/test", connect_timeout=1)
    app = Covet(database=db)

    @app.get("/users")
    async def users(session: Annotated[AsyncSession, Depends(db.session)]) -> dict[str, Any]:
        return {"n": await session.scalar(sa.text("SELECT 1"))}

    with TestClient(app) as client:
        started = time.perf_counter()
        r = client.get("/users")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json() == {"detail": "The database is unavailable; try again shortly."}
        assert time.perf_counter() - started < 2

    async def ping() -> bool:
        try:
            return await db.ping(timeout=1)
        finally:
            await db.dispose()

    assert anyio.run(ping) is False
    with pytest.raises(DatabaseUnavailable):

        async def direct() -> None:
            try:
                async with db.transaction() as session:
                    await session.execute(sa.text("SELECT 1"))
            finally:
                await db.dispose()

        anyio.run(direct)


@three_ways
def test_connection_killed_mid_request_is_503_then_the_next_request_works(postgres_schema: str) -> None:
    db = postgres_database(postgres_schema)
    app, _, _ = build(db)

    @app.get("/killed")
    async def killed(session: Annotated[AsyncSession, Depends(db.session)]) -> dict[str, Any]:
        pid = await session.scalar(sa.text("SELECT pg_backend_pid()"))
        async with db.engine.connect() as other:
            await other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await session.execute(sa.text("SELECT 1"))  # on the dead connection
        return {"unreachable": True}

    with TestClient(app) as client:
        r = client.get("/killed")
        assert r.status_code == 503
        assert r.json() == {"detail": "The database is unavailable; try again shortly."}
        assert client.get("/count").json() == {"users": 0}
        assert client.post("/users", params={"email": "after@x"}).status_code == 201
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_statement_timeout_is_503(postgres_schema: str) -> None:
    db = postgres_database(postgres_schema, statement_timeout=0.2)
    app = Covet(database=db)

    @app.get("/slow")
    async def slow(session: Annotated[AsyncSession, Depends(db.session)]) -> dict[str, Any]:
        await session.execute(sa.text("SELECT pg_sleep(5)"))
        return {}

    @app.get("/fast")
    async def fast(session: Annotated[AsyncSession, Depends(db.session)]) -> dict[str, Any]:
        return {"one": await session.scalar(sa.text("SELECT 1"))}

    with TestClient(app) as client:
        started = time.perf_counter()
        r = client.get("/slow")
        assert r.status_code == 503 and "statement timeout" in r.json()["detail"]
        assert time.perf_counter() - started < 3
        assert client.get("/fast").json() == {"one": 1}


def test_ping_and_engine_defaults_on_postgresql(postgres_schema: str) -> None:
    db = postgres_database(postgres_schema, pool_size=3)

    async def main() -> None:
        try:
            assert await db.ping() is True
            assert db.engine.pool.size() == 3  # type: ignore[attr-defined]
            assert db.engine.pool._pre_ping is True  # type: ignore[attr-defined]
            async with db.engine.connect() as connection:
                assert (await connection.exec_driver_sql("SHOW statement_timeout")).scalar() == "30s"
        finally:
            await db.dispose()

    anyio.run(main)


def test_pool_exhausted_is_503(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.2)
    app = Covet(database=db)
    holding = anyio.Event()

    @app.get("/hold")
    async def hold(session: Annotated[AsyncSession, Depends(db.session)]) -> None:
        await session.execute(sa.text("SELECT 1"))
        holding.set()
        await anyio.sleep(5)

    @app.get("/other")
    async def other(session: Annotated[AsyncSession, Depends(db.session)]) -> None:
        await session.execute(sa.text("SELECT 1"))

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.get, "/hold")
                await holding.wait()
                r = await client.get("/other")
                assert r.status_code == 503 and r.json() == {"detail": "The database is busy; try again shortly."}
                tg.cancel_scope.cancel()

    anyio.run(main)


def test_other_database_errors_are_a_plain_500_or_the_apps_500_handler(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'e.db'}")
    app = Covet(database=db)

    @app.get("/broken")
    async def broken(session: Annotated[AsyncSession, Depends(db.session)]) -> None:
        await session.execute(sa.text("SELECT secret_column FROM missing_table"))

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/broken")
        assert r.status_code == 500
        assert "missing_table" not in r.text and "secret_column" not in r.text

    db2 = Database(f"sqlite:///{tmp_path / 'e2.db'}")
    app2 = Covet()

    @app2.errorhandler(500)
    async def oops(exc: Exception) -> dict[str, str]:
        return {"error": type(exc).__name__}

    db2.init_app(app2)

    @app2.get("/broken")
    async def broken2(session: Annotated[AsyncSession, Depends(db2.session)]) -> None:
        await session.execute(sa.text("SELECT 1 FROM missing_table"))

    with TestClient(app2) as client:
        r = client.get("/broken")
        assert r.status_code == 500 and r.json() == {"error": "OperationalError"}


def test_dependency_overrides_replace_the_session(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    app = Covet(database=db)
    used = []

    @app.get("/who")
    async def who(session: Annotated[Any, Depends(db.session)]) -> dict[str, str]:
        return {"session": session}

    async def fake_session() -> Any:
        used.append("opened")
        yield "fake"
        used.append("closed")

    app.dependency_overrides[db.session] = fake_session
    with TestClient(app) as client:
        assert client.get("/who").json() == {"session": "fake"}
    assert used == ["opened", "closed"]


def test_database_that_accepts_but_never_answers_is_a_503_within_the_connect_timeout() -> None:
    # A hung server (or a black-holed network path): the TCP connection opens, no reply ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        db = Database(f"postgresql://postgres@127.0.0.1:{port}/test", connect_timeout=0.5)
        app = Covet(database=db)

        @app.get("/users")
        async def users(session: Annotated[AsyncSession, Depends(db.session)]) -> dict[str, Any]:
            return {"n": await session.scalar(sa.text("SELECT 1"))}

        with TestClient(app) as client:
            started = time.perf_counter()
            r = client.get("/users")
            elapsed = time.perf_counter() - started
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert 0.4 < elapsed < 3
