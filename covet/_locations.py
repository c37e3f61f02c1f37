"""``Location`` values for the redirects covet makes by itself: always a path on the same site.

A browser reads a ``Location`` starting with ``//`` (or ``/\\``, or ``/<tab>/``: it treats ``\\``
as ``/`` and drops tabs and newlines, WHATWG URL) as another host. When a redirect is built from
the request's own path, as the trailing-slash rule and StaticFiles' directory redirect do, a
request for ``//evil.example`` would otherwise be sent off-site. ``RedirectResponse`` is not
affected: it sends the user's URL as given.
"""

from __future__ import annotations

from urllib.parse import quote, quote_from_bytes

from .types import Scope

__all__ = ["same_site_path", "trailing_slash_location", "request_path_location"]

# RFC 3986 pchar and "/" (and "%", so the client's own escapes stay as they are); everything else
# is percent-encoded, including "\\", spaces and control characters.
_PATH_SAFE = "/%:@!$&'()*+,;="
_QUERY_SAFE = _PATH_SAFE + "?"


def same_site_path(path: str) -> str:
    """``path`` with its leading slashes collapsed to one: ``"//evil.example/"`` -> ``"/evil.example/"``.

    ``path`` must already be percent-encoded (no ``\\`` or control characters left).
    """
    return "/" + path.lstrip("/")


def request_path_location(scope: Scope, suffix: str = "") -> str:
    """The request's own path plus ``suffix``, and its query, as a same-site ``Location``.

    Built from ``raw_path`` when the server gives it (the client's own encoding, so an escaped
    ``?`` or ``%`` stays data), else from the decoded ``path``. Characters a URL may not hold are
    percent-encoded, then the leading slashes are collapsed (see :func:`same_site_path`).
    """
    raw_path = scope.get("raw_path")
    if raw_path:
        path = quote_from_bytes(bytes(raw_path).split(b"?", 1)[0], safe=_PATH_SAFE)
    else:
        path = quote(scope["path"])
    return _with_query(same_site_path(path + suffix), scope)


def trailing_slash_location(scope: Scope, target: str) -> str:
    """The ``Location`` of the trailing-slash ``308``: the request's path with ``/`` appended.

    ``target`` is the router's redirect target (the app-relative path plus ``/``), used when the
    server gives no ``raw_path``. Always a path on this site, whatever the client sent:
    ``GET //evil.example`` redirects to ``/evil.example/``, never to ``//evil.example/``.
    """
    if scope.get("raw_path"):
        return request_path_location(scope, "/")
    return _with_query(same_site_path(scope.get("root_path", "").rstrip("/") + quote(target)), scope)


def _with_query(location: str, scope: Scope) -> str:
    query = scope.get("query_string", b"")
    return f"{location}?{quote_from_bytes(query, safe=_QUERY_SAFE)}" if query else location
