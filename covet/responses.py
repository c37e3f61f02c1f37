"""The response family, and the conversion of handler return values into responses.

A response is also an ASGI app: ``await response(scope, receive, send)`` sends it. Headers are kept
as the raw byte pairs ASGI wants, so sending does no per-header re-encoding.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import http.cookies
import mimetypes
import os
import stat
import typing
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import anyio
import anyio.to_thread
import msgspec

from .datastructures import MutableHeaders
from .types import Receive, Scope, Send

if typing.TYPE_CHECKING:
    from .background import BackgroundTasks

__all__ = [
    "Response",
    "JSONResponse",
    "HTMLResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "StreamingResponse",
    "FileResponse",
    "EventSourceResponse",
    "ServerSentEvent",
    "json_encoder",
]

#: One shared msgspec encoder: encoders are reusable and cheap to call, not to make.
json_encoder = msgspec.json.Encoder()

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def _wrap_headers(raw: list[tuple[bytes, bytes]]) -> MutableHeaders:
    headers = MutableHeaders.__new__(MutableHeaders)
    headers._raw = raw
    return headers


@functools.lru_cache(maxsize=256)
def _content_type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    # Cached: the same few media types are encoded for every response.
    if media_type.startswith("text/") and "charset=" not in media_type:
        media_type = f"{media_type}; charset={charset}"
    return (b"content-type", media_type.encode("latin-1"))


class Response:
    """Bytes (or text) with a status and headers.

    Example::

        return Response(b"<svg .../>", media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = b"",
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.raw_headers: list[tuple[bytes, bytes]] = []
        if headers:
            wrapped = _wrap_headers(self.raw_headers)
            for key, value in headers.items():
                wrapped.append(key, value)
        self._init_headers()

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} content must be bytes or str, got {type(content).__name__}; "
            "use JSONResponse for data."
        )

    def _init_headers(self) -> None:
        raw = self.raw_headers
        names = {name for name, _ in raw} if raw else ()
        status = self.status_code
        if b"content-length" not in names and status >= 200 and status != 204 and status != 304:
            raw.append((b"content-length", str(len(self.body)).encode()))
        media_type = self.media_type
        if media_type is not None and b"content-type" not in names:
            raw.append(_content_type_header(media_type, self.charset))

    @property
    def headers(self) -> MutableHeaders:
        return _wrap_headers(self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        """Add a ``Set-Cookie`` header. ``samesite`` is ``"lax"``, ``"strict"``, ``"none"`` or None."""
        self.raw_headers.append(
            (
                b"set-cookie",
                _cookie_header(key, value, max_age, expires, path, domain, secure, httponly, samesite),
            )
        )

    def delete_cookie(self, key: str, path: str = "/", domain: str | None = None) -> None:
        """Expire a cookie in the browser (same ``path``/``domain`` as when it was set)."""
        self.set_cookie(key, "", max_age=0, expires=0, path=path, domain=domain)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})
        if self.background is not None:
            await self.background()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code})"


def _cookie_header(
    key: str,
    value: str,
    max_age: int | None,
    expires: datetime | str | int | None,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
) -> bytes:
    cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
    try:
        cookie[key] = value
    except http.cookies.CookieError:
        raise ValueError(f"Invalid cookie name {key!r}: use letters, digits and !#$%&'*+-.^_`|~") from None
    morsel = cookie[key]
    if max_age is not None:
        morsel["max-age"] = str(int(max_age))
    if expires is not None:
        if isinstance(expires, datetime):
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
            morsel["expires"] = email.utils.format_datetime(expires.astimezone(timezone.utc), usegmt=True)
        elif isinstance(expires, int):
            morsel["expires"] = expires  # SimpleCookie renders seconds-from-now as a date
        else:
            morsel["expires"] = expires
    if path is not None:
        morsel["path"] = path
    if domain is not None:
        morsel["domain"] = domain
    if secure:
        morsel["secure"] = True
    if httponly:
        morsel["httponly"] = True
    if samesite is not None:
        if samesite.lower() not in _SAMESITE:
            raise ValueError(f"samesite must be 'lax', 'strict' or 'none', got {samesite!r}")
        if samesite.lower() == "none" and not secure:
            raise ValueError("Browsers reject SameSite=None cookies without Secure; pass secure=True.")
        morsel["samesite"] = _SAMESITE[samesite.lower()]
    return morsel.OutputString().encode("latin-1")


class HTMLResponse(Response):
    media_type = "text/html"


class PlainTextResponse(Response):
    media_type = "text/plain"


class JSONResponse(Response):
    """Data encoded as JSON by msgspec (dicts, lists, Structs, dataclasses, datetimes, UUIDs...)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_encoder.encode(content)


class RedirectResponse(Response):
    """Send the client elsewhere; ``307`` keeps the method and body (use 303 after a POST form)."""

    def __init__(
        self,
        url: str,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        super().__init__(b"", status_code=status_code, headers=headers, background=background)
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;~")


ContentStream = Iterable[Any] | AsyncIterable[Any]


class StreamingResponse(Response):
    """A body produced piece by piece by a sync or async iterable of ``bytes``/``str``.

    Sync iterables are advanced in a worker thread, so a blocking generator never stalls the loop.
    """

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.content = content
        super().__init__(b"", status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        return b""

    def _init_headers(self) -> None:
        media_type = self.media_type
        if media_type is not None and b"content-type" not in {n for n, _ in self.raw_headers}:
            if media_type.startswith("text/") and "charset=" not in media_type:
                media_type = f"{media_type}; charset={self.charset}"
            self.raw_headers.append((b"content-type", media_type.encode("latin-1")))

    async def _chunks(self) -> typing.AsyncIterator[bytes]:
        content = self.content
        if isinstance(content, AsyncIterable):
            async for chunk in content:
                yield chunk if isinstance(chunk, bytes) else str(chunk).encode(self.charset)
        else:
            iterator = iter(content)
            done = object()
            while True:
                chunk = await anyio.to_thread.run_sync(next, iterator, done)
                if chunk is done:
                    break
                yield chunk if isinstance(chunk, bytes) else str(chunk).encode(self.charset)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if scope.get("method") != "HEAD":
            async for chunk in self._chunks():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await self.background()


class FileResponse(Response):
    """A file from disk, sent in chunks, with ``ETag``/``Last-Modified`` and ``304`` revalidation.

    ``filename`` adds ``Content-Disposition: attachment`` (RFC 5987 encoded). The file is opened
    when the response is sent, so a missing file is a 404 then rather than an error now.
    """

    chunk_size = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        filename: str | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.filename = filename
        if media_type is None:
            media_type = mimetypes.guess_type(filename or self.path)[0] or "application/octet-stream"
        super().__init__(b"", status_code, headers, media_type, background)
        if filename is not None:
            quoted = quote(filename, safe="")
            ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
            disposition = f'attachment; filename="{ascii_name}"'
            if quoted != filename:
                disposition += f"; filename*=utf-8''{quoted}"
            self.headers.setdefault("content-disposition", disposition)

    def _init_headers(self) -> None:
        StreamingResponse._init_headers(self)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            info = await anyio.to_thread.run_sync(os.stat, self.path)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        headers = self.headers
        etag = '"' + hashlib.md5(f"{info.st_mtime_ns}-{info.st_size}".encode(), usedforsecurity=False).hexdigest() + '"'
        headers.setdefault("etag", etag)
        headers.setdefault("last-modified", email.utils.formatdate(info.st_mtime, usegmt=True))
        headers.setdefault("accept-ranges", "bytes")
        if _not_modified(scope, etag, info.st_mtime):
            raw = [(k, v) for k, v in self.raw_headers if k not in (b"content-type", b"content-length")]
            await send({"type": "http.response.start", "status": 304, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return
        start, remaining, status = 0, info.st_size, self.status_code
        byte_range = _requested_range(scope, etag, headers["last-modified"], info.st_size) if status == 200 else None
        if byte_range == "unsatisfiable":
            await Response(b"", 416, {"content-range": f"bytes */{info.st_size}"})(scope, receive, send)
            return
        if isinstance(byte_range, tuple):
            start, end = byte_range
            remaining, status = end - start + 1, 206
            headers["content-range"] = f"bytes {start}-{end}/{info.st_size}"
        headers["content-length"] = str(remaining)
        await send({"type": "http.response.start", "status": status, "headers": self.raw_headers})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            async with await anyio.open_file(self.path, "rb") as file:
                if start:
                    await file.seek(start)
                while remaining > 0:
                    chunk = await file.read(min(self.chunk_size, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
                if remaining > 0:  # the file shrank while we sent it: end the body cleanly
                    await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await self.background()


def _request_headers(scope: Scope, *names: bytes) -> list[str | None]:
    """The first value of each named request header (lower-case bytes), or None."""
    found: list[str | None] = [None] * len(names)
    for key, value in scope.get("headers", ()):
        if key in names:
            index = names.index(key)
            if found[index] is None:
                found[index] = value.decode("latin-1")
    return found


def _requested_range(scope: Scope, etag: str, last_modified: str, size: int) -> tuple[int, int] | str | None:
    """The one byte range asked for, ``"unsatisfiable"``, or None to send the whole file.

    Several ranges, a malformed header or a stale ``If-Range`` all get the whole file, which is
    always a correct answer to a range request.
    """
    if scope.get("method") not in ("GET", "HEAD"):
        return None
    range_header, if_range = _request_headers(scope, b"range", b"if-range")
    if if_range is not None:
        if_range = if_range.strip()
    if range_header is None or (if_range is not None and if_range not in (etag, last_modified)):
        return None
    unit, _, spec = range_header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end


def _not_modified(scope: Scope, etag: str, mtime: float) -> bool:
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    if_none_match, if_modified_since = _request_headers(scope, b"if-none-match", b"if-modified-since")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if if_modified_since is not None:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return int(mtime) <= since.timestamp()
    return False


class ServerSentEvent(msgspec.Struct, omit_defaults=True):
    """One server-sent event; yield these (or plain strings/dicts) from an EventSourceResponse."""

    data: Any = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.id is not None:
            lines.append(f"id: {_sse_field(self.id)}")
        if self.event is not None:
            lines.append(f"event: {_sse_field(self.event)}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        if self.data is not None:
            text = self.data if isinstance(self.data, str) else json_encoder.encode(self.data).decode()
            lines.extend(f"data: {line}" for line in text.splitlines() or [""])
        return ("\n".join(lines) + "\n\n").encode()


def _sse_field(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE id/event fields cannot contain newlines: {value!r}")
    return value


class EventSourceResponse(StreamingResponse):
    """Server-sent events from an async iterable of ``ServerSentEvent``, ``str`` or JSON data.

    Example::

        async def ticks():
            for n in range(3):
                yield ServerSentEvent(data={"n": n}, event="tick")
        return EventSourceResponse(ticks())
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        super().__init__(self._events(content), status_code, headers, None, background)
        self.headers.setdefault("cache-control", "no-store")
        self.headers.setdefault("x-accel-buffering", "no")

    @staticmethod
    async def _events(content: ContentStream) -> typing.AsyncIterator[bytes]:
        if isinstance(content, AsyncIterable):
            async for item in content:
                yield _encode_event(item)
        else:
            for item in content:
                yield _encode_event(item)


def _encode_event(item: Any) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    return ServerSentEvent(data=item).encode()


# --- return value conversion -------------------------------------------------------------------

_JSON_TYPES = (dict, list)


def to_response(value: Any, status_code: int | None, encode: Callable[[Any], bytes] | None = None) -> Response:
    """Turn whatever a handler returned into a Response, following the table in API.md."""
    if type(value) is dict:
        # The commonest return value, straight to JSON (encode errors still explain themselves below).
        try:
            body = encode(value) if encode is not None else json_encoder.encode(value)
        except TypeError:
            return _body_response(value, status_code, None, encode)
        return _json_response(body, 200 if status_code is None else status_code, None)
    if isinstance(value, Response):
        return value
    if isinstance(value, tuple):
        return _tuple_response(value, status_code, encode)
    return _body_response(value, status_code, None, encode)


def _body_response(
    value: Any,
    status_code: int | None,
    headers: Mapping[str, str] | None,
    encode: Callable[[Any], bytes] | None,
) -> Response:
    if value is None:
        if status_code is None or status_code == 204:
            return Response(b"", 204, headers)
        return Response(b"", status_code, headers)
    status = 200 if status_code is None else status_code
    if isinstance(value, str):
        return HTMLResponse(value, status, headers)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Response(bytes(value), status, headers, "application/octet-stream")
    if isinstance(value, Response):
        if headers:
            value.headers.update(headers)
        value.status_code = status if status_code is not None else value.status_code
        return value
    try:
        body = encode(value) if encode is not None else json_encoder.encode(value)
    except TypeError as exc:
        raise TypeError(
            f"Cannot turn a handler's return value of type {type(value).__name__} into a response: "
            f"{exc}. Return a dict, list, msgspec.Struct, dataclass, str, bytes, None or a Response."
        ) from None
    return _json_response(body, status, headers)


def _json_response(body: bytes, status: int, headers: Mapping[str, str] | None) -> Response:
    # Built field by field: the common case (no extra headers, a status with a body) needs
    # neither __init__'s render() nor _init_headers()' checks.
    response = Response.__new__(JSONResponse)
    response.status_code = status
    response.background = None
    response.body = body
    if headers or status < 200 or status in (204, 304):
        response.raw_headers = []
        if headers:
            _wrap_headers(response.raw_headers).update(headers)
        response._init_headers()
    else:
        response.raw_headers = [(b"content-length", str(len(body)).encode()), _JSON_CONTENT_TYPE]
    return response


_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


def _tuple_response(
    value: tuple[Any, ...], status_code: int | None, encode: Callable[[Any], bytes] | None
) -> Response:
    # Flask's rules: (body, status), (body, status, headers) or (body, headers).
    if len(value) == 3:
        body, status, headers = value
    elif len(value) == 2:
        body, second = value
        if isinstance(second, int):
            status, headers = second, None
        else:
            status, headers = status_code, second
    else:
        raise TypeError(
            f"A handler returned a tuple of {len(value)} items; return (body, status), "
            "(body, status, headers) or (body, headers)."
        )
    if headers is not None and not isinstance(headers, Mapping):
        headers = dict(headers)
    response = _body_response(body, status, headers, encode)
    if isinstance(body, Response) and status is not None:
        response.status_code = status
    return response
