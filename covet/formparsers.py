"""Form body parsers: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Both work on a body that ``Request.body()`` already bounded by ``max_body_size``, and both cap the
number of parts, so a hostile form costs at most linear time in a bounded body.
"""

from __future__ import annotations

import re

from ._parsers_py import ParseError, parse_content_type, parse_query_string
from .datastructures import FormData, Headers, UploadFile

__all__ = ["FormLimits", "parse_urlencoded", "parse_multipart", "safe_filename"]


class FormLimits:
    """Caps on a form's shape; exceeding one is a 400 naming the limit."""

    def __init__(
        self,
        max_fields: int = 1000,
        max_files: int = 1000,
        max_part_headers: int = 16,
        max_header_size: int = 8192,
        max_boundary_length: int = 200,
        spool_max_memory: int = 1024 * 1024,
    ) -> None:
        self.max_fields = max_fields
        self.max_files = max_files
        self.max_part_headers = max_part_headers
        self.max_header_size = max_header_size
        self.max_boundary_length = max_boundary_length
        self.spool_max_memory = spool_max_memory


DEFAULT_LIMITS = FormLimits()
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,200}")


def parse_urlencoded(body: bytes, limits: FormLimits = DEFAULT_LIMITS) -> FormData:
    return FormData(parse_query_string(body, max_fields=limits.max_fields))


def safe_filename(filename: str) -> str:
    """The last path component of a client-supplied filename, without control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char >= " " and char != "\x7f")
    return "" if name in (".", "..") else name


async def parse_multipart(body: bytes, content_type: str, limits: FormLimits = DEFAULT_LIMITS) -> FormData:
    items: list[tuple[str, str | UploadFile]] = []
    try:
        await _parse_multipart_into(items, body, content_type, limits)
    except BaseException:
        # A form refused halfway must not leave the uploads it already spooled open.
        for _, value in items:
            if isinstance(value, UploadFile):
                await value.close()
        raise
    return FormData(items)


async def _parse_multipart_into(
    items: list[tuple[str, str | UploadFile]], body: bytes, content_type: str, limits: FormLimits
) -> None:
    _, params = parse_content_type(content_type)
    boundary = params.get("boundary", "")
    if not boundary:
        raise ParseError("multipart/form-data request without a boundary parameter.")
    if len(boundary) > limits.max_boundary_length or not _BOUNDARY_RE.fullmatch(boundary):
        raise ParseError(
            f"Invalid multipart boundary (at most {limits.max_boundary_length} characters "
            "of letters, digits and '()+_,-./:=? )."
        )
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise ParseError("Multipart body does not contain its boundary.")
    fields = files = 0
    position = start + len(delimiter)
    separator = b"\r\n" + delimiter
    while True:
        if body.startswith(b"--", position):
            break  # closing delimiter
        if not body.startswith(b"\r\n", position):
            raise ParseError("Malformed multipart body: expected CRLF after a boundary.")
        position += 2
        header_end = body.find(b"\r\n\r\n", position, position + limits.max_header_size + 4)
        if header_end < 0:
            raise ParseError(
                f"Multipart part headers are missing or longer than {limits.max_header_size} bytes."
            )
        header_lines = body[position:header_end].split(b"\r\n") if header_end > position else []
        if len(header_lines) > limits.max_part_headers:
            raise ParseError(f"Too many headers in a multipart part: the limit is {limits.max_part_headers}.")
        raw_headers: list[tuple[bytes, bytes]] = []
        for line in header_lines:
            header_name, sep, header_value = line.partition(b":")
            if not sep:
                raise ParseError("Malformed multipart part header (no ':').")
            raw_headers.append((header_name.strip().lower(), header_value.strip()))
        headers = Headers(raw=raw_headers)
        content_start = header_end + 4
        content_end = body.find(separator, content_start)
        if content_end < 0:
            raise ParseError("Multipart body ends before its closing boundary.")
        content = body[content_start:content_end]
        position = content_end + len(separator)
        disposition, disp_params = parse_content_type(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in disp_params:
            raise ParseError("Multipart part without 'Content-Disposition: form-data; name=...'.")
        name = disp_params["name"]
        if "filename" in disp_params:
            files += 1
            if files > limits.max_files:
                raise ParseError(f"Too many files in the form: the limit is {limits.max_files}.")
            upload = UploadFile(
                filename=safe_filename(disp_params["filename"]),
                content_type=headers.get("content-type", "application/octet-stream"),
                headers=headers,
                max_memory=limits.spool_max_memory,
            )
            await upload.write(content)
            await upload.seek(0)
            items.append((name, upload))
        else:
            fields += 1
            if fields > limits.max_fields:
                raise ParseError(f"Too many fields in the form: the limit is {limits.max_fields}.")
            charset = parse_content_type(headers.get("content-type", "text/plain"))[1].get("charset", "utf-8")
            try:
                text = content.decode(charset, errors="replace")
            except LookupError:
                text = content.decode("utf-8", errors="replace")
            items.append((name, text))
