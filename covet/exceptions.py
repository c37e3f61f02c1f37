"""covet's exceptions: HTTP errors a handler raises on purpose, and misuse errors at startup."""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any, NoReturn

__all__ = [
    "HTTPException",
    "RequestValidationError",
    "ClientDisconnect",
    "ParseError",
    "abort",
    "status_phrase",
]


def status_phrase(status_code: int) -> str:
    try:
        return http.HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


class ParseError(ValueError):
    """Input a request parser refuses; the message is safe to show to the client (as a 400).

    It lives here, not beside the parsers, so the compiled and pure-Python parser twins raise the
    very same class.
    """


class HTTPException(Exception):
    """An error response raised from anywhere in request handling.

    Example::

        if item is None:
            raise HTTPException(404, "No such item")

    The default body is JSON ``{"detail": detail}``; ``detail`` defaults to the status phrase.
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise ValueError(f"HTTPException needs an HTTP status code (100-599), got {status_code!r}")
        self.status_code = status_code
        self.detail = status_phrase(status_code) if detail is None else detail
        self.headers = dict(headers) if headers else None
        super().__init__(status_code, self.detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class RequestValidationError(HTTPException):
    """Request data did not fit the handler's parameters: a ``422`` listing every problem.

    ``errors`` is a list of ``{"loc": [...], "msg": "...", "type": "..."}`` dicts. Register
    ``@app.errorhandler(RequestValidationError)`` to change the response format in one place.
    """

    def __init__(self, errors: list[dict[str, Any]], status_code: int = 422) -> None:
        super().__init__(status_code, errors)
        self.errors = errors


class ClientDisconnect(Exception):
    """The client went away while its request body was being read."""


def abort(status_code: int, detail: Any = None) -> NoReturn:
    """Stop handling the request with an error response, as Flask's ``abort``.

    Example::

        abort(403, "Admins only")
    """
    raise HTTPException(status_code, detail)
