"""Template globals of the middleware: ``csrf_token()`` and ``csp_nonce()`` for the current request."""

from __future__ import annotations

from typing import Any

from ..globals import current_request
from .csrf import csrf_token
from .securityheaders import csp_nonce

__all__ = ["add_template_globals"]


def _current() -> Any:
    request = current_request()
    if request is None:
        raise RuntimeError("csrf_token() and csp_nonce() in a template need a request being handled.")
    return request


def add_template_globals(env: Any) -> None:
    """Give templates ``{{ csrf_token() }}`` and ``{{ csp_nonce() }}`` (of the request being handled)."""
    env.globals["csrf_token"] = lambda: csrf_token(_current())
    env.globals["csp_nonce"] = lambda: csp_nonce(_current())
