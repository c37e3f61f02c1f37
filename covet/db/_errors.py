"""Database errors as HTTP answers: constraint violations are 409, a lost database is 503.

Installed on the app by ``Database.init_app``. A violated unique or foreign-key constraint is the
client's conflict with the data (RFC 9110 §15.5.10, 409), not a server failure. A database that
refuses connections, drops one mid-query, or cancels a statement that ran too long is a temporary
condition (RFC 9110 §15.6.4, 503 with ``Retry-After``), answered quickly: the connect timeout is
short and a refused connection fails at once. Anything else stays a 500. The messages name the
constraint (its name is the schema's, not the row's data) and never the SQL or its parameters.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc

from ..pipeline import call_flexible
from ..responses import JSONResponse

if TYPE_CHECKING:
    from ..app import Covet

__all__ = ["DatabaseUnavailable", "install_error_handlers", "unavailable_on_connect", "classify"]


class DatabaseUnavailable(Exception):
    """The database cannot be reached: the connection was refused or timed out. Answered with 503.

    Raised instead of the driver's ``OSError`` / ``TimeoutError`` when a connection is opened, so
    that it can be told apart from other I/O errors of a handler.
    """


#: Seconds a client is asked to wait before trying again after a 503 (RFC 9110 §10.2.3).
RETRY_AFTER = "1"

# SQLSTATE classes of a temporary failure (PostgreSQL appendix A): connection exception, insufficient
# resources, operator intervention (admin shutdown, statement timeout), and transaction rollbacks
# that succeed when retried (serialization failure, deadlock).
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_RETRYABLE_STATES = ("40001", "40P01")
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_SQLITE_BUSY_TEXT = re.compile(r"database (?:table )?is (?:locked|busy)")
_SQLITE_CONSTRAINT = re.compile(r"(UNIQUE|FOREIGN KEY|NOT NULL|CHECK) constraint failed(?:: (\S+))?")


def unavailable_on_connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
    """SQLAlchemy ``do_connect`` listener: a refused or timed-out connection is DatabaseUnavailable."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"Cannot connect to the database: {exc}") from exc


def _sqlstate(orig: Any) -> str | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def classify(exc: BaseException) -> tuple[int, str] | None:
    """``(status, detail)`` for a database error that has an HTTP meaning; None for a plain 500."""
    if isinstance(exc, DatabaseUnavailable):
        return 503, "The database is unavailable; try again shortly."
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection became free in pool_timeout
        return 503, "The database is busy; try again shortly."
    if isinstance(exc, sa_exc.IntegrityError):
        return 409, _conflict_detail(exc)
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    state = _sqlstate(orig)
    if state == "57014":
        return 503, "The database did not answer in time (statement timeout); try again shortly."
    if exc.connection_invalidated or (state is not None and (state[:2] in _UNAVAILABLE_CLASSES)):
        return 503, "The database is unavailable; try again shortly."
    if state in _RETRYABLE_STATES:
        return 503, "The database could not complete the request because of concurrent updates; try again."
    name = getattr(orig, "sqlite_errorname", None)
    if name in _SQLITE_BUSY or (isinstance(exc, sa_exc.OperationalError) and _SQLITE_BUSY_TEXT.search(str(orig))):
        return 503, "The database is busy; try again shortly."
    return None


def _conflict_detail(exc: sa_exc.IntegrityError) -> str:
    orig = exc.orig
    state = _sqlstate(orig)
    cause = getattr(orig, "__cause__", None)  # asyncpg's own exception, with the constraint's name
    constraint = getattr(cause, "constraint_name", None) or getattr(orig, "constraint_name", None)
    kind = {"23505": "UNIQUE", "23503": "FOREIGN KEY", "23502": "NOT NULL", "23514": "CHECK"}.get(state or "")
    if kind is None:
        found = _SQLITE_CONSTRAINT.search(str(orig))
        if found is not None:
            kind, constraint = found.group(1), constraint or found.group(2)
    where = f" ({constraint})" if constraint else ""
    if kind == "UNIQUE":
        return f"Conflict: a row with the same unique value already exists{where}."
    if kind == "FOREIGN KEY":
        return f"Conflict: the row refers to a row that does not exist, or is still referred to{where}."
    if kind == "NOT NULL":
        return f"Conflict: a required value is missing{where}."
    return f"Conflict: the data breaks a database constraint{where}."


def install_error_handlers(app: Covet) -> None:
    """Register the 409/503 answers on ``app``, leaving any handler the app already has for these classes.

    A database error with no HTTP meaning goes to the app's own 500 handler when it has one, else
    it is re-raised and becomes the app's plain 500 (logged, nothing leaked without debug).
    """

    async def database_error(exc: Exception) -> Any:
        answer = classify(exc)
        if answer is None:
            fallback = app.error_handlers.get(500)
            if fallback is None:
                raise exc
            return await call_flexible(fallback, exc), 500
        status, detail = answer
        headers = {"Retry-After": RETRY_AFTER} if status == 503 else None
        return JSONResponse({"detail": detail}, status, headers)

    for cls in (sa_exc.DBAPIError, sa_exc.TimeoutError, DatabaseUnavailable):
        if cls not in app.error_handlers:
            app.errorhandler(cls)(database_error)
