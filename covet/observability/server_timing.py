"""``Server-Timing`` response headers in debug mode (W3C Server Timing), shown by browser devtools.

With ``debug=True`` every response carries ``Server-Timing: handler;dur=1.204, app;dur=1.873``:
``handler`` is the handler's own run, ``app`` everything covet did until the response started
(routing, parameters and dependencies, hooks, the handler), in milliseconds; the difference is
covet's and the dependencies' share. Code of the app adds its own entries with :func:`timing`.
Nothing of this exists with ``debug=False``: the app is built without it.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..params import EndpointPlan
from ..types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ServerTiming", "timed_plan", "timing"]

_entries: contextvars.ContextVar[list[tuple[str, float]] | None] = contextvars.ContextVar(
    "covet.server_timing", default=None
)


@contextmanager
def timing(name: str) -> Iterator[None]:
    """Time the block as a ``Server-Timing`` entry named ``name`` (a token: letters, digits, ``-_.``).

    A no-op outside debug mode, so it can stay in production code. Example::

        with timing("db"):
            rows = await conn.fetch(query)
    """
    entries = _entries.get()
    if entries is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        entries.append((name, time.perf_counter() - start))


def timed_plan(plan: EndpointPlan) -> EndpointPlan:
    """A copy of ``plan`` whose handler records its run time as ``handler`` (debug builds only).

    A copy, so the route's own plan (its OpenAPI description, its dependencies' identities for
    caching and overrides) is untouched; only the handler is wrapped, keeping async-ness.
    """
    func = plan.func
    timed = copy.copy(plan)
    if plan.is_async:

        @functools.wraps(func)
        async def handler(*args: Any, **kwargs: Any) -> Any:
            with timing("handler"):
                return await func(*args, **kwargs)

        timed.func = handler
    elif not plan.is_generator:

        @functools.wraps(func)
        def sync_handler(*args: Any, **kwargs: Any) -> Any:
            with timing("handler"):
                return func(*args, **kwargs)

        timed.func = sync_handler
    return timed


class ServerTiming:
    """The innermost layer of a debug app: collects the entries and adds the header at response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        entries: list[tuple[str, float]] = []
        start = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                parts = [*entries, ("app", time.perf_counter() - start)]
                value = ", ".join(f"{name};dur={seconds * 1000:.3f}" for name, seconds in parts)
                message["headers"] = [*message.get("headers", ()), (b"server-timing", value.encode("latin-1"))]
            await send(message)

        token = _entries.set(entries)
        try:
            await self.app(scope, receive, send_timed)
        finally:
            _entries.reset(token)
