"""A small covet app: run it with ``covet run examples/hello.py``."""

from __future__ import annotations

from typing import Annotated

import msgspec

from covet import Blueprint, Covet, HTTPException, PlainTextResponse

app = Covet(title="covet example", version="1.0.0")


class Item(msgspec.Struct):
    name: str
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []


ITEMS: dict[int, Item] = {1: Item("keyboard", 49.0, ["desk"])}


@app.get("/")
async def index() -> PlainTextResponse:
    return PlainTextResponse("Hello from covet!")


@app.get("/items")
async def list_items(limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10) -> dict[str, list[Item]]:
    return {"items": list(ITEMS.values())[:limit]}


@app.get("/items/<int:item_id>")
async def get_item(item_id: int) -> Item:
    if item_id not in ITEMS:
        raise HTTPException(404, f"No item {item_id}")
    return ITEMS[item_id]


@app.post("/items", status_code=201)
async def create_item(item: Item) -> dict[str, int]:
    item_id = max(ITEMS, default=0) + 1
    ITEMS[item_id] = item
    return {"id": item_id}


admin = Blueprint("admin", url_prefix="/admin")


@admin.get("/stats")
def stats() -> dict[str, int]:
    """A sync handler: runs in a worker thread, never on the event loop."""
    return {"items": len(ITEMS)}


app.register_blueprint(admin)
