"""Context-local access to the current request and app, as Flask's ``request`` and ``current_app``.

Backed by ``contextvars``: every request runs in its own task, and worker threads started with
anyio copy the context, so sync handlers see the right request too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .requests import Request
from .types import Receive, Scope, Send

if TYPE_CHECKING:
    from .app import Covet

__all__ = ["request", "current_app", "current_request", "url_for"]

class RequestBox:
    """What the request context variable holds: the makings of a request, emptied when it ends.

    Why not the request itself: a ContextVar keeps a reference to the last value set (a lookup
    cache), and a request references the server's connection objects through ``receive`` and
    ``send``. Kept alive past its end, every request's objects became work for the garbage
    collector: under uvicorn that was hundreds of collections a second and a p99 latency four times
    higher. An emptied box holds nothing.

    Why the makings: many handlers never touch a :class:`Request` (no parameters, or only path
    parameters), so the object is made on first use (``get``) by whatever needs it: a parameter, a
    hook, an error handler or ``covet.request``.
    """

    __slots__ = ("request", "makings")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.request: Request | None = None
        self.makings: tuple[Scope, Receive, Send] | None = (scope, receive, send)

    def get(self) -> Request:
        """The request, made now if nobody has asked for it yet."""
        request = self.request
        if request is None:
            if self.makings is None:
                raise RuntimeError("This request has ended.")
            scope, receive, send = self.makings
            app = scope["app"]
            request = self.request = Request(
                scope, receive, send, app.max_body_size, app.form_limits, app.body_timeout
            )
        return request


_request_var: contextvars.ContextVar[RequestBox] = contextvars.ContextVar("covet.request")
_app_var: contextvars.ContextVar[Covet] = contextvars.ContextVar("covet.app")


def current_request() -> Request | None:
    """The request being handled in this context, or None."""
    box = _request_var.get(None)
    return None if box is None or box.makings is None else box.get()


def _current_app() -> Covet | None:
    # The app of the current request, else the app running its lifespan (requests do not set
    # _app_var: the request already knows its app).
    box = _request_var.get(None)
    if box is not None and box.makings is not None:
        return box.makings[0]["app"]  # type: ignore[no-any-return]
    return _app_var.get(None)


class _Proxy:
    """Forwards attribute access to the current request or app."""

    __slots__ = ("_find", "_what")

    def __init__(self, find: Callable[[], Any], what: str) -> None:
        object.__setattr__(self, "_find", find)
        object.__setattr__(self, "_what", what)

    def _get(self) -> Any:
        found = self._find()
        if found is None:
            raise RuntimeError(
                f"There is no current {self._what}: covet.{self._what} only works while a request "
                "is being handled (inside a handler, hook or dependency)."
            )
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)

    def __repr__(self) -> str:
        found = self._find()
        return f"<unbound covet.{self._what}>" if found is None else repr(found)

    def __bool__(self) -> bool:
        return self._find() is not None


request: Request = _Proxy(current_request, "request")  # type: ignore[assignment]
current_app: Covet = _Proxy(_current_app, "current_app")  # type: ignore[assignment]


def url_for(name: str, /, **params: Any) -> str:
    """Build the path of a named route of the current app (see ``Covet.url_for``)."""
    return current_app.url_for(name, **params)
