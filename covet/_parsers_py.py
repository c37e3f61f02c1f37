"""Pure-Python request parsers: the reference twins for ``covet._speedups._parsers``.

A narrow, string-in/values-out API so a compiled twin can replace it function for function:

* ``parse_query_string(raw, max_fields)`` -> list of ``(key, value)`` pairs
* ``parse_query_first(raw, max_fields)`` -> dict of each key's first value
* ``parse_cookie_header(raw, max_cookies)`` -> dict
* ``parse_content_type(raw)`` -> ``(media_type, params)``
* ``find_header(raw_headers, name)`` -> the first raw value or ``None``
* ``framing_error(raw_headers)`` -> why the body's framing is ambiguous, or ``None``
* ``parse_accept(raw, max_items)`` -> ``[(media_range, q), ...]``, most preferred first
* ``decode_path(raw_path)`` -> the percent-decoded path
* ``plain_int(raw)`` / ``plain_bool(raw)`` -> the value of the commonest spellings, or ``None``

Each parser bounds its work and raises :class:`ParseError` (a ``ValueError``) on input it will
not process; callers turn that into a 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

# Absolute import: this file is also compiled as ``covet._speedups._parsers``.
from covet.exceptions import ParseError

__all__ = [
    "ParseError",
    "parse_query_string",
    "parse_query_first",
    "parse_cookie_header",
    "parse_content_type",
    "find_header",
    "framing_error",
    "parse_accept",
    "decode_path",
    "plain_int",
    "plain_bool",
    "DEFAULT_MAX_FIELDS",
    "DEFAULT_MAX_COOKIES",
    "DEFAULT_MAX_ACCEPT",
    "DEFAULT_MAX_PARAMS",
    "DEFAULT_MAX_LENGTH",
]

DEFAULT_MAX_FIELDS = 1000
DEFAULT_MAX_COOKIES = 200
DEFAULT_MAX_ACCEPT = 64
DEFAULT_MAX_PARAMS = 64
DEFAULT_MAX_LENGTH = 8192
_QUALITY = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_PARAM_DELIMITER = re.compile(r'[;"]')
# A quoted string from its opening '"': group 1 is the closing quote, None when there is none.
_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*(")?', re.DOTALL)


def parse_query_string(raw: str | bytes, max_fields: int = DEFAULT_MAX_FIELDS) -> list[tuple[str, str]]:
    """Decode ``a=1&b=x+y&a=2`` into ordered pairs.

    Only ``&`` separates fields (``;`` is data, as in current CPython and WHATWG URL). ``+`` is a
    space; invalid percent escapes and invalid UTF-8 are kept as replacement characters rather than
    failing the request. Empty fields are skipped; a key without ``=`` has the value ``""``.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not text:
        return []
    if text.count("&") >= max_fields:
        fields = [field for field in text.split("&") if field]
        if len(fields) > max_fields:
            raise ParseError(f"Too many query parameters: the limit is {max_fields}.")
    else:
        fields = text.split("&")
    pairs: list[tuple[str, str]] = []
    escaped = "%" in text or "+" in text  # else no field needs unquoting: skip the per-field checks
    for field in fields:
        if not field:
            continue
        key, _, value = field.partition("=")
        if escaped:
            if "%" in key or "+" in key:
                key = unquote_plus(key, errors="replace")
            if "%" in value or "+" in value:
                value = unquote_plus(value, errors="replace")
        pairs.append((key, value))
    return pairs


def parse_query_first(raw: str | bytes, max_fields: int = DEFAULT_MAX_FIELDS) -> dict[str, str]:
    """``parse_query_string`` as a dict of each key's first value (Flask's ``args[key]``).

    For reading single-valued query parameters straight off the scope, without building
    ``QueryParams``.
    """
    first: dict[str, str] = {}
    for key, value in parse_query_string(raw, max_fields):
        if key not in first:
            first[key] = value
    return first


def parse_cookie_header(raw: str, max_cookies: int = DEFAULT_MAX_COOKIES) -> dict[str, str]:
    """Decode a ``Cookie`` header into a dict; the first occurrence of a name wins.

    Browsers send ``name=value; name2=value2``. Parts without ``=`` are ignored; a value wrapped in
    double quotes is unwrapped; percent escapes are decoded. Malformed parts never fail the request.
    """
    cookies: dict[str, str] = {}
    if not raw:
        return cookies
    # Counted before splitting: a header of separators is refused without a list of empty parts.
    if raw.count(";") >= max_cookies:
        raise ParseError(f"Too many cookies: the limit is {max_cookies}.")
    for part in raw.split(";"):
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


def parse_content_type(
    raw: str, max_params: int = DEFAULT_MAX_PARAMS, max_length: int = DEFAULT_MAX_LENGTH
) -> tuple[str, dict[str, str]]:
    """``'Text/HTML; charset="utf-8"'`` -> ``('text/html', {'charset': 'utf-8'})``.

    The media type is lower-cased; parameter names too (the first of a repeated name wins).
    ``;`` inside a quoted value is data and ``\\`` escapes the next character there (RFC 9110
    §5.6.4, §5.6.6); parts without ``=`` are skipped. Time is linear in ``len(raw)``. Raises
    :class:`ParseError` for more than ``max_params`` parameters (empty ones count) or quoted
    strings, or more than ``max_length`` characters.
    """
    if len(raw) > max_length:
        raise ParseError(f"Media type is longer than {max_length} characters.")
    end = raw.find(";")
    if end < 0:
        return raw.strip().lower(), {}
    media_type = raw[:end]
    params: dict[str, str] = {}
    # Each search and each quoted string is one C-level regex call from where the last one
    # ended, and each parameter is sliced out once: no part of the header is read twice.
    start = position = end + 1
    count = 0
    quotes = 0
    while True:
        found = _PARAM_DELIMITER.search(raw, position)
        if found is None:
            break
        index = found.start()
        if raw[index] == '"':
            quotes += 1
            if quotes > max_params:  # a parameter has at most one quoted value
                raise ParseError(f"Too many quoted strings in a media type: the limit is {max_params}.")
            quoted = _QUOTED_STRING.match(raw, index)
            assert quoted is not None  # it matches at any '"'
            if quoted.group(1) is None:
                break  # never closed: the rest of the header is inside it
            position = quoted.end()
            continue
        count += 1
        if count > max_params:
            raise _too_many_params(max_params)
        _add_param(params, raw[start:index])
        start = position = index + 1
    if start < len(raw):
        if count >= max_params:
            raise _too_many_params(max_params)
        _add_param(params, raw[start:])
    return media_type.strip().lower(), params


def _add_param(params: dict[str, str], part: str) -> None:
    key, sep, value = part.partition("=")
    key = key.strip().lower()
    if not sep or not key or key in params:
        return
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    params[key] = value


def _too_many_params(limit: int) -> ParseError:
    return ParseError(f"Too many parameters in a media type: the limit is {limit}.")


def find_header(raw_headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes), without building a Headers object.

    ASGI servers lower-case header names, so this is a plain comparison.
    """
    for key, value in raw_headers:
        if key == name:
            return value
    return None


def framing_error(raw_headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """Why a request's body framing is ambiguous, or None when it is not (RFC 9112 §6.1, §6.3).

    Ambiguous means both ``Transfer-Encoding`` and ``Content-Length``, or several
    ``Content-Length`` values that disagree. A proxy and the server may then each see a different
    end of the body, and what one takes for body the other runs as a second request (request
    smuggling); the RFC has the server answer 400 and close the connection. One pass over the
    (lower-cased, ASGI) header names.
    """
    length: bytes | None = None
    chunked = False
    for key, value in raw_headers:
        if key == b"content-length":
            if length is not None and value != length:
                return "Request has several different Content-Length headers (RFC 9112 §6.3)."
            length = value
        elif key == b"transfer-encoding":
            chunked = True
    if chunked and length is not None:
        return "Request has both Transfer-Encoding and Content-Length (RFC 9112 §6.1)."
    return None


def parse_accept(raw: str, max_items: int = DEFAULT_MAX_ACCEPT) -> list[tuple[str, float]]:
    """``'text/html;q=0.9, application/json'`` -> ``[('application/json', 1.0), ('text/html', 0.9)]``.

    Media ranges are lower-cased and ordered by ``q`` (stable, so equal weights keep the client's
    order). A malformed ``q`` counts as 0, like a refusal, instead of failing the request; ranges
    with ``q=0`` are dropped. More than ``max_items`` ranges is refused.
    """
    if not raw:
        return []
    if len(raw) > DEFAULT_MAX_LENGTH:
        raise ParseError(f"Accept header is longer than {DEFAULT_MAX_LENGTH} characters.")
    if raw.count(",") >= max_items:
        raise ParseError(f"Too many media ranges in Accept: the limit is {max_items}.")
    ranked: list[tuple[str, float]] = []
    for item in raw.split(","):
        media_range, params = parse_content_type(item)
        if not media_range:
            continue
        q = 1.0
        text = params.get("q")
        if text is not None:
            q = _quality(text)
        if q > 0.0:
            ranked.append((media_range, q))
    ranked.sort(key=_by_quality)
    return ranked


def _quality(text: str) -> float:
    # RFC 9110 weights: "0" to "1" with at most three decimals; anything else counts as 0.
    return float(text) if _QUALITY.fullmatch(text) else 0.0


def _by_quality(item: tuple[str, float]) -> float:
    return -item[1]


def decode_path(raw_path: bytes) -> str:
    """Percent-decode a request target's path (no query) as ASGI servers do for ``scope["path"]``.

    Escapes decode as UTF-8; invalid sequences become U+FFFD rather than failing. Non-ASCII bytes
    (which a client should have escaped) are taken as Latin-1, like the rest of HTTP/1.1.
    """
    text = raw_path.decode("latin-1")
    if "%" not in text:
        return text
    return unquote(text, errors="replace")


_PLAIN_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "1": True, "0": False}


def plain_int(raw: str) -> int | None:
    """The int a plain decimal string stands for, or None for any other string.

    Plain means a spelling msgspec turns into that same int: ASCII digits only, no sign, no leading
    zero, no spaces or underscores, at most 18 digits. Callers hand everything else to msgspec, for
    its full rules and its error messages; this only skips it for the common case.
    """
    if raw.isascii() and raw.isdigit() and len(raw) <= 18 and (raw[0] != "0" or len(raw) == 1):
        return int(raw)
    return None


def plain_bool(raw: str) -> bool | None:
    """The bool of a word FastAPI accepts in a query or header (``true``, ``off``, ``1``...), else None."""
    value = _PLAIN_BOOLS.get(raw)  # the usual lower-case spelling needs no lower()
    return _PLAIN_BOOLS.get(raw.lower()) if value is None else value
