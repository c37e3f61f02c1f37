"""Where the docs pages get Swagger UI and ReDoc: from an installed package, else a CDN.

The ``openapi-ui-bundles`` package (``pip install 'covet[docs]'``) ships both bundles; when it is
installed covet serves them itself, under ``{docs_url}/assets/`` and ``{redoc_url}/assets/``, so
the pages work without internet access. Without it the pages load them from a pinned CDN version,
and say why and what to do when that fails.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SWAGGER_UI_CDN", "REDOC_CDN", "SWAGGER_UI_FILES", "REDOC_FILES", "local_bundles", "INSTALL_HINT"]

#: Pinned CDN locations, used when no local bundle is installed.
SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14"
REDOC_CDN = "https://cdn.jsdelivr.net/npm/redoc@2.1.5/bundles/redoc.standalone.js"

#: The files covet serves from a local bundle; nothing else in the package is reachable.
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
REDOC_FILES = ("redoc.standalone.js",)

INSTALL_HINT = "pip install 'covet[docs]'"


def local_bundles() -> tuple[Path, Path] | None:
    """The folders holding the Swagger UI and ReDoc files, when ``openapi-ui-bundles`` is installed."""
    try:
        from openapi_ui_bundles import redoc, swagger_ui
    except ImportError:
        return None
    swagger_dir, redoc_dir = Path(swagger_ui.static_path), Path(redoc.static_path)
    files = [swagger_dir / name for name in SWAGGER_UI_FILES] + [redoc_dir / name for name in REDOC_FILES]
    if not all(path.is_file() for path in files):
        return None  # an unexpected layout: fall back to the CDN rather than serve 404s
    return swagger_dir, redoc_dir
