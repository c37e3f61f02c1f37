"""Blueprints: a group of routes and hooks registered on an app under a prefix, as in Flask."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ._route_middleware import middleware_entries
from .scaffold import Scaffold, rate_limit_options

_IMPORT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

__all__ = ["Blueprint"]


class Blueprint(Scaffold):
    """Routes and hooks to register on an app (or another blueprint) later.

    Example::

        api = Blueprint("api", url_prefix="/api")    # or Flask's Blueprint("api", __name__, url_prefix="/api")

        @api.get("/items")
        async def items(): ...

        app.register_blueprint(api)      # GET /api/items, named "api.items"

    Hooks and error handlers registered on a blueprint apply only to its own routes (and those of
    blueprints nested in it). ``dependencies=[Depends(...)]`` apply to every route in it, and so
    does ``middleware=[...]`` (ASGI middleware, outermost first, around each of its routes);
    ``rate_limit="100/minute"`` (or a ``covet.ratelimit.RateLimit``) is one budget shared by its routes.
    """

    def __init__(
        self,
        name: str,
        import_name: str | None = None,
        url_prefix: str | None = None,
        *,
        dependencies: Iterable[Any] | None = None,
        rate_limit: Any = None,
        middleware: Iterable[Any] | None = None,
    ) -> None:
        if not name or not isinstance(name, str) or "." in name:
            raise ValueError(f"Blueprint names are non-empty and have no dots (they prefix route names), got {name!r}.")
        if import_name is not None and (import_name == "" or import_name.startswith("/")):
            # Blueprint("api", "/api"): covet's own positional form, the second argument a prefix.
            if url_prefix is not None:
                raise TypeError(
                    f"Blueprint {name!r} got two url prefixes, {import_name!r} and url_prefix={url_prefix!r}; "
                    "give one."
                )
            import_name, url_prefix = None, import_name
        elif import_name is not None and not _IMPORT_NAME.fullmatch(import_name):
            raise ValueError(
                f"Blueprint {name!r}: the second argument is Flask's import name (write __name__) or a "
                f"url_prefix starting with '/'; got {import_name!r}. For a prefix write '/{import_name}'."
            )
        url_prefix = url_prefix or ""
        if url_prefix and not url_prefix.startswith("/"):
            raise ValueError(f"url_prefix must start with '/', got {url_prefix!r}; write '/{url_prefix}'.")
        #: The module that made the blueprint (Flask's ``import_name``), when given.
        self.import_name = import_name
        super().__init__(name)
        self.url_prefix = url_prefix
        self.dependencies = list(dependencies or ())
        if rate_limit is not None:
            # One budget for the whole blueprint, spent before its other dependencies run.
            from .ratelimit import as_dependency

            self.dependencies.insert(0, as_dependency(rate_limit))
        #: ASGI middleware around each of this blueprint's routes (and its nested blueprints'),
        #: outermost first: ``middleware=[GZipMiddleware, (CORSMiddleware, {...})]``.
        self.route_middleware = middleware_entries(middleware, f"middleware= of Blueprint {name!r}")
        self.deferred_routes: list[tuple[str, Callable[..., Any], Iterable[str] | None, str | None, dict[str, Any]]] = []
        self.children: list[tuple[Blueprint, str | None, str | None]] = []
        self._registered = False

    def _check_setup_allowed(self, what: str) -> None:
        # Flask's rule: a registered blueprint is part of an app's setup, which may not change
        # afterwards (the app builds each route's runner from the hooks it sees when it freezes).
        if self._registered:
            raise RuntimeError(
                f"Blueprint {self.name!r} is already registered on an app; call {what}() before "
                "app.register_blueprint() so the app sees it."
            )

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        self._check_setup_allowed("add_route")
        if name is not None and "." in name:
            raise ValueError(f"Route names inside a blueprint cannot contain dots, got {name!r}.")
        self.deferred_routes.append((path, endpoint, methods, name, rate_limit_options(options)))

    def register_blueprint(self, blueprint: Blueprint, url_prefix: str | None = None, name: str | None = None) -> None:
        """Nest ``blueprint`` in this one; its routes are named ``"outer.inner.func"``."""
        self._check_setup_allowed("register_blueprint")
        if blueprint is self:
            raise ValueError("A blueprint cannot be registered on itself.")
        self.children.append((blueprint, url_prefix, name))


def join_paths(prefix: str, path: str) -> str:
    if not prefix:
        return path
    return prefix.rstrip("/") + path
