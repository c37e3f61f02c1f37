"""Schema migrations on Alembic for a covet app's ``Database``: what ``covet db ...`` runs.

The app is found as ``covet run`` finds it (``module:attr``, ``file.py``, a factory, or the
``COVET_APP`` variable), its ``Database`` through ``app.extensions["db"]`` (``Covet(database=db)``
or ``db.init_app(app)``), and from that the URL and ``db.Model``'s metadata. So the migrations
directory holds only the revisions, a revision template and a two-line ``env.py`` that hands
control back here; nobody edits Alembic's environment for the common case, and there is no
``alembic.ini``. SQLite tables are altered in Alembic's batch mode (copy and move), which is how
SQLite changes a column.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from alembic import command
from alembic.config import Config
from alembic.util import CommandError as AlembicError

from ._database import Database
from ._errors import DatabaseUnavailable

__all__ = ["AlembicError", "DatabaseUnavailable", "init", "alembic_config", "run", "run_migrations", "find_database", "DEFAULT_DIRECTORY"]

#: Where ``covet db init`` puts the migrations unless ``--directory`` says otherwise.
DEFAULT_DIRECTORY = "migrations"

_ENV_PY = '''"""Alembic environment of this app, written by `covet db init`.

`covet db upgrade` (and the other `covet db` commands) find the app, its Database and its
db.Model metadata, then run this file; covet.db.migrations.run_migrations does the rest. Replace
it only for what covet cannot know (several databases, extra metadata, custom comparisons).
"""

from covet.db.migrations import run_migrations

run_migrations()
'''

_TEMPLATE = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def find_database(app: Any) -> Database:
    """The ``Database`` tied to ``app``; a message saying how to tie one when there is none."""
    extensions = getattr(app, "extensions", None) or {}
    database = extensions.get("db")
    if not isinstance(database, Database):
        raise LookupError(
            "The app has no Database: create it with Covet(..., database=db) or call db.init_app(app), "
            "so that `covet db` can find its URL and tables."
        )
    return database


def init(directory: str | os.PathLike[str] = DEFAULT_DIRECTORY) -> Path:
    """Create the migrations directory (``env.py``, the revision template, ``versions/``); refuses to overwrite."""
    root = Path(directory)
    if (root / "env.py").exists():
        raise FileExistsError(f"{str(root)!r} already holds migrations (env.py exists); nothing was changed.")
    (root / "versions").mkdir(parents=True, exist_ok=True)
    (root / "env.py").write_text(_ENV_PY, encoding="utf-8")
    (root / "script.py.mako").write_text(_TEMPLATE, encoding="utf-8")
    return root


def alembic_config(database: Database, directory: str | os.PathLike[str] = DEFAULT_DIRECTORY) -> Config:
    """An Alembic ``Config`` for ``database`` and the migrations in ``directory`` (no ini file)."""
    root = Path(directory)
    if not (root / "env.py").is_file():
        raise FileNotFoundError(
            f"No migrations in {str(root)!r}: run `covet db init` first (or pass --directory to where they are)."
        )
    config = Config(stdout=sys.stdout)  # Alembic's default is the stdout of when it was imported
    config.set_main_option("script_location", str(root))
    # Alembic interpolates "%" in options; a password may hold one.
    config.set_main_option("sqlalchemy.url", database.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["covet_database"] = database
    return config


def run(database: Database, directory: str | os.PathLike[str], action: Callable[[Config], Any], *, connect: bool) -> Any:
    """Run an Alembic ``command`` function as ``action(config)``, on one connection when ``connect``.

    The connection is opened by the Database's own engine (its SQLite pragmas, its PostgreSQL
    settings), in a transaction committed when ``action`` succeeds; the engine is disposed after.
    """
    config = alembic_config(database, directory)
    if not connect:
        return action(config)

    async def main() -> Any:
        try:
            async with database.engine.connect() as connection:

                def sync(sync_connection: Any) -> Any:
                    config.attributes["connection"] = sync_connection
                    return action(config)

                result = await connection.run_sync(sync)
                await connection.commit()
                return result
        finally:
            await database.dispose()

    return anyio.run(main)


def run_migrations() -> None:
    """The body of ``env.py``: configure Alembic's context for the app's Database and run the migrations."""
    from alembic import context

    config = context.config
    database = config.attributes.get("covet_database")
    if not isinstance(database, Database):
        raise RuntimeError(
            "These migrations are run by covet: use `covet db upgrade` (not `alembic upgrade`), which "
            "finds the app's Database and its tables."
        )
    options: dict[str, Any] = {
        "target_metadata": database.metadata,
        "render_as_batch": database.url.get_backend_name() == "sqlite",
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(url=database.url, literal_binds=True, **options)
    else:
        connection = config.attributes.get("connection")
        if connection is None:
            raise RuntimeError("covet.db.migrations.run() opens the connection; call it rather than Alembic's commands.")
        context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


# The `covet db` subcommands: (needs a connection, how to call Alembic).
COMMANDS: dict[str, tuple[bool, Callable[..., Any]]] = {
    "upgrade": (True, lambda config, args: command.upgrade(config, args.revision)),
    "downgrade": (True, lambda config, args: command.downgrade(config, args.revision)),
    "current": (True, lambda config, args: command.current(config, verbose=args.verbose)),
    "history": (False, lambda config, args: command.history(config, verbose=args.verbose)),
    # A plain revision needs no database; --autogenerate compares with it (see needs_connection).
    "revision": (
        False,
        lambda config, args: command.revision(config, message=args.message, autogenerate=args.autogenerate),
    ),
}


def needs_connection(name: str, args: Any) -> bool:
    """Whether ``covet db NAME`` talks to the database."""
    return COMMANDS[name][0] or (name == "revision" and bool(args.autogenerate))
