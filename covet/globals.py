"""Context-local access to the current request and app, as Flask's ``request`` and ``current_app``.

Backed by ``contextvars``: every request runs in its own task, and worker threads started with
anyio copy the context, so sync handlers see the right request too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .datastructures import State
from .requests import Request, _new

if TYPE_CHECKING:
    from .app import Covet

__all__ = ["request", "current_app", "current_request", "g", "url_for"]

# What the request context variable holds: a "box", the makings of the request being handled, as
# a plain list ``[request, scope, receive, send, limits, body, started]``:
#   request  the Request, made on first use by request_of(); None until then;
#   limits   the BodyLimits the body is read under (the app's, or the matched route's own);
#   body     the body when the app read it without a Request (read_body); False when that read
#            failed (the body is gone: a Request made later must not read again); else None;
#   started  whether the response has started (set just before ``http.response.start`` is sent):
#            after that a failure can only be logged, not turned into a 500.
# The app sets the variable for the request and resets it with the token at the end, which gives
# an enclosing app's request back to a mounted covet app's caller. It also empties the box
# (``box.clear()``), so anything that kept it (a worker thread's copied context, a background
# task) holds nothing and is told "this request has ended".
#
# Why the makings: many handlers never touch a Request (no parameters, only path parameters,
# or a JSON body and query values the app reads off the scope), so it is made only when something
# asks for it: a parameter, a hook, an error handler or covet.request.
#
# Why a list, measured on CPython 3.11 (2026-12, the 2-core bench machine, per request): making the
# box, set() and reset(token) costs 0.61 us as a list and 0.93-0.99 us as an instance of a slotted
# class (with or without __init__), about a tenth of a whole plaintext request. The list stays;
# the indices are only ever written in this module's comment, app.py and covet.pipeline.
# Earlier versions left the variable set and relied on the emptied box alone: a ContextVar keeps
# its last value, and full requests kept alive that way made work for the garbage collector.
# set() followed by reset(token) does release the value (checked with a weakref on 3.11).
RequestBox = list  # [Request | None, Scope, Receive, Send, BodyLimits, bytes | False | None, bool]; empty once ended


def request_of(box: RequestBox[Any]) -> Request:
    """The request in ``box``, made now if nobody has asked for it yet."""
    if not box:
        raise RuntimeError("This request has ended.")
    request: Request | None = box[0]
    if request is None:
        limits = box[4]
        # Request(...) written as its two steps: CPython 3.11 calls __init__ directly this way,
        # and through type.__call__'s generic path the other way (measured: 0.6k instructions fewer).
        request = _new(Request)
        request.__init__(box[1], box[2], box[3], limits.max_body_size, limits.form_limits, limits.body_timeout)  # type: ignore[misc]
        box[0] = request
        if box[5] is not None:
            request._take_body(box[5])
    return request


_request_var: contextvars.ContextVar[RequestBox[Any]] = contextvars.ContextVar("covet.request")
_app_var: contextvars.ContextVar[Covet] = contextvars.ContextVar("covet.app")
# The variable's methods, bound once. CPython 3.11 does not specialise a method call on a
# ContextVar: each ``_request_var.set(box)`` makes and frees a bound-method object. Measured with
# callgrind: set and reset through these cost 1.0k fewer instructions per request (of 28k, plaintext).
_set_box = _request_var.set
_reset_box = _request_var.reset
_get_box = _request_var.get


def current_request() -> Request | None:
    """The request being handled in this context, or None."""
    box = _get_box(None)
    return request_of(box) if box else None


def _current_app() -> Covet | None:
    # The app of the current request, else the app running its lifespan (requests do not set
    # _app_var: the request already knows its app).
    box = _get_box(None)
    if box:
        return box[1]["app"]  # type: ignore[no-any-return]
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

    def __delattr__(self, name: str) -> None:
        delattr(self._get(), name)

    def __contains__(self, name: str) -> bool:
        return name in self._get()

    def __repr__(self) -> str:
        found = self._find()
        return f"<unbound covet.{self._what}>" if found is None else repr(found)

    def __bool__(self) -> bool:
        return self._find() is not None


def _current_state() -> State | None:
    found = current_request()
    return None if found is None else found.state


request: Request = _Proxy(current_request, "request")  # type: ignore[assignment]
#: Flask's ``g``: a namespace for the current request (``request.state``), e.g. ``g.user = ...``;
#: ``g.get(name)``, ``g.pop(name, None)`` and ``name in g`` work as in Flask.
g: State = _Proxy(_current_state, "g")  # type: ignore[assignment]
current_app: Covet = _Proxy(_current_app, "current_app")  # type: ignore[assignment]


def url_for(name: str, /, **params: Any) -> str:
    """Build the path of a named route of the current app (see ``Covet.url_for``)."""
    return current_app.url_for(name, **params)
