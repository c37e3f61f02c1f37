"""Databases on SQLAlchemy 2 (async): SQLite by default, PostgreSQL at scale; ``pip install 'covet[db]'``.

Example::

    from typing import Annotated
    from sqlalchemy.ext.asyncio import AsyncSession
    from covet import Covet, Depends
    from covet.db import Database

    db = Database("sqlite+aiosqlite:///./app.db")
    app = Covet(database=db)

    @app.get("/users/<int:user_id>")
    async def user(user_id: int, session: Annotated[AsyncSession, Depends(db.session)]):
        ...

See ``docs/database.md``.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
    import sqlalchemy.ext.asyncio  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "covet.db needs SQLAlchemy 2 with its async drivers: pip install 'covet[db]' "
        "(SQLAlchemy, aiosqlite for SQLite, asyncpg for PostgreSQL)."
    ) from exc

from ._database import DEFAULT_URL, NAMING_CONVENTION, Database, async_url
from ._errors import DatabaseUnavailable
from .pagination import Page, paginate, paginate_keyset

__all__ = [
    "DEFAULT_URL",
    "Database",
    "DatabaseUnavailable",
    "NAMING_CONVENTION",
    "Page",
    "async_url",
    "paginate",
    "paginate_keyset",
]
