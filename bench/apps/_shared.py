"""The route table and payloads every app uses, so that no framework gets an easier job.

Registration order matters for routers that scan a list (Starlette, FastAPI). Every app
registers, in this order:

1. the two TechEmpower-style routes, ``GET /plaintext`` and ``GET /json``;
2. the feature routes ``POST /items``, ``GET /query``, ``GET /deps0`` and ``GET /deps3``, early
   so that their scenarios measure the feature rather than a scan past the decoys;
3. the decoys;
4. the parameter route, which is therefore the worst case for a linear scan and the
   interesting case for a compiled matcher.

Three scenarios run on variants of that app, each built by a factory the app module exposes:
``hooked_app()`` (the same routes behind one before-request hook that requires ``x-request-id``),
``deps_app()`` (the same routes, ``POST /items`` taking three dependencies) and ``stack_app()``
(the same routes behind the three pure-ASGI middleware of ``apps._middleware``). What the hook
and the dependencies do is defined here, so that every framework does the same work.

``Item`` and ``query_bool`` are for the apps that validate by hand (raw and Starlette); covet
takes ``Item`` as a handler parameter and FastAPI declares the same fields with pydantic.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import msgspec

__all__ = [
    "STD_ORIGIN",
    "STD_SECRET",
    "DECOY_BODY",
    "DEPS_VALUE",
    "DEPS_USER",
    "LEDGER",
    "MAX_TAGS",
    "MISSING_REQUEST_ID",
    "DYNAMIC_DECOYS",
    "INVALID_ITEM_BODY",
    "ITEM",
    "ITEM_BODY",
    "MESSAGE",
    "REQUEST_ID",
    "STATIC_DECOYS",
    "Item",
    "Session",
    "SessionLedger",
    "current_user",
    "max_tags",
    "dynamic_decoy_prefixes",
    "nested_dependencies",
    "query_bool",
    "static_decoy_paths",
]

MESSAGE = "Hello, World!"
# std_stack: the origin CORS allows (and the request sends), and the session signing key.
STD_ORIGIN = "https://shop.example"
STD_SECRET = "bench-session-key-0123456789abcdef"
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


# -- the hooked scenario ------------------------------------------------------------------------
# One before-request hook reads the x-request-id request header and keeps it on the request's
# state (each framework's own per-request namespace); a request without it is refused with 400
# and a JSON body, which the checks use to prove the hook runs on the route.
REQUEST_ID = "bench-request-1"
MISSING_REQUEST_ID = {"detail": "missing x-request-id header"}


# -- the deps scenario --------------------------------------------------------------------------
# POST /items with three dependencies: a constant (max_tags), a per-request resource opened before
# the handler and closed after it (a Session: a yield dependency where the framework has them,
# try/finally where it does not), and current_user, which depends on the session and reads the
# x-user request header. The handler records the item in the session. LEDGER counts what
# happened, so that the checks can prove that all three ran and that the session was closed.
DEPS_USER = "bench-user"
MAX_TAGS = 10


class SessionLedger:
    """What ``Session`` objects did in this process: sessions opened and closed, and what the last
    ``add`` saw (the session's user and the ``max_tags`` the handler passed), for the checks.

    A separate object rather than class attributes of ``Session``: assigning a class attribute on
    every request would invalidate CPython's attribute caches for ``Session`` each time, a cost no
    real session has.
    """

    __slots__ = ("closed", "last", "opened")

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.last: tuple[str, int] | None = None


LEDGER = SessionLedger()


class Session:
    """A per-request resource standing in for a database session; it reports to ``LEDGER``."""

    __slots__ = ("user",)

    def __init__(self) -> None:
        LEDGER.opened += 1
        self.user = ""

    def add(self, item: object, max_tags: int) -> None:
        """Record the item (nothing is stored; only who added it and with which limit)."""
        LEDGER.last = (self.user, max_tags)

    def close(self) -> None:
        LEDGER.closed += 1


async def max_tags() -> int:
    """The constant dependency."""
    return MAX_TAGS


async def current_user(session: Session, x_user: str) -> str:
    """The dependency on the session: the user named by the x-user header, set on the session."""
    session.user = x_user
    return x_user
