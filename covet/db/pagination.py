"""Pages of query results with links to the next and previous pages: limit/offset and keyset.

Limit/offset is simple and lets a client jump to any page, but the database still walks every
skipped row, so deep pages get slow and rows shift when others are inserted. Keyset ("cursor")
pagination continues after the last row seen (``WHERE (key) > (:last)``), which stays fast at any
depth and never repeats or skips a row; it only goes forward. Links are relative URLs (path and
query): they never trust the request's ``Host`` header.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

import msgspec
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ..exceptions import HTTPException
from ..requests import HTTPConnection

__all__ = ["Page", "paginate", "paginate_keyset", "MAX_LIMIT"]

T = TypeVar("T")

#: The largest page ``paginate`` serves unless told otherwise (``max_limit=``).
MAX_LIMIT = 100
# A cursor holds a few key values; anything longer is not one of ours.
_MAX_CURSOR = 1024


class Page(msgspec.Struct, Generic[T]):
    """One page: ``items``, the ``limit`` used, and links (relative URLs, None at either end).

    ``total`` (all matching rows) and ``offset`` are set by limit/offset pagination and None for
    keyset pages. Annotate a handler ``-> Page[UserOut]`` and return the page of ORM rows: each
    item is encoded through ``UserOut`` by attribute, and OpenAPI documents the page.
    """

    items: list[T]
    limit: int
    next: str | None = None
    prev: str | None = None
    total: int | None = None
    offset: int | None = None


def _link(request: HTTPConnection, **changes: Any) -> str:
    """The request's path and query string with ``changes`` applied (None removes a parameter)."""
    pairs = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items() if v is not None]
    query = urlencode(pairs)
    return request.url.path + ("?" + query if query else "")


def _check_limit(limit: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise HTTPException(400, f"limit must be between 1 and {max_limit}, got {limit}.")


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    request: HTTPConnection,
    *,
    limit: int,
    offset: int = 0,
    count: bool = True,
    max_limit: int = MAX_LIMIT,
    scalars: bool = True,
) -> Page[Any]:
    """Run ``statement`` for one limit/offset page; links keep the request's other query parameters.

    ``statement`` must have an ``ORDER BY`` that is unique (end it with the primary key), or rows
    may appear on two pages. ``count=False`` skips the ``COUNT(*)`` query (``total`` is then None
    and ``next`` is given whenever the page is full). ``scalars=False`` returns rows (tuples) rather
    than the first column. A ``limit`` outside 1..``max_limit`` or a negative ``offset`` is a 400;
    declare the same bounds on the query parameters (``Query(ge=1, le=100)``) to get a 422 first.
    """
    _check_limit(limit, max_limit)
    if offset < 0:
        raise HTTPException(400, f"offset must be 0 or more, got {offset}.")
    total = None
    if count:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = (await session.execute(counted)).scalar_one()
    result = await session.execute(statement.limit(limit).offset(offset))
    items = list(result.scalars().all() if scalars else result.all())
    more = offset + len(items) < total if total is not None else len(items) == limit
    return Page(
        items=items,
        limit=limit,
        next=_link(request, limit=limit, offset=offset + limit) if more else None,
        prev=_link(request, limit=limit, offset=max(offset - limit, 0)) if offset > 0 else None,
        total=total,
        offset=offset,
    )


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for the key values of the last row of a page (base64url JSON)."""
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).rstrip(b"=").decode()


def decode_cursor(cursor: str, types: Sequence[Any]) -> list[Any]:
    """The key values in ``cursor``, converted to ``types``; a 400 for anything that is not a cursor of ours."""
    invalid = HTTPException(400, "Invalid pagination cursor; use the 'next' link of a previous page.")
    if len(cursor) > _MAX_CURSOR:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(types):
        raise invalid
    try:
        return [msgspec.convert(value, kind, strict=False) for value, kind in zip(values, types)]
    except msgspec.ValidationError:
        raise invalid from None


def _python_type(column: Any) -> Any:
    # What a cursor value is converted to before it is bound; a custom type that does not say
    # takes the decoded JSON value as it is.
    try:
        return column.type.python_type
    except NotImplementedError:
        return Any


async def paginate_keyset(
    session: AsyncSession,
    statement: Select[Any],
    request: HTTPConnection,
    *,
    key: Sequence[Any],
    limit: int,
    after: str | None = None,
    descending: bool = False,
    cursor_param: str = "after",
    max_limit: int = MAX_LIMIT,
) -> Page[Any]:
    """One keyset page of ORM objects: the rows whose ``key`` columns come after the cursor ``after``.

    ``key`` is the ordering, unique together (``[Post.created_at, Post.id]``); the statement is
    ordered by it (ascending, or ``descending=True``), so give ``statement`` no ``ORDER BY`` of its
    own. ``after`` is the value of the ``cursor_param`` query parameter, None for the first page.
    ``next`` carries the cursor of the page's last row; ``prev`` is always None (keyset pages go
    forward). A cursor that was not made here is a 400.
    """
    _check_limit(limit, max_limit)
    columns = list(key)
    if not columns:
        raise ValueError("paginate_keyset() needs key=[...]: the columns that order the rows, unique together.")
    names = [column.key for column in columns]
    statement = statement.order_by(*(c.desc() if descending else c.asc() for c in columns))
    if after is not None:
        types = [_python_type(column) for column in columns]
        values = decode_cursor(after, types)
        row, bound = (tuple_(*columns), tuple_(*values)) if len(columns) > 1 else (columns[0], values[0])
        statement = statement.where(row < bound if descending else row > bound)
    result = await session.execute(statement.limit(limit))
    items = list(result.scalars().all())
    following = None
    if len(items) == limit:
        last = items[-1]
        following = _link(request, **{cursor_param: encode_cursor([getattr(last, name) for name in names])})
    return Page(items=items, limit=limit, next=following)
