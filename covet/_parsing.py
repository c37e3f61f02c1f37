"""Picks the request parsers: the compiled ``covet._speedups._parsers`` or its Python twin.

The choice is made once, at import, yarl style: the pure-Python reference under type checking or
``COVET_NO_EXTENSIONS``, otherwise the compiled module when it was built. Everything else imports
the parsers from here, so no caller can end up with a different implementation than the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._speedups import NO_EXTENSIONS, compiled_modules

__all__ = [
    "ParseError",
    "decode_path",
    "find_header",
    "framing_error",
    "parse_accept",
    "parse_content_type",
    "parse_cookie_header",
    "parse_query_first",
    "parse_query_string",
    "plain_bool",
    "plain_int",
]

if TYPE_CHECKING or NO_EXTENSIONS:
    from . import _parsers_py as _chosen
else:  # pragma: no cover - which branch runs depends on the install
    try:
        from ._speedups import _parsers as _chosen

        compiled_modules.add("parsers")
    except ImportError:
        from . import _parsers_py as _chosen

ParseError = _chosen.ParseError
decode_path = _chosen.decode_path
find_header = _chosen.find_header
framing_error = _chosen.framing_error
parse_accept = _chosen.parse_accept
parse_content_type = _chosen.parse_content_type
parse_cookie_header = _chosen.parse_cookie_header
parse_query_first = _chosen.parse_query_first
parse_query_string = _chosen.parse_query_string
plain_bool = _chosen.plain_bool
plain_int = _chosen.plain_int
