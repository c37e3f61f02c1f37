"""How a JSON request body that cannot be decoded is answered: one 400, on every decode path.

``request.json()`` and typed JSON body parameters both decode with msgspec. Besides malformed
JSON (``msgspec.DecodeError``) and undecodable text (``UnicodeDecodeError``), msgspec raises
``RecursionError`` for documents nested deeper than it allows (``[[[[...`` a thousand deep, a
"JSON bomb" a few kilobytes long); all three are the client's fault and get a 400 that says so.
"""

from __future__ import annotations

import msgspec

from .exceptions import HTTPException

__all__ = ["JSON_DECODE_ERRORS", "malformed_json"]

#: The exceptions msgspec's JSON decoding raises for bad input (``ValidationError`` is a
#: ``DecodeError``: catch it first where it means 422).
JSON_DECODE_ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def malformed_json(exc: Exception) -> HTTPException:
    """The 400 for a JSON body that failed to decode with ``exc`` (one of :data:`JSON_DECODE_ERRORS`)."""
    if isinstance(exc, RecursionError):
        return HTTPException(400, "Malformed JSON body: nested too deeply (arrays or objects inside each other).")
    return HTTPException(400, f"Malformed JSON body: {exc}")
