"""What each benchmark request is and what a correct answer looks like.

An answer is checked before it is timed: a fast wrong answer is not a result. Media types
are compared without parameters (Starlette adds ``; charset=utf-8`` to text, covet may too),
JSON bodies are compared after decoding (whitespace is the framework's business, but
``"42"`` for ``42`` is a wrong answer), and a ``content-length``, when sent, must be right.

The ``hooked``, ``deps`` and ``stack`` scenarios run on variants of each framework's app, built by
the factory the scenario names (``hooked_app``, ``deps_app``, ``stack_app`` in every app module).
Their answers are checked further: ``stack`` must carry the three middleware headers, ``deps``
must have opened, used and closed one ``Session`` with the right user and constant, and the
``hooked`` app must refuse a request without ``x-request-id`` (a check, not timed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from apps._shared import (
    DECOY_BODY,
    DEPS_USER,
    DEPS_VALUE,
    INVALID_ITEM_BODY,
    ITEM,
    ITEM_BODY,
    LEDGER,
    MAX_TAGS,
    MESSAGE,
    MISSING_REQUEST_ID,
    REQUEST_ID,
    STD_ORIGIN,
)

__all__ = [
    "CHECKS",
    "DEFAULT_SCENARIOS",
    "SCENARIOS",
    "Answer",
    "Scenario",
    "SessionCount",
    "last_decoy_check",
    "problems",
    "session_problems",
]


@dataclass(frozen=True)
class Scenario:
    """One request and its expected answer: ``status``, and exact ``text`` or decoded ``json``.

    ``body``, when given, is sent as ``application/json`` through ``receive``; ``query`` is the
    raw query string; ``headers`` are sent after the common ones. ``app`` names the app: ``"app"``
    is the module's ``app``, anything else a factory in the module that builds the variant.
    ``expect_headers`` maps a response header to a regular expression its value must match in
    full. ``session`` says that the request must open, use and close one ``Session``.
    """

    name: str
    path: str
    summary: str
    media_type: str
    text: str | None = None
    json: Any = None
    method: str = "GET"
    query: str = ""
    body: bytes | None = None
    status: int = 200
    headers: tuple[tuple[bytes, bytes], ...] = ()
    app: str = "app"
    expect_headers: tuple[tuple[bytes, str], ...] = ()
    session: bool = False

    @property
    def target(self) -> str:
        """The request line's method and target, for the report: ``GET /query?a=1``."""
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Answer:
    """What an app sent for one request, gathered from its ASGI messages."""

    status: int | None
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """Return the first header called ``name`` (lower-case), as ASGI servers would send it."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("plaintext", "/plaintext", "static route, text body", "text/plain", text=MESSAGE),
    Scenario(
        "json",
        "/json",
        "static route, dict encoded as JSON",
        "application/json",
        json={"message": MESSAGE},
    ),
    Scenario(
        "params",
        "/users/42/posts/hello-world",
        "int + str path parameters, route registered after the decoys",
        "application/json",
        json={"user_id": 42, "slug": "hello-world"},
    ),
    Scenario(
        "post_items",
        "/items",
        "JSON body read from receive, validated into a typed object, 201",
        "application/json",
        json=ITEM,
        method="POST",
        body=ITEM_BODY,
        status=201,
    ),
    Scenario(
        "query",
        "/query",
        "int, str and bool query parameters",
        "application/json",
        json={"a": 1, "b": "x", "c": True},
        query="a=1&b=x&c=true",
    ),
    Scenario(
        "deps0",
        "/deps0",
        "the deps3 answer computed inline, no dependencies",
        "application/json",
        json={"v": DEPS_VALUE},
    ),
    Scenario(
        "deps3",
        "/deps3",
        "the same answer through three nested async dependencies",
        "application/json",
        json={"v": DEPS_VALUE},
    ),
    Scenario(
        "hooked",
        "/users/42/posts/hello-world",
        "params behind one before-request hook that reads x-request-id onto the request state",
        "application/json",
        json={"user_id": 42, "slug": "hello-world"},
        headers=((b"x-request-id", REQUEST_ID.encode()),),
        app="hooked_app",
    ),
    Scenario(
        "deps",
        "/items",
        "post_items with three dependencies: a constant, a yield (session), one on it reading x-user",
        "application/json",
        json=ITEM,
        method="POST",
        body=ITEM_BODY,
        status=201,
        headers=((b"x-user", DEPS_USER.encode()),),
        app="deps_app",
        session=True,
    ),
    Scenario(
        "stack",
        "/json",
        "json behind three pure-ASGI middleware, each adding a response header",
        "application/json",
        json={"message": MESSAGE},
        app="stack_app",
        expect_headers=(
            (b"x-request-id", r"[0-9a-f]+-[0-9]+"),
            (b"server-timing", r"app;dur=[0-9]+\.[0-9]{3}"),
            (b"access-control-allow-origin", r"\*"),
        ),
    ),
    Scenario(
        "std_stack",
        "/json",
        "json reading the session (a first visit: no cookie) behind the framework's own CORS, GZip "
        "(body too small to compress) and signed-cookie session middleware; covet, Starlette, FastAPI, Litestar",
        "application/json",
        json={"message": MESSAGE},
        headers=((b"origin", STD_ORIGIN.encode()), (b"accept-encoding", b"gzip, br")),
        app="std_stack_app",
        expect_headers=((b"access-control-allow-origin", re.escape(STD_ORIGIN)),),
    ),
)

# What bench/run.py and bench/instructions.py run when no scenario is named.
DEFAULT_SCENARIOS: tuple[str, ...] = (
    "plaintext",
    "json",
    "params",
    "post_items",
    "query",
    "hooked",
    "deps",
    "stack",
)

# Not timed. The decoy checks prove every app really registered the routes the params scenario
# scans past; the invalid-input checks prove that post_items and query really validate. Their
# error bodies differ between frameworks, so only the status and media type are checked.
CHECKS: tuple[Scenario, ...] = (
    Scenario("static decoy", "/pages/page7", "", "text/plain", text=DECOY_BODY),
    Scenario("dynamic decoy", "/decoy57/a/items/b", "", "text/plain", text=DECOY_BODY),
    Scenario(
        "invalid body",
        "/items",
        "",
        "application/json",
        method="POST",
        body=INVALID_ITEM_BODY,
        status=422,
    ),
    Scenario(
        "invalid query",
        "/query",
        "",
        "application/json",
        query="a=one&b=x&c=true",
        status=422,
    ),
    # Only checked on the apps the scenarios that need them have built.
    Scenario(
        "hook refuses",
        "/users/42/posts/hello-world",
        "",
        "application/json",
        json=MISSING_REQUEST_ID,
        status=400,
        app="hooked_app",
    ),
)


def last_decoy_check(decoys: int) -> Scenario:
    """The last of ``decoys`` dynamic decoys: it proves the app registered all of them."""
    return Scenario("last decoy", f"/decoy{decoys - 1}/a/items/b", "", "text/plain", text=DECOY_BODY)


@dataclass(frozen=True)
class SessionCount:
    """``LEDGER``'s counters at one moment, to compare before and after one request."""

    opened: int
    closed: int

    @classmethod
    def now(cls) -> SessionCount:
        return cls(LEDGER.opened, LEDGER.closed)


def session_problems(before: SessionCount) -> list[str]:
    """What is wrong with the ``Session`` work done since ``before`` (one ``deps`` request).

    Call it right after the request has returned; ``LEDGER.last`` must have been reset to None
    before it.
    """
    found: list[str] = []
    after = SessionCount.now()
    if after.opened - before.opened != 1:
        found.append(f"{after.opened - before.opened} sessions opened, expected 1")
    if after.closed - before.closed != after.opened - before.opened:
        found.append(f"{after.closed - before.closed} sessions closed after the request, expected 1")
    if LEDGER.last != (DEPS_USER, MAX_TAGS):
        found.append(f"the session recorded {LEDGER.last!r}, expected {(DEPS_USER, MAX_TAGS)!r}")
    return found


def problems(scenario: Scenario, answer: Answer) -> Sequence[str]:
    """Return what is wrong with ``answer`` for ``scenario``, each saying what came back."""
    found: list[str] = []
    if answer.status != scenario.status:
        found.append(f"status {answer.status!r}, expected {scenario.status}")
    content_type = answer.header(b"content-type")
    media_type = (content_type or b"").split(b";")[0].strip().decode("latin-1").lower()
    if media_type != scenario.media_type:
        found.append(f"content-type {content_type!r}, expected {scenario.media_type!r}")
    length = answer.header(b"content-length")
    if length is not None and length != str(len(answer.body)).encode():
        found.append(f"content-length {length!r} but the body has {len(answer.body)} bytes")
    if scenario.text is not None and answer.body != scenario.text.encode():
        found.append(f"body {answer.body!r}, expected {scenario.text.encode()!r}")
    if scenario.json is not None:
        try:
            decoded = msgspec.json.decode(answer.body)
        except msgspec.DecodeError:
            found.append(f"body {answer.body!r} is not JSON, expected {scenario.json!r}")
        else:
            if decoded != scenario.json or not _same_types(decoded, scenario.json):
                found.append(f"body {answer.body!r}, expected JSON {scenario.json!r}")
    for name, pattern in scenario.expect_headers:
        value = answer.header(name)
        if value is None:
            found.append(f"no {name.decode()} header")
        elif re.fullmatch(pattern, value.decode("latin-1")) is None:
            found.append(f"{name.decode()} {value!r} does not match {pattern!r}")
    return found


def _same_types(got: Any, expected: Any) -> bool:
    # == alone accepts true for 1 and 1.0 for 1; a JSON API should not.
    if type(got) is not type(expected):
        return False
    if isinstance(expected, dict):
        return all(_same_types(got[key], value) for key, value in expected.items())
    if isinstance(expected, list):
        pairs = zip(got, expected, strict=True)
        return len(got) == len(expected) and all(_same_types(g, e) for g, e in pairs)
    return True
