"""Pure-Python request parsers: the reference twins for ``covet._speedups._parsers``.

A narrow, string-in/values-out API so a compiled twin can replace it function for function:

* ``parse_query_string(raw, max_fields)`` -> list of ``(key, value)`` pairs
* ``parse_cookie_header(raw, max_cookies)`` -> dict
* ``parse_content_type(raw)`` -> ``(media_type, params)``
* ``find_header(raw_headers, name)`` -> the first raw value or ``None``

Each parser bounds its work and raises :class:`ParseError` (a ``ValueError``) on input it will
not process; callers turn that into a 400.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

__all__ = [
    "ParseError",
    "parse_query_string",
    "parse_cookie_header",
    "parse_content_type",
    "find_header",
    "DEFAULT_MAX_FIELDS",
    "DEFAULT_MAX_COOKIES",
]

DEFAULT_MAX_FIELDS = 1000
DEFAULT_MAX_COOKIES = 200


class ParseError(ValueError):
    """Input a parser refuses; the message is safe to show to the client."""


def parse_query_string(raw: str | bytes, max_fields: int = DEFAULT_MAX_FIELDS) -> list[tuple[str, str]]:
    """Decode ``a=1&b=x+y&a=2`` into ordered pairs.

    Only ``&`` separates fields (``;`` is data, as in current CPython and WHATWG URL). ``+`` is a
    space; invalid percent escapes and invalid UTF-8 are kept as replacement characters rather than
    failing the request. Empty fields are skipped; a key without ``=`` has the value ``""``.
    """
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not raw:
        return []
    if raw.count("&") >= max_fields:
        fields = [field for field in raw.split("&") if field]
        if len(fields) > max_fields:
            raise ParseError(f"Too many query parameters: the limit is {max_fields}.")
    else:
        fields = raw.split("&")
    pairs: list[tuple[str, str]] = []
    for field in fields:
        if not field:
            continue
        key, _, value = field.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key, errors="replace")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        pairs.append((key, value))
    return pairs


def parse_cookie_header(raw: str, max_cookies: int = DEFAULT_MAX_COOKIES) -> dict[str, str]:
    """Decode a ``Cookie`` header into a dict; the first occurrence of a name wins.

    Browsers send ``name=value; name2=value2``. Parts without ``=`` are ignored; a value wrapped in
    double quotes is unwrapped; percent escapes are decoded. Malformed parts never fail the request.
    """
    cookies: dict[str, str] = {}
    if not raw:
        return cookies
    parts = raw.split(";")
    if len(parts) > max_cookies:
        raise ParseError(f"Too many cookies: the limit is {max_cookies}.")
    for part in parts:
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name = name.strip()
        if not name or name in cookies:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        if "%" in value:
            value = unquote(value, errors="replace")
        cookies[name] = value
    return cookies


def parse_content_type(raw: str) -> tuple[str, dict[str, str]]:
    """``'Text/HTML; charset="utf-8"'`` -> ``('text/html', {'charset': 'utf-8'})``."""
    media_type, _, rest = raw.partition(";")
    params: dict[str, str] = {}
    while rest:
        part, _, rest = _split_param(rest)
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params.setdefault(key, value)
    return media_type.strip().lower(), params


def _split_param(text: str) -> tuple[str, str, str]:
    # Split at the first ';' that is not inside a quoted string.
    quoted = False
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return text[:index], ";", text[index + 1 :]
    return text, "", ""


def find_header(raw_headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes), without building a Headers object.

    ASGI servers lower-case header names, so this is a plain comparison.
    """
    for key, value in raw_headers:
        if key == name:
            return value
    return None
