"""One ASGI app per framework, all serving the same routes with the same work.

Each module exposes a module-level ``app`` and three factories, ``hooked_app()``,
``deps_app()`` and ``stack_app()``, that build the variants the real-app scenarios run on. ``FRAMEWORKS`` maps the name shown in the
report to the module that defines it, in the order the report lists them; the raw ASGI
app comes first because every ratio is taken against it.
"""

from __future__ import annotations

__all__ = ["FRAMEWORKS"]

FRAMEWORKS: dict[str, str] = {
    "raw": "apps.raw_asgi",
    "starlette": "apps.starlette_app",
    "fastapi": "apps.fastapi_app",
    "covet": "apps.covet_app",
    "blacksheep": "apps.blacksheep_app",
    "falcon": "apps.falcon_app",
    "litestar": "apps.litestar_app",
}
