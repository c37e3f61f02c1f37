"""covet.db.pagination: limit/offset and keyset pages with links, on SQLite and PostgreSQL."""

# ruff: noqa: F811 - the fixtures imported from db_backends are test parameters of the same name

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from db_backends import make_db, postgres_schema  # noqa: F401
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from covet import Covet, Depends, Query, Request
from covet.db import Database, Page, paginate, paginate_keyset
from covet.db.pagination import encode_cursor
from covet.testing import TestClient


class ItemOut(msgspec.Struct):
    id: int
    name: str


def build(db: Database) -> Covet:
    class Item(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        created: Mapped[datetime]

    app = Covet()
    db.init_app(app)
    DB = Annotated[AsyncSession, Depends(db.session)]

    @app.on_startup
    async def fill() -> None:
        await db.create_all()
        start = datetime(2024, 1, 1)
        async with db.transaction() as session:
            session.add_all(Item(name=f"item{i}", created=start + timedelta(hours=i % 7)) for i in range(1, 26))

    @app.on_shutdown
    async def drop() -> None:
        await db.drop_all()

    @app.get("/items")
    async def items(
        request: Request,
        session: DB,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
        q: str | None = None,
    ) -> Page[ItemOut]:
        return await paginate(session, sa.select(Item).order_by(Item.id), request, limit=limit, offset=offset)

    @app.get("/feed")
    async def feed(request: Request, session: DB, limit: int = 10, after: str | None = None) -> Page[ItemOut]:
        return await paginate_keyset(
            session, sa.select(Item), request, key=[Item.created, Item.id], limit=limit, after=after, descending=True
        )

    @app.get("/by-id")
    async def by_id(request: Request, session: DB, after: str | None = None) -> Page[ItemOut]:
        return await paginate_keyset(session, sa.select(Item), request, key=[Item.id], limit=10, after=after)

    return app


def test_limit_offset_pages_with_links(make_db: Callable[..., Database]) -> None:
    with TestClient(build(make_db())) as client:
        first = client.get("/items", params={"limit": 10, "q": "keep"}).json()
        assert [item["id"] for item in first["items"]] == list(range(1, 11))
        assert first["total"] == 25 and first["offset"] == 0 and first["limit"] == 10
        assert first["prev"] is None
        assert first["next"] == "/items?q=keep&limit=10&offset=10"  # other parameters kept
        last = client.get(first["next"].replace("offset=10", "offset=20")).json()
        assert [item["id"] for item in last["items"]] == list(range(21, 26))
        assert last["next"] is None and last["prev"] == "/items?q=keep&limit=10&offset=10"
        assert set(last["items"][0]) == {"id", "name"}  # encoded through ItemOut
        assert client.get("/items", params={"limit": 1000}).status_code == 422


def test_keyset_pages_cover_every_row_once(make_db: Callable[..., Database]) -> None:
    with TestClient(build(make_db())) as client:
        seen: list[int] = []
        url: str | None = "/feed?limit=10"
        pages = 0
        while url is not None:
            page = client.get(url).json()
            seen += [item["id"] for item in page["items"]]
            assert page["prev"] is None and page["total"] is None
            url = page["next"]
            pages += 1
        assert pages == 3
        assert sorted(seen) == list(range(1, 26)) and len(seen) == 25
        ids = client.get("/by-id").json()
        assert [item["id"] for item in ids["items"]] == list(range(1, 11))
        assert [item["id"] for item in client.get(ids["next"]).json()["items"]] == list(range(11, 21))


def test_forged_or_garbage_cursor_is_400_not_500(make_db: Callable[..., Database]) -> None:
    with TestClient(build(make_db())) as client:
        for cursor in ["!!!", "e30", encode_cursor(["x"]), encode_cursor([1, 2, 3]), "A" * 5000, encode_cursor([{"a": 1}])]:
            r = client.get("/by-id", params={"after": cursor})
            assert r.status_code == 400, cursor
            assert r.json() == {"detail": "Invalid pagination cursor; use the 'next' link of a previous page."}


def test_page_is_documented_in_openapi(make_db: Callable[..., Database]) -> None:
    app = build(make_db())
    document: dict[str, Any] = app.openapi()
    schema = document["paths"]["/items"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].startswith("#/components/schemas/Page")
    page = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert page["properties"]["items"] == {"type": "array", "items": {"$ref": "#/components/schemas/ItemOut"}}
