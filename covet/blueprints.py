"""Blueprints: a group of routes and hooks registered on an app under a prefix, as in Flask."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .scaffold import Scaffold

__all__ = ["Blueprint"]


class Blueprint(Scaffold):
    """Routes and hooks to register on an app (or another blueprint) later.

    Example::

        api = Blueprint("api", url_prefix="/api")

        @api.get("/items")
        async def items(): ...

        app.register_blueprint(api)      # GET /api/items, named "api.items"

    Hooks and error handlers registered on a blueprint apply only to its own routes (and those of
    blueprints nested in it). ``dependencies=[Depends(...)]`` apply to every route in it.
    """

    def __init__(self, name: str, url_prefix: str = "", dependencies: Iterable[Any] | None = None) -> None:
        if not name or "." in name or not isinstance(name, str):
            raise ValueError(f"Blueprint names are non-empty and have no dots (they prefix route names), got {name!r}.")
        if url_prefix and not url_prefix.startswith("/"):
            raise ValueError(f"url_prefix must start with '/', got {url_prefix!r}; write '/{url_prefix}'.")
        super().__init__(name)
        self.url_prefix = url_prefix
        self.dependencies = list(dependencies or ())
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
        self.deferred_routes.append((path, endpoint, methods, name, options))

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
