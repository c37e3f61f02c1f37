"""API keys in a header, a cookie or the query string, as dependencies (OpenAPI ``apiKey``)."""

from __future__ import annotations

from ..requests import HTTPConnection
from .base import SecurityBase, unauthorized

__all__ = ["APIKeyHeader", "APIKeyCookie", "APIKeyQuery"]


class _APIKey(SecurityBase):
    where = "header"

    def __init__(
        self, *, name: str, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True
    ) -> None:
        if not name or not isinstance(name, str):
            raise ValueError(f"{type(self).__name__}(name=...) needs the {self.where}'s name, got {name!r}.")
        self.name = name.lower() if self.where == "header" else name
        self._init_base({"type": "apiKey", "name": name, "in": self.where}, scheme_name, description, auto_error)

    def _found(self, value: str | None) -> str | None:
        if value:
            return value
        if self.auto_error:
            # No standard challenge exists for API keys; RFC 9110 §11.6.1 still requires a header.
            raise unauthorized("APIKey", f"Not authenticated: missing API key in {self.where} {self.name!r}")
        return None


class APIKeyHeader(_APIKey):
    """The API key in a request header: ``APIKeyHeader(name="X-API-Key")`` gives its value (str).

    Missing or empty: ``401`` (``WWW-Authenticate: APIKey``), or None with ``auto_error=False``.
    Compare the key with :func:`secrets_equal` (constant time), or look up its hash.
    """

    where = "header"

    async def __call__(self, request: HTTPConnection) -> str | None:
        return self._found(request.headers.get(self.name))


class APIKeyCookie(_APIKey):
    """The API key in a cookie: ``APIKeyCookie(name="api_key")``; same rules as :class:`APIKeyHeader`."""

    where = "cookie"

    async def __call__(self, request: HTTPConnection) -> str | None:
        return self._found(request.cookies.get(self.name))


class APIKeyQuery(_APIKey):
    """The API key in the query string: ``APIKeyQuery(name="api_key")``; same rules as :class:`APIKeyHeader`.

    Keys in URLs end up in logs and browser history; prefer a header where clients allow it.
    """

    where = "query"

    async def __call__(self, request: HTTPConnection) -> str | None:
        return self._found(request.query_params.get(self.name))
