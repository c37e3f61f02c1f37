"""The decorator API shared by ``Covet`` and ``Blueprint``: routes, hooks and error handlers.

Every decorator is thin sugar over one explicit method (``add_route``, ``before_request``...), as in
Flask. Hooks registered on a scaffold apply to that scaffold's routes; the app's apply to all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._flask_names import SCAFFOLD_ATTRIBUTES, install_flask_names, scaffold_attribute_error
from ._route_middleware import middleware_entries
from .exceptions import HTTPException
from .requests import check_body_timeout, check_form_limits, check_max_body_size

__all__ = ["Scaffold", "setupmethod"]

F = TypeVar("F", bound=Callable[..., Any])

_ROUTE_OPTIONS = frozenset(
    {
        "status_code",
        "tags",
        "summary",
        "description",
        "response_model",
        "include_in_schema",
        "dependencies",
        "responses",
        "deprecated",
        "operation_id",
        "max_body_size",
        "form_limits",
        "body_timeout",
        "rate_limit",
        "middleware",
        "csrf_exempt",
    }
)


def rate_limit_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with ``rate_limit=`` turned into the first of the route's ``dependencies``.

    A route's limit is a dependency (``covet.ratelimit.RateLimit``) run before the route's other
    dependencies, so requests failing authentication still spend the budget. ``None`` is no limit.
    """
    if "rate_limit" not in options:
        return options
    options = dict(options)
    limit = options.pop("rate_limit")
    if limit is not None:
        from .ratelimit import as_dependency

        options["dependencies"] = [as_dependency(limit), *(options.get("dependencies") or ())]
    return options


def setupmethod(method: F) -> F:
    """Refuse setup calls once the app has started serving (Flask's rule: configure, then run)."""

    @functools.wraps(method)
    def wrapper(self: Scaffold, *args: Any, **kwargs: Any) -> Any:
        self._check_setup_allowed(method.__name__)
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Scaffold:
    """Routes, hooks and error handlers of an app or blueprint."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.before_request_funcs: list[Callable[..., Any]] = []
        self.after_request_funcs: list[Callable[..., Any]] = []
        self.error_handlers: dict[int | type[BaseException], Callable[..., Any]] = {}
        #: Hooks run before WebSocket handlers (covet.websockets); before_request hooks are http-only.
        self.before_websocket_funcs: list[Callable[..., Any]] = []

    # -- overridden by Covet and Blueprint --------------------------------------------------------

    def _check_setup_allowed(self, what: str) -> None:  # pragma: no cover - overridden
        pass

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- routes ------------------------------------------------------------------------------------

    def route(
        self, path: str, methods: Iterable[str] | None = None, name: str | None = None, **options: Any
    ) -> Callable[[F], F]:
        """Register the decorated function for ``path`` and ``methods`` (default ``["GET"]``).

        Example::

            @app.route("/items/<int:item_id>", methods=["GET", "PUT"])
            async def item(item_id: int): ...
        """
        if isinstance(methods, str):
            raise TypeError(f"methods= takes a list such as [{methods!r}], not a string.")
        unknown = set(options) - _ROUTE_OPTIONS
        if unknown:
            raise TypeError(
                f"Unknown route option(s) {sorted(unknown)} for {path!r}; known options are "
                f"{sorted(_ROUTE_OPTIONS)}."
            )

        # Checked here too, so a blueprint's mistake points at its decorator, not at registration.
        if "max_body_size" in options:
            check_max_body_size(options["max_body_size"])
        if "form_limits" in options:
            check_form_limits(options["form_limits"])
        if "body_timeout" in options:
            check_body_timeout(options["body_timeout"])
        if "rate_limit" in options:
            options = rate_limit_options(options)  # a bad limit fails here, at the decorator
        if "middleware" in options:
            options["middleware"] = middleware_entries(options["middleware"], f"middleware= of route {path!r}")

        def decorator(func: F) -> F:
            self.add_route(path, func, methods=methods, name=name, **options)
            return func

        return decorator

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["DELETE"], **options)

    def options(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["OPTIONS"], **options)

    def head(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, methods=["HEAD"], **options)

    def websocket(self, path: str, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Register the decorated ``async def`` as the WebSocket handler for ``path``.

        Example::

            @app.websocket("/echo")
            async def echo(websocket: WebSocket):
                await websocket.accept()
                async for text in websocket.iter_text():
                    await websocket.send_text(text)

        Options: ``max_message_size`` (bytes, default the app's ``websocket_max_message_size``),
        ``receive_timeout`` (seconds), ``send_queue_size``, ``dependencies``, ``include_in_schema``,
        ``summary``, ``description``, ``tags``, and ``receive=Type`` / ``send=Type`` (the message
        types the AsyncAPI document shows). See covet.websockets and covet.asyncapi.
        """
        from .websockets import check_websocket_options

        check_websocket_options(path, options)

        def decorator(func: F) -> F:
            self.add_route(path, func, methods=["GET"], name=name, scope_type="websocket", **options)
            return func

        return decorator

    # -- hooks -------------------------------------------------------------------------------------

    @setupmethod
    def before_request(self, func: F) -> F:
        """Run ``func()`` or ``func(request)`` before each handler; a non-None return short-circuits."""
        _check_hook(func, "before_request", "request")
        self.before_request_funcs.append(func)
        return func

    @setupmethod
    def after_request(self, func: F) -> F:
        """Run ``func(response)`` after each handler; it must return a response."""
        _check_hook(func, "after_request", "response")
        self.after_request_funcs.append(func)
        return func

    @setupmethod
    def before_websocket(self, func: F) -> F:
        """Run ``func()`` or ``func(websocket)`` before each WebSocket handler of this scaffold.

        ``before_request`` hooks are http-only; a hook that should also guard WebSocket routes
        opts in by being registered here too (Quart's name). A non-None return refuses the
        handshake with that response (see covet.websockets).
        """
        _check_hook(func, "before_websocket", "websocket")
        self.before_websocket_funcs.append(func)
        return func

    @setupmethod
    def errorhandler(self, code_or_exception: int | type[BaseException]) -> Callable[[F], F]:
        """Handle an HTTP status (``404``) or exception class; the function gets the exception.

        Example::

            @app.errorhandler(404)
            async def not_found(exc):
                return {"error": "nothing here"}, 404
        """
        key = self._error_key(code_or_exception)

        def decorator(func: F) -> F:
            self.error_handlers[key] = func
            return func

        return decorator

    def register_error_handler(self, code_or_exception: int | type[BaseException], func: Callable[..., Any]) -> None:
        self.errorhandler(code_or_exception)(func)

    @staticmethod
    def _error_key(code_or_exception: Any) -> int | type[BaseException]:
        if isinstance(code_or_exception, int) and not isinstance(code_or_exception, bool):
            if not 400 <= code_or_exception <= 599:
                raise ValueError(f"errorhandler() takes an error status (400-599), got {code_or_exception!r}.")
            return code_or_exception
        if isinstance(code_or_exception, type) and issubclass(code_or_exception, BaseException):
            return code_or_exception
        raise TypeError(
            f"errorhandler() takes a status code like 404 or an exception class, got {code_or_exception!r}."
        )

    def find_error_handler(self, exc: BaseException) -> Callable[..., Any] | None:
        """The handler for ``exc`` on this scaffold: by status for HTTPException, then by MRO."""
        handlers = self.error_handlers
        if not handlers:
            return None
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        return None

# Flask's app.add_url_rule and friends raise an error naming the covet way (covet._flask_names).
install_flask_names(Scaffold, SCAFFOLD_ATTRIBUTES, scaffold_attribute_error)


def _check_hook(func: Any, kind: str, argument: str) -> None:
    """Refuse, at registration, a hook that cannot be called with at most one argument."""
    if not callable(func):
        raise TypeError(f"@{kind} takes a function, got {func!r}.")
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return  # a builtin or C callable: trust it
    required = [
        p
        for p in parameters
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if len(required) > 1 or any(p.kind is p.KEYWORD_ONLY for p in required):
        name = getattr(func, "__qualname__", repr(func))
        raise TypeError(
            f"{kind} hook {name!r} requires parameters {[p.name for p in required]}; a {kind} hook "
            f"takes no arguments or one ({argument}). Give the others default values."
        )
