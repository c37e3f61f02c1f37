"""``covet db ...``: the command-line side of covet.db's migrations (argparse only).

Kept apart from ``covet.db`` so that ``covet --help`` works without SQLAlchemy installed; the
commands import ``covet.db.migrations`` (and so Alembic) only when run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

__all__ = ["add_parser"]


def add_parser(commands: Any, target_help: str) -> None:
    """Add ``db`` and its subcommands to the ``covet`` parser's ``commands``."""
    db = commands.add_parser("db", help="database migrations on Alembic (needs covet[db])")
    db.add_argument("--app", dest="target", help=target_help)
    db.add_argument("--directory", "-d", default="migrations", help="the migrations directory (default ./migrations)")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser("init", help="create the migrations directory")
    revision = actions.add_parser("revision", help="write a new revision file")
    revision.add_argument("-m", "--message", required=True, help="what the revision does")
    revision.add_argument("--autogenerate", action="store_true", help="fill it in by comparing db.Model with the database")
    upgrade = actions.add_parser("upgrade", help="migrate the database up (default: to head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = actions.add_parser("downgrade", help="migrate the database down to REVISION (-1: one step)")
    downgrade.add_argument("revision")
    for name, text in (("current", "show the database's revision"), ("history", "list the revisions")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--verbose", "-v", action="store_true")
    db.set_defaults(handler=_cmd_db)


def _cmd_db(args: argparse.Namespace) -> int:
    from .cli import CommandError, _require_covet, _target_of, load_target

    try:
        from .db import migrations
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    if args.db_command == "init":
        try:
            root = migrations.init(args.directory)
        except FileExistsError as exc:
            raise CommandError(str(exc)) from None
        print(f"covet: created {os.path.join(str(root), '')} (env.py, script.py.mako, versions/)")
        return 0
    target = _target_of(args)
    app = _require_covet(load_target(target)[0], target)
    # Alembic reports each step it runs ("Running upgrade a -> b") through logging; shown for the
    # command's duration only, on the stderr of the moment.
    logger = logging.getLogger("alembic")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda record: record.getMessage().startswith("Running "))  # not its setup chatter
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        database = migrations.find_database(app)
        action = migrations.COMMANDS[args.db_command][1]
        migrations.run(
            database,
            args.directory,
            lambda config: action(config, args),
            connect=migrations.needs_connection(args.db_command, args),
        )
    except (LookupError, FileNotFoundError, migrations.DatabaseUnavailable) as exc:
        raise CommandError(str(exc)) from None
    except migrations.AlembicError as exc:
        raise CommandError(f"alembic: {exc}") from None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return 0
