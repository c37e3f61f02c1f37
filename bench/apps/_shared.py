"""The route table and payloads every app uses, so that no framework gets an easier job.

Registration order matters for routers that scan a list (Starlette, FastAPI). Every app
registers, in this order:

1. the two TechEmpower-style routes, ``GET /plaintext`` and ``GET /json``;
2. the feature routes ``POST /items``, ``GET /query``, ``GET /deps0`` and ``GET /deps3``, early
   so that their scenarios measure the feature rather than a scan past the decoys;
3. the decoys;
4. the parameter route, which is therefore the worst case for a linear scan and the
   interesting case for a compiled matcher.

``Item`` and ``query_bool`` are for the apps that validate by hand (raw and Starlette); covet
takes ``Item`` as a handler parameter and FastAPI declares the same fields with pydantic.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import msgspec

__all__ = [
    "DECOY_BODY",
    "DEPS_VALUE",
    "DYNAMIC_DECOYS",
    "INVALID_ITEM_BODY",
    "ITEM",
    "ITEM_BODY",
    "MESSAGE",
    "STATIC_DECOYS",
    "Item",
    "dynamic_decoy_prefixes",
    "nested_dependencies",
    "query_bool",
    "static_decoy_paths",
]

MESSAGE = "Hello, World!"
DECOY_BODY = "decoy"

# 100 dynamic decoys shaped /decoy{i}/{x}/items/{y}, plus static decoys /pages/page{i}. The runner
# sets BENCH_DECOYS to compare 1,000 and 10,000 dynamic decoys with 100: a router whose cost grows
# with the number of routes shows it in the params scenario. The apps read the count when they
# build their routes, through dynamic_decoy_prefixes(), so a module executed again after this
# global changes gets the new count (the decoy sweep does that).
DYNAMIC_DECOYS = int(os.environ.get("BENCH_DECOYS", "100"))
STATIC_DECOYS = 20

# POST /items: the body sent, what must come back, and a body that must be refused with 422.
ITEM: dict[str, Any] = {"name": "widget", "price": 9.5, "tags": ["a", "b"]}
ITEM_BODY = b'{"name": "widget", "price": 9.5, "tags": ["a", "b"]}'
INVALID_ITEM_BODY = b'{"name": "widget", "price": -1, "tags": ["a", "b"]}'

# GET /deps0 and GET /deps3 both answer {"v": 3}: 1, plus 1, plus 1.
DEPS_VALUE = 3


class Item(msgspec.Struct):
    """The POST /items body: every field required, price strictly positive."""

    name: str
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str]


# The spellings pydantic accepts, lower-cased.
_BOOLS = dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True)
_BOOLS.update(dict.fromkeys(("0", "off", "f", "false", "n", "no"), False))


def query_bool(value: str) -> bool:
    """Convert a query value to bool as pydantic does; raise ValueError otherwise."""
    try:
        return _BOOLS[value.lower()]
    except KeyError:
        raise ValueError(f"{value!r} is not a boolean") from None


def dynamic_decoy_prefixes() -> list[str]:
    """Return ``/decoy{i}`` per dynamic decoy; apps add ``/{x}/items/{y}`` in their syntax."""
    return [f"/decoy{i}" for i in range(DYNAMIC_DECOYS)]


def static_decoy_paths() -> list[str]:
    """Return the static decoy paths, identical in every framework's syntax."""
    return [f"/pages/page{i}" for i in range(STATIC_DECOYS)]


async def _dep1() -> int:
    return 1


async def _dep2() -> int:
    return await _dep1() + 1


async def nested_dependencies() -> int:
    """``/deps3``'s work for apps without dependency injection: three nested awaits, DEPS_VALUE."""
    return await _dep2() + 1
