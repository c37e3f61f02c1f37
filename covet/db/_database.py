"""``Database``: one SQLAlchemy async engine per app, request-scoped sessions, engine defaults that fit.

Why a class of covet's rather than SQLAlchemy alone: the engine's life follows the app's lifespan
(made at startup, disposed at shutdown), the session follows the request (committed before the
response is sent, closed on every way out), and each backend gets the settings people otherwise
learn the hard way (SQLite's WAL and ``BEGIN IMMEDIATE``, PostgreSQL's pre-ping and statement
timeout). Everything else is plain SQLAlchemy 2: ``db.engine`` is an ``AsyncEngine``, a session is
an ``AsyncSession``, ``db.Model`` a ``DeclarativeBase``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import AsyncAdaptedQueuePool

from ._errors import install_error_handlers, unavailable_on_connect

if TYPE_CHECKING:
    from ..app import Covet

__all__ = ["Database", "NAMING_CONVENTION", "DEFAULT_URL", "async_url"]

#: Where ``Database()`` puts its data when no URL is given anywhere: a file beside the working directory.
DEFAULT_URL = "sqlite+aiosqlite:///./app.db"

#: Constraint names that are stable across databases, so Alembic can drop and alter them later
#: (an unnamed constraint gets a name made up by the database, different on SQLite and PostgreSQL).
#: ``uq_user_email``, ``fk_post_author_id_user``, ``pk_user``, ``ix_user_email``, ``ck_user_age_positive``.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Plain URLs as people write them (and as hosting platforms hand them out) -> the async driver.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}

# Marks db.session as a dependency torn down before the response is sent (see covet.params.Depends).
_DEPENDENCY_SCOPE = "__covet_dependency_scope__"


def async_url(url: str | URL) -> URL:
    """``url`` with an async driver: ``sqlite://`` -> ``sqlite+aiosqlite://``, ``postgres(ql)://`` ->
    ``postgresql+asyncpg://``; a URL naming its driver is kept as it is.

    Raises ``sqlalchemy.exc.ArgumentError`` for a string that is not a database URL.
    """
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver is not None else parsed


class Database:
    """An async SQLAlchemy engine tied to an app, with request-scoped sessions.

    ``url`` is any SQLAlchemy URL; plain ``sqlite://`` and ``postgresql://`` URLs get their async
    driver (aiosqlite, asyncpg). Without one, the URL is ``app.config["DATABASE_URL"]``, else the
    ``COVET_DATABASE_URL`` environment variable, else ``sqlite+aiosqlite:///./app.db``, looked up
    when the app starts.

    Backend defaults (each can be changed):

    - SQLite files: WAL journal, ``foreign_keys=ON``, ``synchronous=NORMAL``, a ``busy_timeout``
      (seconds) and transactions opened with ``BEGIN IMMEDIATE``, so concurrent writers of one
      process wait for each other instead of failing with "database is locked"
      (``sqlite_begin="deferred"`` restores SQLite's own behaviour).
    - PostgreSQL (asyncpg): ``pool_pre_ping=True``, a ``connect_timeout`` (seconds, default 5) so a
      database that is down gives a quick 503, and a server-side ``statement_timeout`` (seconds,
      default 30; ``None`` turns it off).

    ``engine_options`` go to ``create_async_engine`` as they are (``pool_size``, ``max_overflow``,
    ``pool_timeout``, ``echo``, ``connect_args``...) and win over the defaults; ``session_options``
    go to ``async_sessionmaker`` (``expire_on_commit`` is False by default so objects stay readable
    after the commit, when the response is encoded). ``model_class`` replaces the generated
    ``db.Model`` with your own ``DeclarativeBase`` (for type checkers, which cannot see
    ``class User(db.Model)``).

    Example::

        db = Database("postgresql://app@db.internal/app", pool_size=10, statement_timeout=5)
        app = Covet(database=db)          # or db.init_app(app)
    """

    def __init__(
        self,
        url: str | URL | None = None,
        *,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = 30.0,
        busy_timeout: float = 30.0,
        sqlite_begin: str = "immediate",
        session_options: Mapping[str, Any] | None = None,
        model_class: type[DeclarativeBase] | None = None,
        **engine_options: Any,
    ) -> None:
        if sqlite_begin not in ("immediate", "deferred", "exclusive"):
            raise ValueError(f"sqlite_begin is 'immediate', 'deferred' or 'exclusive', got {sqlite_begin!r}.")
        for name, value in (("connect_timeout", connect_timeout), ("busy_timeout", busy_timeout)):
            if not value > 0:
                raise ValueError(f"{name} is in seconds and must be positive, got {value!r}.")
        if statement_timeout is not None and not statement_timeout > 0:
            raise ValueError(f"statement_timeout is in seconds, positive or None, got {statement_timeout!r}.")
        self._url_given = None if url is None else async_url(url)
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.busy_timeout = busy_timeout
        self.sqlite_begin = sqlite_begin
        self.engine_options = dict(engine_options)
        self.session_options: dict[str, Any] = {"expire_on_commit": False, **(session_options or {})}
        self.app: Covet | None = None
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if model_class is None:
            # A direct subclass of DeclarativeBase: its own registry and metadata, per Database.
            model_class = type("Model", (DeclarativeBase,), {"metadata": MetaData(naming_convention=NAMING_CONVENTION)})
        #: The declarative base of this database's tables: ``class User(db.Model): ...``.
        self.Model: type[DeclarativeBase] = model_class
        #: The tables of ``db.Model`` (what ``create_all`` and ``covet db revision --autogenerate`` see).
        self.metadata: MetaData = model_class.metadata

    def __repr__(self) -> str:
        url = self.url if (self._url_given or self.app) else None
        return f"<Database {url.render_as_string(hide_password=True) if url else 'url from config'}>"

    # -- configuration -------------------------------------------------------------------------------

    @property
    def url(self) -> URL:
        """The URL in use: the one given, else the app's ``DATABASE_URL``, ``COVET_DATABASE_URL``, the default."""
        if self._engine is not None:
            return self._engine.url
        if self._url_given is not None:
            return self._url_given
        configured = self.app.config.get("DATABASE_URL") if self.app is not None else None
        return async_url(configured or os.environ.get("COVET_DATABASE_URL") or DEFAULT_URL)

    def init_app(self, app: Covet) -> None:
        """Tie the engine to ``app``: made at startup, disposed at shutdown; database errors become 409/503.

        ``Covet(database=db)`` calls this. The app can then be found by ``covet db`` commands, and
        ``app.extensions["db"]`` is this object. Call it before the app serves its first request.
        An app factory may tie one module-level Database to each app it makes (tests do); the
        URL is then read from the last one's config.
        """
        self.app = app
        app.extensions["db"] = self
        app.on_startup(self.connect)
        app.on_shutdown(self.dispose)
        install_error_handlers(app)

    async def connect(self) -> None:
        """Make the engine now (startup does this); no connection is opened until one is needed."""
        self._get_engine()

    async def dispose(self) -> None:
        """Close every pooled connection and forget the engine (shutdown does this); a later use makes a new one."""
        engine, self._engine, self._sessionmaker, self._loop = self._engine, None, None, None
        if engine is not None:
            await engine.dispose()

    # -- the engine ----------------------------------------------------------------------------------

    @property
    def engine(self) -> AsyncEngine:
        """The ``AsyncEngine``, made on first use when the app's startup has not made it."""
        return self._get_engine()

    def _get_engine(self) -> AsyncEngine:
        engine = self._engine
        if engine is None:
            engine = self._engine = self._create_engine(self.url)
            self._sessionmaker = async_sessionmaker(engine, **self.session_options)
        return engine

    def _create_engine(self, url: URL) -> AsyncEngine:
        options: dict[str, Any] = {}
        backend = url.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend == "sqlite":
            connect_args["timeout"] = self.busy_timeout
            if url.database and url.database != ":memory:" and url.query.get("mode") != "memory":
                # A pool for file databases whatever the SQLAlchemy 2.0.x (older ones used NullPool:
                # a new connection, thread and PRAGMAs per session).
                options["poolclass"] = AsyncAdaptedQueuePool
        elif url.get_driver_name() == "asyncpg":
            options["pool_pre_ping"] = True
            connect_args["timeout"] = self.connect_timeout
            settings = {"application_name": "covet"}
            if self.statement_timeout is not None:
                settings["statement_timeout"] = str(round(self.statement_timeout * 1000))
            connect_args["server_settings"] = settings
        else:
            options["pool_pre_ping"] = True
        given = dict(self.engine_options)
        user_args = dict(given.pop("connect_args", None) or {})
        if "server_settings" in user_args and "server_settings" in connect_args:
            user_args["server_settings"] = {**connect_args["server_settings"], **user_args["server_settings"]}
        options["connect_args"] = {**connect_args, **user_args}
        options.update(given)
        engine = create_async_engine(url, **options)
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "do_connect", unavailable_on_connect)
        if backend == "sqlite":
            self._configure_sqlite(sync_engine, url)
        return engine

    def _configure_sqlite(self, sync_engine: Any, url: URL) -> None:
        in_memory = not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"
        busy_ms = round(self.busy_timeout * 1000)
        begin = f"BEGIN {self.sqlite_begin.upper()}"

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            # The driver's own transaction handling off: SQLAlchemy's "begin" event below opens
            # them, with BEGIN IMMEDIATE, so a reader turning writer cannot deadlock another writer
            # (SQLite answers that with an immediate "database is locked", busy timeout or not).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.close()

        def on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

        event.listen(sync_engine, "connect", on_connect)
        event.listen(sync_engine, "begin", on_begin)

    def _sessions(self) -> async_sessionmaker[AsyncSession]:
        self._get_engine()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                # Pooled connections (asyncpg's in particular) belong to the loop that opened them.
                raise RuntimeError(
                    "The database engine was used on another event loop (a TestClient used without "
                    "`with`?). Run the app's lifespan, `with TestClient(app) as client:`, so startup and "
                    "shutdown make and dispose the engine on the loop that serves the requests."
                )
            self._loop = loop
        assert self._sessionmaker is not None
        return self._sessionmaker

    # -- sessions --------------------------------------------------------------------------------------

    async def session(self) -> AsyncIterator[AsyncSession]:
        """A dependency: one ``AsyncSession`` per request, committed when the handler succeeds.

        Use it as ``session: Annotated[AsyncSession, Depends(db.session)]``. The commit happens as
        soon as the handler returns, *before* the response is sent (``Depends(..., scope=
        "function")`` is its default), so a commit that fails is an error response (409 for a
        constraint, 503 for a lost database, else 500) and never a 200 for a lost write. When the
        handler raises, the transaction is rolled back. The session is closed on every way out,
        including a client disconnect and a cancelled request (shielded, so the connection goes
        back to the pool even then).
        """
        session = self._sessions()()
        try:
            yield session
            await session.commit()
        finally:
            # Shielded: a cancelled request must still hand its connection back (no "garbage
            # collector is trying to clean up non-checked-in connection" warning, no leak).
            with anyio.CancelScope(shield=True):
                await session.close()

    setattr(session, _DEPENDENCY_SCOPE, "function")  # noqa: B010 - read by covet.params.Depends

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """``async with db.transaction() as session:`` a session in one transaction, outside requests.

        Commits when the block ends normally, rolls back when it raises, and always closes. For
        command-line tasks, background jobs and startup code.
        """
        session = self._sessions()()
        try:
            async with session.begin():
                yield session
        finally:
            with anyio.CancelScope(shield=True):
                await session.close()

    # -- utilities -------------------------------------------------------------------------------------

    async def ping(self, timeout: float = 2.0) -> bool:
        """Whether the database answers ``SELECT 1`` within ``timeout`` seconds: for health checks.

        Never raises for a database that is down, slow or refusing: that is the answer False.
        """
        try:
            with anyio.fail_after(timeout):
                self._sessions()
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception:  # refused, timed out (fail_after), lost, wrong password: all a False
            return False
        return True

    async def create_all(self) -> None:
        """Create the tables of ``db.Model`` that do not exist yet (tests, prototypes; use migrations in production)."""
        self._sessions()
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def drop_all(self) -> None:
        """Drop the tables of ``db.Model`` (tests)."""
        self._sessions()
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.drop_all)
