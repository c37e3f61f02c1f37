"""Per-route and per-blueprint middleware: an ASGI stack built around one route's runner.

Built when the app freezes, only for routes that have middleware, so every other route keeps
exactly the runner it had. The stack's innermost layer puts the scope, ``receive`` and ``send``
it is given back into the request's box and runs the route's runner, so a middleware that
replaces the body channel (``covet.middleware.buffer_body``) or wraps ``send`` is seen by the
handler, its hooks and its error handlers alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .globals import RequestBox, _get_box
from .types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from .pipeline import Runner
    from .routing import Route

__all__ = ["middleware_entry", "middleware_entries", "route_middleware", "with_middleware"]

#: A middleware entry once checked: the class (or factory) and its keyword options.
Entry = tuple[Any, dict[str, Any]]


def middleware_entry(entry: Any, where: str = "middleware=[...]") -> Entry:
    """``entry`` (a class, or a ``(class, options)`` pair) as ``(class, options)``.

    Raises ``TypeError`` at registration for anything else, saying what to write.
    """
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict) and callable(entry[0]):
        return entry[0], dict(entry[1])
    if not isinstance(entry, tuple) and callable(entry):
        return entry, {}
    raise TypeError(
        f"{where} takes middleware classes or (class, options) pairs such as "
        f"(GZipMiddleware, {{'minimum_size': 1000}}), got {entry!r}."
    )


def middleware_entries(entries: Iterable[Any] | None, where: str = "middleware=[...]") -> list[Entry]:
    """A checked list of entries (see :func:`middleware_entry`)."""
    if entries is None:
        return []
    if isinstance(entries, (str, bytes, tuple)) or not isinstance(entries, Iterable):
        raise TypeError(f"{where} takes a list of middleware, got {entries!r}.")
    return [middleware_entry(entry, where) for entry in entries]


def route_middleware(route: Route) -> list[Entry]:
    """The route's middleware, outermost first: its blueprints' (outer blueprint first), then its own."""
    entries: list[Entry] = []
    for scaffold in route.scaffolds:
        entries += getattr(scaffold, "route_middleware", ())
    entries += middleware_entries(route.options.get("middleware"), f"middleware= of route {route.path!r}")
    return entries


def with_middleware(runner: Runner, entries: Sequence[Entry]) -> Runner:
    """``runner`` behind the ASGI middleware ``entries`` (outermost first), built now, once."""

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        box: RequestBox[Any] = _get_box()
        if box[0] is not None and (box[1] is not scope or box[2] is not receive):
            box[0] = None  # a Request made over the old scope or body channel would read the wrong one
        box[1], box[2], box[3] = scope, receive, send
        await runner(box, scope["route"])

    app: ASGIApp = endpoint
    for cls, options in reversed(entries):
        app = cls(app, **options)
    stack = app

    async def run(box: RequestBox[Any], target: Any) -> None:
        from .pipeline import StartWatch

        await stack(box[1], box[2], StartWatch(box[3], box))

    return run
