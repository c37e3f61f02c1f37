"""The error responses of last resort: a traceback page when debugging, a bare 500 otherwise."""

from __future__ import annotations

import html
import traceback

from ._parsing import find_header, parse_accept
from .exceptions import ParseError
from .responses import HTMLResponse, JSONResponse, Response
from .types import Scope

__all__ = ["server_error_response"]


def server_error_response(scope: Scope, exc: BaseException, debug: bool) -> Response:
    """With ``debug=False`` nothing about the failure reaches the client."""
    if not debug:
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    if _prefers_html(scope):
        # Source, locals (secrets masked), request and route: covet.observability.debug_page.
        from .observability.debug_page import render_html

        try:
            return HTMLResponse(render_html(scope, exc), status_code=500)
        except Exception:  # the page of last resort must not fail: the bare traceback instead
            title = html.escape(f"{type(exc).__name__}: {exc}")
            body = f"<!doctype html><title>500 {title}</title><h1>{title}</h1><pre>{html.escape(''.join(frames))}</pre>"
            return HTMLResponse(body, status_code=500)
    return JSONResponse(
        {
            "detail": "Internal Server Error",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(frames).splitlines(),
        },
        status_code=500,
    )


def _prefers_html(scope: Scope) -> bool:
    """A browser asking for a page gets the HTML traceback; API clients and curl get JSON."""
    raw = find_header(scope.get("headers", ()), b"accept")
    try:
        ranked = parse_accept(raw.decode("latin-1")) if raw else []
    except ParseError:
        return False
    weights = dict(reversed(ranked))
    return weights.get("text/html", 0.0) > 0.0 and weights["text/html"] >= weights.get("application/json", 0.0)
