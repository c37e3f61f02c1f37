"""The route label of a request: its matched route's template, never the raw path.

Metrics and logs are labelled by route template (``/items/{item_id}``), so the number of distinct
labels is bounded by the app's routes; a scanner requesting a million random paths adds one label,
:data:`UNMATCHED`, not a million.

What this relies on: the app puts the matched :class:`~covet.routing.Route` into ``scope["route"]``
when routing finds one (``Covet._serve``), on the same scope dict middleware passed in. It is read
after the inner app has run or started its response, never before.
"""

from __future__ import annotations

from typing import Any

from ..types import Scope

__all__ = ["UNMATCHED", "route_template"]

#: The one label every request that matched no route shares (404s, 405s, redirects, mounts).
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` (``"/items/<int:item_id>"``), else :data:`UNMATCHED`.

    A request served by a mounted app (``app.mount("/static", ...)``) is labelled with the mount
    prefix and ``/*`` (``"/static/*"``): still one label per mount.
    """
    route = scope.get("route")
    if route is not None:
        path: Any = getattr(route, "path", None)
        if isinstance(path, str):
            return path
        return UNMATCHED
    app = scope.get("app")
    router = getattr(app, "router", None)
    mounts = getattr(router, "mounts", ())
    if mounts:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        for mount in mounts:
            if mount.matches(path):
                return f"{mount.prefix}/*"
    return UNMATCHED
