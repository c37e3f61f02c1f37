"""HTTP's rules for serving a file: validators, conditional requests, byte ranges, Content-Disposition.

These are plain functions over request headers and a file's size and stat result, kept apart from
``FileResponse`` so the rules can be read and tested without the sending machinery around them.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import re
import stat
import unicodedata
from datetime import timezone
from typing import BinaryIO, Literal
from urllib.parse import quote

from .types import Scope

#: More ranges than this in one request get the whole file (RFC 9110 lets a server ignore Range):
#: hundreds of tiny parts cost far more to frame than they save, and are a known way to make a
#: server do a lot of work for a short request.
MAX_RANGES = 100

UNSATISFIABLE: Literal["unsatisfiable"] = "unsatisfiable"

ByteRanges = list[tuple[int, int]]

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts '²', which int() refuses
# Opening a FIFO for reading blocks until a writer appears; O_NONBLOCK makes such an open return at
# once (and has no effect on regular files), so a FIFO where a file was expected cannot pin a thread.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def request_headers(scope: Scope, *names: bytes) -> list[str | None]:
    """The first value of each named request header (lower-case bytes), or None."""
    found: list[str | None] = [None] * len(names)
    for key, value in scope.get("headers", ()):
        if key in names:
            index = names.index(key)
            if found[index] is None:
                found[index] = value.decode("latin-1")
    return found


def open_regular_file(path: str) -> tuple[BinaryIO, os.stat_result] | None:
    """``path`` opened for reading with its stat result, or None when it is not a readable regular file.

    The stat comes from the open descriptor, so size and validators describe the bytes that will
    be sent even if the path is replaced meanwhile. Runs in a worker thread (it touches the disk).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb"), info
    except BaseException:
        os.close(fd)
        raise


def read_at(file: BinaryIO, offset: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``offset`` (run in a worker thread)."""
    file.seek(offset)
    return file.read(size)


def etag_for(info: os.stat_result) -> str:
    """A strong validator that changes whenever the file's size or modification time does."""
    digest = hashlib.md5(f"{info.st_mtime_ns}-{info.st_size}".encode(), usedforsecurity=False).hexdigest()
    return f'"{digest}"'


def not_modified(scope: Scope, etag: str, mtime: float) -> bool:
    """Whether a GET/HEAD carries a validator that still matches (so the answer is ``304``).

    ``If-None-Match`` compares weakly and, when present, makes ``If-Modified-Since`` irrelevant
    (RFC 9110 section 13.2.2).
    """
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    if_none_match, if_modified_since = request_headers(scope, b"if-none-match", b"if-modified-since")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag.removeprefix("W/") in tags
    if if_modified_since is not None:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return int(mtime) <= since.timestamp()
    return False


def requested_ranges(
    scope: Scope, etag: str, last_modified: str, size: int
) -> ByteRanges | Literal["unsatisfiable"] | None:
    """The byte ranges a GET/HEAD asks for, :data:`UNSATISFIABLE`, or None to send the whole file.

    A stale ``If-Range`` (it names another version of the file) means the whole file, as it must:
    the client's partial copy is of something else.
    """
    if scope.get("method") not in ("GET", "HEAD"):
        return None
    range_header, if_range = request_headers(scope, b"range", b"if-range")
    if range_header is None:
        return None
    if if_range is not None:
        if_range = if_range.strip()
        # An entity tag must match strongly (a weak one never does); a date must be the exact one.
        if if_range.startswith("W/") or if_range not in (etag, last_modified):
            return None
    return parse_range_header(range_header, size)


def parse_range_header(header: str, size: int) -> ByteRanges | Literal["unsatisfiable"] | None:
    """``Range: bytes=...`` as inclusive ``(first, last)`` pairs for a representation of ``size`` bytes.

    Returns None (send everything) for another unit, malformed syntax, an empty file, more than
    :data:`MAX_RANGES` ranges, or ranges that add up to more than the file itself (overlapping
    ranges are a way to make a small request amplify into a huge response). Returns
    :data:`UNSATISFIABLE` when the syntax is fine but no range overlaps the file (``416``).
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or size <= 0:
        return None
    items = [item.strip() for item in spec.split(",", MAX_RANGES + 1)]
    items = [item for item in items if item]  # RFC 9110 lists may contain empty elements
    if not items or len(items) > MAX_RANGES:
        return None
    ranges: ByteRanges = []
    for item in items:
        first, dash, last = item.partition("-")
        if not dash or not (first or last):
            return None
        if (first and not _DIGITS.fullmatch(first)) or (last and not _DIGITS.fullmatch(last)):
            return None
        if first:
            start = _number(first)
            end = _number(last) if last else size - 1
            if last and end < start:
                return None  # "5-2" is invalid syntax, not an empty range
            if start >= size:
                continue  # this range misses the file; another may still hit it
            ranges.append((start, min(end, size - 1)))
        else:
            suffix = _number(last)  # "-N": the last N bytes
            if suffix == 0:
                continue
            ranges.append((max(size - suffix, 0), size - 1))
    if not ranges:
        return UNSATISFIABLE
    if sum(end - start + 1 for start, end in ranges) > size:
        return None
    return ranges


def _number(digits: str) -> int:
    # A position past any real file means "to the end"; capping avoids int() on thousands of digits.
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else 10**18


def multipart_frames(
    ranges: ByteRanges, size: int, content_type: bytes, boundary: str
) -> tuple[list[bytes], bytes]:
    """The header block before each part of a ``multipart/byteranges`` body, and the closing line.

    Each part's data follows its header block; the whole body is therefore known in length before
    a byte is sent, so the response carries an exact ``Content-Length``.
    """
    delimiter = f"--{boundary}\r\n".encode("ascii")
    heads = []
    for index, (start, end) in enumerate(ranges):
        heads.append(
            (b"\r\n" if index else b"")
            + delimiter
            + b"Content-Type: "
            + content_type
            + f"\r\nContent-Range: bytes {start}-{end}/{size}\r\n\r\n".encode("ascii")
        )
    return heads, f"\r\n--{boundary}--\r\n".encode("ascii")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="..."``, plus ``filename*=UTF-8''...`` (RFC 5987) for non-ASCII names.

    Old clients read the quoted ASCII fallback, modern ones the encoded form. Control characters are
    refused rather than stripped: a CR or LF in a download name is a bug or an attack upstream.
    """
    bad = [char for char in filename if ord(char) < 32 or ord(char) == 127]
    if bad:
        raise ValueError(
            f"A FileResponse filename cannot contain control characters such as CR or LF, got "
            f"{filename!r}; pass the plain name the browser should save the file as."
        )
    if filename.isascii():
        return f'{disposition}; filename="{_quoted_string(filename)}"'
    fallback = "".join(
        char if char.isascii() else "_"
        for char in unicodedata.normalize("NFKD", filename)
        if not unicodedata.combining(char)  # "é" decomposes to "e" + accent; keep the "e"
    )
    return (
        f"{disposition}; filename=\"{_quoted_string(fallback)}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )


def _quoted_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
