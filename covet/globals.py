"""Context-local access to the current request and app, as Flask's ``request`` and ``current_app``.

Backed by ``contextvars``: every request runs in its own task, and worker threads started with
anyio copy the context, so sync handlers see the right request too.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Covet
    from .requests import Request

__all__ = ["request", "current_app", "url_for"]

_request_var: contextvars.ContextVar[Request] = contextvars.ContextVar("covet.request")
_app_var: contextvars.ContextVar[Covet] = contextvars.ContextVar("covet.app")


class _Proxy:
    """Forwards attribute access to the object in a context variable."""

    __slots__ = ("_var", "_what")

    def __init__(self, var: contextvars.ContextVar[Any], what: str) -> None:
        object.__setattr__(self, "_var", var)
        object.__setattr__(self, "_what", what)

    def _get(self) -> Any:
        try:
            return self._var.get()
        except LookupError:
            raise RuntimeError(
                f"There is no current {self._what}: covet.{self._what} only works while a request "
                "is being handled (inside a handler, hook or dependency)."
            ) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)

    def __repr__(self) -> str:
        try:
            return repr(self._var.get())
        except LookupError:
            return f"<unbound covet.{self._what}>"

    def __bool__(self) -> bool:
        try:
            self._var.get()
        except LookupError:
            return False
        return True


class _AppProxy(_Proxy):
    """``current_app``: the app of the current request, else the app running its lifespan.

    Requests do not set ``_app_var``: the request already knows its app, and one context variable
    fewer per request is measurable.
    """

    __slots__ = ()

    def _get(self) -> Any:
        current = _request_var.get(None)
        if current is not None:
            return current.scope["app"]
        return super()._get()

    def __repr__(self) -> str:
        return repr(self._get()) if self else "<unbound covet.current_app>"

    def __bool__(self) -> bool:
        return _request_var.get(None) is not None or super().__bool__()


request: Request = _Proxy(_request_var, "request")  # type: ignore[assignment]
current_app: Covet = _AppProxy(_app_var, "current_app")  # type: ignore[assignment]


def url_for(name: str, /, **params: Any) -> str:
    """Build the path of a named route of the current app (see ``Covet.url_for``)."""
    return current_app.url_for(name, **params)
