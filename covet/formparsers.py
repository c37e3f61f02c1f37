"""Form body parsers: ``application/x-www-form-urlencoded`` and ``multipart/form-data``, streamed.

Both parsers are fed the body chunk by chunk as it arrives, so a form never has to sit in memory
whole: a multipart field collects at most ``max_field_size`` bytes, a file goes straight into its
:class:`~covet.datastructures.UploadFile` (memory up to ``spool_max_memory``, then a temporary file
written from a worker thread). Every limit in :class:`FormLimits` is checked as soon as the chunk
that crosses it is parsed, so the body is never read past the first chunk that breaks a rule.

The two sans-IO parsers (:class:`MultipartParser`, :class:`UrlencodedParser`) do no I/O and run in
time linear in the body whatever the chunking: a delimiter split across chunks is found by keeping
only the few trailing bytes that could start one. ``parse_multipart`` and ``parse_form`` drive them
from an async byte stream (``request.stream()``) and own the cleanup: a form refused halfway,
cancelled or cut short by a disconnect closes every upload it had opened, which deletes its file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any
from urllib.parse import unquote, unquote_plus

import anyio

from ._parsing import ParseError, parse_content_type
from .datastructures import FormData, Headers, UploadFile

__all__ = [
    "FormLimits",
    "DEFAULT_FORM_LIMITS",
    "FormError",
    "FormTooLarge",
    "MultipartParser",
    "UrlencodedParser",
    "PART_BEGIN",
    "PART_DATA",
    "PART_END",
    "parse_form",
    "parse_multipart",
    "parse_urlencoded",
    "multipart_boundary",
    "safe_filename",
]

_MIB = 1024 * 1024


class FormLimits:
    """Caps on a form's size and shape. A size limit broken is a ``413``, a shape limit a ``400``.

    ===========================  ==========  ======  ==================================================
    limit                        default     status  what it bounds
    ===========================  ==========  ======  ==================================================
    ``max_fields``               1000        400     non-file fields (urlencoded pairs or parts)
    ``max_files``                1000        400     file parts (parts with a ``filename``)
    ``max_field_size``           1 MiB       413     one field's value (urlencoded: its ``name=value``)
    ``max_form_memory_size``     2 MiB       413     all non-file fields together (held in memory)
    ``max_file_size``            100 MiB     413     one uploaded file
    ``max_multipart_size``       1 GiB       413     a whole multipart body, files included
    ``max_part_headers``         16          400     header lines of one multipart part
    ``max_header_size``          8 KiB       413     the header block of one multipart part
    ``max_boundary_length``      200         400     the multipart boundary (RFC 2046 allows 70)
    ``spool_max_memory``         1 MiB       --      bytes of a file kept in memory before disk
    ===========================  ==========  ======  ==================================================

    A multipart body is bounded by these limits, not by ``max_body_size``: its files spool to
    disk, and what it keeps in memory (the non-file fields) is bounded by
    ``max_form_memory_size``, so a phone photo uploads with the defaults. Bodies held in memory
    whole (JSON, urlencoded forms, ``request.body()``) stay bounded by ``max_body_size``.

    Example::

        app = Covet(form_limits=FormLimits(max_files=5, max_file_size=20 * 1024 * 1024))

        @app.post("/avatar", form_limits=app.form_limits.replace(max_files=1))
        async def avatar(image: UploadFile): ...
    """

    __slots__ = (
        "max_fields",
        "max_files",
        "max_field_size",
        "max_form_memory_size",
        "max_file_size",
        "max_multipart_size",
        "max_part_headers",
        "max_header_size",
        "max_boundary_length",
        "spool_max_memory",
    )

    max_fields: int
    max_files: int
    max_field_size: int
    max_form_memory_size: int
    max_file_size: int
    max_multipart_size: int
    max_part_headers: int
    max_header_size: int
    max_boundary_length: int
    spool_max_memory: int

    def __init__(
        self,
        *,
        max_fields: int = 1000,
        max_files: int = 1000,
        max_field_size: int = _MIB,
        max_form_memory_size: int = 2 * _MIB,
        max_file_size: int = 100 * _MIB,
        max_multipart_size: int = 1024 * _MIB,
        max_part_headers: int = 16,
        max_header_size: int = 8192,
        max_boundary_length: int = 200,
        spool_max_memory: int = _MIB,
    ) -> None:
        values = {
            "max_fields": max_fields,
            "max_files": max_files,
            "max_field_size": max_field_size,
            "max_form_memory_size": max_form_memory_size,
            "max_file_size": max_file_size,
            "max_multipart_size": max_multipart_size,
            "max_part_headers": max_part_headers,
            "max_header_size": max_header_size,
            "max_boundary_length": max_boundary_length,
            "spool_max_memory": spool_max_memory,
        }
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"FormLimits({name}=...) takes a whole number >= 0, got {value!r}.")
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        # Shared by every route that inherits it: mutating one in place would change them all.
        raise AttributeError(f"FormLimits is immutable; use limits.replace({name}=...) to derive another.")

    def replace(self, **changes: int) -> FormLimits:
        """A copy with some limits changed: ``app.form_limits.replace(max_files=1)``."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise TypeError(f"Unknown form limit(s) {sorted(unknown)}; known limits are {list(self.__slots__)}.")
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return FormLimits(**values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FormLimits):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.__slots__))

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"FormLimits({values})"


DEFAULT_FORM_LIMITS = FormLimits()


class FormError(ParseError):
    """A form the parser refuses because of its shape: answered with ``400``."""

    status_code = 400


class FormTooLarge(FormError):
    """A form with a part, file or header block over its size limit: answered with ``413``."""

    status_code = 413


def _shown(name: str) -> str:
    # Field names come from the client; keep error messages short whatever they sent.
    return repr(name if len(name) <= 64 else name[:61] + "...")


# --- multipart ------------------------------------------------------------------------------------

#: Events of :meth:`MultipartParser.feed`: ``(PART_BEGIN, [(name, value), ...])`` with lower-cased
#: raw header names, ``(PART_DATA, bytes)`` any number of times, then ``(PART_END, None)``.
PART_BEGIN, PART_DATA, PART_END = range(3)

_PREAMBLE, _AFTER_DELIMITER, _HEADERS, _BODY, _EPILOGUE = range(5)
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]+")


def multipart_boundary(content_type: str, limits: FormLimits = DEFAULT_FORM_LIMITS) -> bytes:
    """The boundary of a ``multipart/form-data`` content type, checked before any body is read."""
    boundary = parse_content_type(content_type)[1].get("boundary", "")
    if not boundary:
        raise FormError("multipart/form-data request without a boundary parameter.")
    if len(boundary) > limits.max_boundary_length:
        raise FormError(
            f"Multipart boundary is longer than max_boundary_length ({limits.max_boundary_length} characters)."
        )
    if not _BOUNDARY_RE.fullmatch(boundary) or boundary.endswith(" "):
        raise FormError(
            "Invalid multipart boundary: use letters, digits and '()+_,-./:=? (not ending in a space)."
        )
    return boundary.encode("ascii")


class MultipartParser:
    """A sans-IO ``multipart/form-data`` parser: feed it chunks, get events back.

    Example::

        parser = MultipartParser(b"xyz")
        events = parser.feed(b'--xyz\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\n1')
        events += parser.feed(b"\\r\\n--xyz--\\r\\n")
        parser.close()   # raises FormError if the closing delimiter never came
        # events: [(PART_BEGIN, [(b"content-disposition", b'form-data; name="a"')]),
        #          (PART_DATA, b"1"), (PART_END, None)]

    Work is linear in the input whatever the chunking, and the parser holds at most one part's
    header block (``max_header_size``) or a delimiter's length of body between calls. Part data is
    handed out as it is found; what to do with it (and its size limits) is the caller's business.
    """

    __slots__ = ("_separator", "_state", "_buffer", "_scanned", "_max_headers", "_max_header_size")

    def __init__(self, boundary: bytes, limits: FormLimits = DEFAULT_FORM_LIMITS) -> None:
        if not boundary:
            raise ValueError("MultipartParser needs a non-empty boundary.")
        # Delimiters are CRLF "--" boundary. The body's first one may come without the CRLF, so
        # the stream is parsed as if it began with one: the preamble search is then a separator search.
        self._separator = b"\r\n--" + boundary
        self._state = _PREAMBLE
        self._buffer: bytes | bytearray = b"\r\n"
        self._scanned = 0  # bytes of a header block already searched for its end
        self._max_headers = limits.max_part_headers
        self._max_header_size = limits.max_header_size

    @property
    def finished(self) -> bool:
        """Whether the closing delimiter has been seen (what follows it is ignored)."""
        return self._state == _EPILOGUE

    def feed(self, chunk: bytes) -> list[tuple[int, Any]]:
        """Parse the next chunk; the events it completes, in order."""
        data: bytes | bytearray = chunk
        if self._buffer:
            if self._state == _HEADERS:
                # A bytearray grows in amortised constant time per byte, so a header block sent a
                # byte at a time still costs linear time, not a copy of the block per byte.
                self._buffer += chunk
                data = self._buffer
            else:
                data = self._buffer + chunk
            self._buffer = b""
        events: list[tuple[int, Any]] = []
        separator = self._separator
        position = 0
        size = len(data)
        while position < size:
            state = self._state
            if state == _BODY or state == _PREAMBLE:
                found = data.find(separator, position)
                if found >= 0:
                    if state == _BODY:
                        if found > position:
                            events.append((PART_DATA, data[position:found]))
                        events.append((PART_END, None))
                    position = found + len(separator)
                    self._state = _AFTER_DELIMITER
                    continue
                # Only a CR within the last len(separator) - 1 bytes can start a delimiter cut by the
                # chunk's end: hand out everything before it, keep the rest for the next chunk.
                keep = data.find(b"\r", max(position, size - len(separator) + 1))
                end = size if keep < 0 else keep
                if state == _BODY and end > position:
                    events.append((PART_DATA, data[position:end]))
                if keep >= 0:
                    self._buffer = data[keep:]
                return events
            if state == _AFTER_DELIMITER:
                if size - position < 2:
                    self._buffer = data[position:]
                    return events
                after = data[position : position + 2]
                if after == b"--":
                    self._state = _EPILOGUE
                    return events
                if after != b"\r\n":
                    raise FormError("Malformed multipart body: a boundary must be followed by CRLF or '--'.")
                # The CRLF stays: a header block is then everything up to the first CRLF CRLF,
                # and a part without headers is simply CRLF CRLF.
                self._state = _HEADERS
                self._scanned = 0
                continue
            if state == _HEADERS:
                # Resume the search where the last chunk's ended (less a partial CRLF CRLF).
                end = data.find(b"\r\n\r\n", max(position, position + self._scanned - 3))
                if end < 0:
                    # Held: CRLF, the block so far, and perhaps 3 bytes of its terminator.
                    if size - position - 5 > self._max_header_size:
                        raise self._headers_too_large()
                    if position or not isinstance(data, bytearray):
                        data = bytearray(data[position:])
                    self._buffer = data
                    self._scanned = len(data)
                    return events
                if end - position - 2 > self._max_header_size:
                    raise self._headers_too_large()
                events.append((PART_BEGIN, self._parse_headers(bytes(data[position + 2 : end]))))
                position = end + 4
                self._state = _BODY
                if isinstance(data, bytearray):  # hand out part data as bytes
                    data = bytes(data[position:])
                    size = len(data)
                    position = 0
                continue
            return events  # _EPILOGUE: whatever follows the closing delimiter is ignored
        return events

    def close(self) -> None:
        """Declare the end of the body; raises :class:`FormError` if the form was cut short."""
        if self._state == _PREAMBLE:
            raise FormError("Multipart body does not contain its boundary.")
        if self._state != _EPILOGUE:
            raise FormError("Multipart body ends before its closing boundary ('--' + boundary + '--').")

    def _headers_too_large(self) -> FormTooLarge:
        return FormTooLarge(f"Multipart part headers exceed max_header_size ({self._max_header_size} bytes).")

    def _parse_headers(self, block: bytes) -> list[tuple[bytes, bytes]]:
        if not block:
            return []
        lines = block.split(b"\r\n")
        if len(lines) > self._max_headers:
            raise FormError(f"Multipart part has more than max_part_headers ({self._max_headers}) headers.")
        headers: list[tuple[bytes, bytes]] = []
        for line in lines:
            name, colon, value = line.partition(b":")
            name = name.strip()
            if not colon or not name:
                raise FormError("Malformed multipart part header: expected 'Name: value'.")
            headers.append((name.lower(), value.strip()))
        return headers


class _Part:
    """What the multipart driver knows about the part being read."""

    __slots__ = ("name", "upload", "data", "charset")

    def __init__(self, name: str, upload: UploadFile | None, charset: str) -> None:
        self.name = name
        self.upload = upload
        self.data = bytearray()
        self.charset = charset


async def parse_multipart(
    body: AsyncIterable[bytes] | bytes, content_type: str, limits: FormLimits = DEFAULT_FORM_LIMITS
) -> FormData:
    """Parse a ``multipart/form-data`` body (an async iterable of chunks, or bytes) into a FormData.

    Raises :class:`FormError` (400) or :class:`FormTooLarge` (413) naming the limit broken. On any
    error, cancellation or disconnect, every upload opened so far is closed before re-raising.
    """
    boundary = multipart_boundary(content_type, limits)
    items: list[tuple[str, str | UploadFile]] = []
    try:
        await _parse_multipart_into(items, _chunks(body), boundary, limits)
    except BaseException:
        await _close_uploads(items)
        raise
    return FormData(items)


async def _parse_multipart_into(
    items: list[tuple[str, str | UploadFile]], chunks: AsyncIterable[bytes], boundary: bytes, limits: FormLimits
) -> None:
    parser = MultipartParser(boundary, limits)
    max_field_size = limits.max_field_size
    max_file_size = limits.max_file_size
    memory_left = limits.max_form_memory_size  # for the non-file fields, all together
    fields = files = 0
    part: _Part | None = None
    async for chunk in chunks:
        for kind, payload in parser.feed(chunk):
            if kind == PART_DATA:
                assert part is not None
                upload = part.upload
                if upload is not None:
                    if upload.size + len(payload) > max_file_size:
                        raise FormTooLarge(
                            f"Uploaded file {_shown(part.name)} exceeds max_file_size ({max_file_size} bytes)."
                        )
                    await upload.write(payload)
                else:
                    if len(part.data) + len(payload) > max_field_size:
                        raise FormTooLarge(
                            f"Multipart field {_shown(part.name)} exceeds max_field_size ({max_field_size} bytes)."
                        )
                    memory_left -= len(payload)
                    if memory_left < 0:
                        raise _over_memory_budget(limits)
                    part.data += payload
            elif kind == PART_BEGIN:
                name, filename, raw_headers = _disposition(payload)
                if filename is None:
                    fields += 1
                    if fields > limits.max_fields:
                        raise FormError(f"Form has more than max_fields ({limits.max_fields}) fields.")
                    part = _Part(name, None, _charset(_find(raw_headers, b"content-type")))
                else:
                    files += 1
                    if files > limits.max_files:
                        raise FormError(f"Form has more than max_files ({limits.max_files}) files.")
                    headers = Headers(raw=raw_headers)
                    upload = UploadFile(
                        filename=safe_filename(filename),
                        content_type=headers.get("content-type") or "application/octet-stream",
                        headers=headers,
                        max_memory=limits.spool_max_memory,
                    )
                    # Listed at once, so a failure later in the body still closes it.
                    items.append((name, upload))
                    part = _Part(name, upload, "")
            else:  # PART_END
                assert part is not None
                if part.upload is not None:
                    await part.upload.seek(0)
                else:
                    items.append((part.name, _decode(part.data, part.charset)))
                part = None
    parser.close()


def _over_memory_budget(limits: FormLimits) -> FormTooLarge:
    return FormTooLarge(
        f"Form fields exceed max_form_memory_size ({limits.max_form_memory_size} bytes) together; "
        "raise it with FormLimits(max_form_memory_size=...), or send large values as files."
    )


def _find(raw_headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in raw_headers:
        if key == name:
            return value
    return None


def _disposition(raw_headers: list[tuple[bytes, bytes]]) -> tuple[str, str | None, list[tuple[bytes, bytes]]]:
    """A part's field name and filename (``None`` for a plain field), from Content-Disposition."""
    raw = _find(raw_headers, b"content-disposition") or b""
    # Browsers send names and filenames as raw UTF-8 inside the quotes, not as latin-1.
    disposition, params = parse_content_type(raw.decode("utf-8", errors="replace"))
    if disposition != "form-data" or "name" not in params:
        raise FormError("Multipart part without 'Content-Disposition: form-data; name=\"...\"'.")
    return params["name"], _part_filename(params), raw_headers


def _charset(content_type: bytes | None) -> str:
    if not content_type:
        return "utf-8"
    return parse_content_type(content_type.decode("latin-1"))[1].get("charset", "utf-8")


def _part_filename(params: dict[str, str]) -> str | None:
    """``filename*`` (RFC 5987: ``UTF-8''%e2%82%ac.txt``) when it decodes, else ``filename``."""
    extended = params.get("filename*")
    if extended is not None:
        charset, quote1, rest = extended.partition("'")
        _language, quote2, encoded = rest.partition("'")
        if quote1 and quote2 and charset.lower() in ("utf-8", "iso-8859-1"):
            return unquote(encoded, encoding=charset.lower(), errors="replace")
    return params.get("filename")


def _decode(data: bytearray, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: the form's default, UTF-8
        return data.decode("utf-8", errors="replace")


async def _chunks(body: AsyncIterable[bytes] | bytes) -> AsyncIterator[bytes]:
    if isinstance(body, (bytes, bytearray, memoryview)):
        yield bytes(body)
    else:
        async for chunk in body:
            yield chunk


async def _close_uploads(items: list[tuple[str, str | UploadFile]]) -> None:
    # Shielded: this also runs when the request is being cancelled, and closing a file that went to
    # disk awaits a worker thread; an unshielded await would be cancelled and leak the file.
    with anyio.CancelScope(shield=True):
        for _, value in items:
            if isinstance(value, UploadFile):
                await value.close()


# --- filenames ------------------------------------------------------------------------------------

# Bidirectional-text controls let "evil\u202egpj.exe" display as "evilexe.jpg".
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def safe_filename(filename: str) -> str:
    """The last path component of a client-supplied filename, with nothing that could steer a path.

    ``"../../etc/passwd"`` -> ``"passwd"``, ``"C:\\\\x\\\\y.txt"`` -> ``"y.txt"``; control and
    bidirectional-override characters are dropped, surrounding spaces stripped, and ``"."``/``".."``
    become ``""``. covet never writes to a path made from it; if you do, this is a basename, not a
    permission check.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = _DRIVE_RE.sub("", name)
    name = "".join(
        char for char in name if char not in _BIDI and unicodedata.category(char) != "Cc"
    ).strip()
    return "" if name in (".", "..") else name


# --- urlencoded -----------------------------------------------------------------------------------

_FIELD_RE = re.compile(rb"[^&]+")


class UrlencodedParser:
    """A sans-IO ``application/x-www-form-urlencoded`` parser with the same limits as multipart.

    Only ``&`` separates fields (``;`` is data, as in WHATWG URL and current CPython); ``+`` is a
    space; bad percent escapes or UTF-8 become replacement characters. Empty fields are skipped and
    a field without ``=`` has the value ``""``. ``max_field_size`` bounds a field's encoded
    ``name=value`` text, ``max_form_memory_size`` all of them together and ``max_fields`` their
    number, each checked as chunks arrive.
    """

    __slots__ = ("_pending", "_count", "_max_fields", "_max_field_size", "_memory_left", "_limits")

    def __init__(self, limits: FormLimits = DEFAULT_FORM_LIMITS) -> None:
        self._pending = bytearray()
        self._count = 0
        self._max_fields = limits.max_fields
        self._max_field_size = limits.max_field_size
        self._memory_left = limits.max_form_memory_size
        self._limits = limits

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        """The fields the chunk completes."""
        pending = self._pending
        first = chunk.find(b"&")
        if first < 0:
            self._grow(len(chunk))
            pending += chunk
            return []
        pairs: list[tuple[str, str]] = []
        self._grow(first)
        pending += chunk[:first]
        if pending:
            self._emit(bytes(pending), pairs)
        last = chunk.rfind(b"&")
        # Runs of '&' are skipped in C by the regex, so a body of separators costs next to nothing.
        for match in _FIELD_RE.finditer(chunk, first + 1, last):
            self._emit(match.group(), pairs)
        rest = chunk[last + 1 :]
        self._pending = bytearray()
        self._grow(len(rest))
        self._pending += rest
        return pairs

    def close(self) -> list[tuple[str, str]]:
        """The last field, once the body has ended."""
        pairs: list[tuple[str, str]] = []
        if self._pending:
            self._emit(bytes(self._pending), pairs)
            self._pending = bytearray()
        return pairs

    def _grow(self, extra: int) -> None:
        if len(self._pending) + extra > self._max_field_size:
            raise FormTooLarge(f"Form field exceeds max_field_size ({self._max_field_size} bytes).")

    def _emit(self, field: bytes, pairs: list[tuple[str, str]]) -> None:
        if len(field) > self._max_field_size:
            raise FormTooLarge(f"Form field exceeds max_field_size ({self._max_field_size} bytes).")
        self._count += 1
        if self._count > self._max_fields:
            raise FormError(f"Form has more than max_fields ({self._max_fields}) fields.")
        self._memory_left -= len(field)
        if self._memory_left < 0:
            raise _over_memory_budget(self._limits)
        key, _, value = field.decode("utf-8", errors="replace").partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key, errors="replace")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        pairs.append((key, value))


def parse_urlencoded(body: bytes, limits: FormLimits = DEFAULT_FORM_LIMITS) -> FormData:
    """Parse a whole urlencoded body (see :class:`UrlencodedParser` for the rules)."""
    parser = UrlencodedParser(limits)
    return FormData(parser.feed(body) + parser.close())


async def _parse_urlencoded_stream(chunks: AsyncIterable[bytes], limits: FormLimits) -> FormData:
    parser = UrlencodedParser(limits)
    pairs: list[tuple[str, str]] = []
    async for chunk in chunks:
        pairs += parser.feed(chunk)
    pairs += parser.close()
    return FormData(pairs)


async def parse_form(
    body: AsyncIterable[bytes] | bytes, content_type: str, limits: FormLimits = DEFAULT_FORM_LIMITS
) -> FormData:
    """Parse an urlencoded or multipart body according to ``content_type``.

    An empty content type is read as urlencoded; any other media type raises :class:`FormError`
    with ``status_code`` 415.
    """
    media_type = parse_content_type(content_type)[0]
    if media_type == "multipart/form-data":
        return await parse_multipart(body, content_type, limits)
    if media_type in ("application/x-www-form-urlencoded", ""):
        return await _parse_urlencoded_stream(_chunks(body), limits)
    raise _NotAForm(f"Expected a form body (urlencoded or multipart), got {media_type!r}.")


class _NotAForm(FormError):
    status_code = 415
