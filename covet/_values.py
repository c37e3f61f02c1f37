"""Raw request values shaped for one parameter, before msgspec converts them.

Two rules live here so the extraction code stays a plain loop: a list-valued header is read as
RFC 9110 lists are written (comma-separated, over any number of lines), and an empty form field is
"not filled in" for every type but ``str`` (what browsers send for an empty input).
"""

from __future__ import annotations

from typing import Any

__all__ = ["split_list_header", "drop_blank"]


def split_list_header(lines: list[str]) -> list[str]:
    """The elements of a list-valued header, in order.

    Each line is split at commas outside quoted strings, whitespace around an element is trimmed
    and empty elements are dropped (RFC 9110 §5.6.1); several lines of one field are one list
    (RFC 9110 §5.3). So ``X-Token: a, b`` and ``X-Token: a`` + ``X-Token: b`` both give
    ``["a", "b"]``. Quotes are kept: ``"a,b", c`` gives ``['"a,b"', "c"]``. Linear time.
    """
    out: list[str] = []
    for line in lines:
        if '"' not in line:
            for item in line.split(","):
                item = item.strip(" \t")
                if item:
                    out.append(item)
            continue
        start = 0
        quoted = escaped = False
        for index, char in enumerate(line):
            if escaped:
                escaped = False
            elif quoted and char == "\\":
                escaped = True
            elif char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                item = line[start:index].strip(" \t")
                if item:
                    out.append(item)
                start = index + 1
        item = line[start:].strip(" \t")
        if item:
            out.append(item)
    return out


def drop_blank(raw: Any) -> Any:
    """A form value with its empty text fields removed; None when nothing is left.

    ``raw`` is one value or a list (a repeated field); uploaded files are never blank here.
    """
    if isinstance(raw, list):
        kept = [item for item in raw if not (isinstance(item, str) and item == "")]
        return kept or None
    return None if isinstance(raw, str) and raw == "" else raw
