"""A CRUD API over a database: notebooks and their notes.

SQLite by default (``./app.db``, made on first start):

    covet run examples/notes.py

PostgreSQL by setting one variable (the database must exist):

    COVET_DATABASE_URL=postgresql://user@127.0.0.1:5432/notes covet run examples/notes.py

Then open http://127.0.0.1:8000/docs. Tables are created at startup to keep the example short; a
real app manages them with migrations (``covet db init``, ``covet db revision --autogenerate``,
``covet db upgrade``; see docs/database.md).
"""

from datetime import datetime, timezone
from typing import Annotated

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from covet import Covet, Depends, HTTPException, Query, Request
from covet.db import Database, Page, paginate

db = Database()  # COVET_DATABASE_URL, else app.config["DATABASE_URL"], else sqlite ./app.db
app = Covet(title="Notes", database=db)
Session = Annotated[AsyncSession, Depends(db.session)]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Notebook(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notebook"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    notebook_id: Mapped[int] = mapped_column(sa.ForeignKey("notebook.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


# What clients send and receive: msgspec Structs. ORM rows returned by a handler are encoded
# through the return annotation, attribute by attribute.
class NotebookIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class NotebookOut(msgspec.Struct):
    id: int
    name: str


class NoteIn(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Annotated[str, msgspec.Meta(max_length=100_000)] = ""


class NotePatch(msgspec.Struct, omit_defaults=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    body: Annotated[str, msgspec.Meta(max_length=100_000)] | None = None


class NoteOut(msgspec.Struct):
    id: int
    notebook_id: int
    title: str
    body: str
    created_at: datetime


@app.on_startup
async def create_tables() -> None:
    await db.create_all()


async def _note(session: AsyncSession, note_id: int) -> Note:
    note = await session.get(Note, note_id)
    if note is None:
        raise HTTPException(404, f"No note {note_id}.")
    return note


@app.post("/notebooks", status_code=201)
async def create_notebook(data: NotebookIn, session: Session) -> NotebookOut:
    notebook = Notebook(name=data.name)
    session.add(notebook)
    await session.flush()  # a duplicate name is a 409 (unique constraint), here or at the commit
    return notebook  # type: ignore[return-value]


@app.get("/notebooks")
async def list_notebooks(session: Session) -> list[NotebookOut]:
    return (await session.scalars(sa.select(Notebook).order_by(Notebook.name))).all()  # type: ignore[return-value]


@app.delete("/notebooks/<int:notebook_id>")
async def delete_notebook(notebook_id: int, session: Session) -> None:
    notebook = await session.get(Notebook, notebook_id)
    if notebook is None:
        raise HTTPException(404, f"No notebook {notebook_id}.")
    await session.delete(notebook)  # its notes go with it (ON DELETE CASCADE)


@app.post("/notebooks/<int:notebook_id>/notes", status_code=201)
async def create_note(notebook_id: int, data: NoteIn, session: Session) -> NoteOut:
    note = Note(notebook_id=notebook_id, title=data.title, body=data.body)
    session.add(note)
    await session.flush()  # an unknown notebook is a 409 (foreign key)
    return note  # type: ignore[return-value]


@app.get("/notebooks/<int:notebook_id>/notes")
async def list_notes(
    notebook_id: int,
    request: Request,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[NoteOut]:
    statement = sa.select(Note).where(Note.notebook_id == notebook_id).order_by(Note.id)
    return await paginate(session, statement, request, limit=limit, offset=offset)


@app.get("/notes/<int:note_id>")
async def read_note(note_id: int, session: Session) -> NoteOut:
    return await _note(session, note_id)  # type: ignore[return-value]


@app.patch("/notes/<int:note_id>")
async def update_note(note_id: int, data: NotePatch, session: Session) -> NoteOut:
    note = await _note(session, note_id)
    for field in data.__struct_fields__:
        value = getattr(data, field)
        if value is not None:
            setattr(note, field, value)
    return note  # type: ignore[return-value]


@app.delete("/notes/<int:note_id>")
async def delete_note(note_id: int, session: Session) -> None:
    await session.delete(await _note(session, note_id))


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"database": await db.ping()}
