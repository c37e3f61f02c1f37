"""The response family, and the conversion of handler return values into responses.

A response is also an ASGI app: ``await response(scope, receive, send)`` sends it. Headers are kept
as the raw byte pairs ASGI wants, so sending does no per-header re-encoding.
"""

from __future__ import annotations

import email.utils
import functools
import http.cookies
import mimetypes
import os
import re
import secrets
import typing
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, BinaryIO
from urllib.parse import quote

import anyio
import anyio.lowlevel
import anyio.to_thread
import msgspec

from ._files import (
    UNSATISFIABLE,
    content_disposition,
    etag_for,
    multipart_frames,
    not_modified,
    open_regular_file,
    read_at,
    requested_ranges,
)
from ._text import sentence
from .datastructures import MutableHeaders
from .types import Message, Receive, Scope, Send

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
    "redirect",
    "jsonify",
]

#: One shared msgspec encoder: encoders are reusable and cheap to call, not to make.
json_encoder = msgspec.json.Encoder()

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def _wrap_headers(raw: list[tuple[bytes, bytes]]) -> MutableHeaders:
    headers = MutableHeaders.__new__(MutableHeaders)
    headers._raw = raw
    return headers


_CONTENT_TYPES: dict[tuple[str, str], tuple[bytes, bytes]] = {}


def _content_type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    # Cached: the same few media types are encoded for every response.
    header = _CONTENT_TYPES.get((media_type, charset))
    if header is None:
        text = media_type
        if text.startswith("text/") and "charset=" not in text:
            text = f"{text}; charset={charset}"
        header = (b"content-type", text.encode("latin-1"))
        if len(_CONTENT_TYPES) < 256:
            _CONTENT_TYPES[(media_type, charset)] = header
    return header


def status_has_body(status: int) -> bool:
    """Whether a response with this status carries a body (not 1xx, 204 or 304)."""
    return status >= 200 and status != 204 and status != 304


# The Content-Length headers of bodies up to 1 KiB, made once: most responses are that small.
_CONTENT_LENGTHS = [(b"content-length", str(length).encode()) for length in range(1024)]


def _content_length(length: int) -> tuple[bytes, bytes]:
    return _CONTENT_LENGTHS[length] if length < 1024 else (b"content-length", str(length).encode())


class Response:
    """Bytes (or text) with a status and headers.

    Example::

        return Response(b"<svg .../>", media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
    """

    media_type: str | None = None
    charset = "utf-8"
    raw_headers: list[tuple[bytes, bytes]]
    # Worked out once per class, when it is made (see _whole_body_plan): None when the class
    # renders content or builds headers its own way; else its charset and the Content-Type header
    # of its media type (None without one), so that __init__ can do render()'s and
    # _init_headers()'s work for a str or bytes body itself. One class-attribute read instead of
    # four: CPython 3.11 does not specialise them (measured: plaintext 27.4k -> 25.9k instructions).
    _plan: tuple[str, tuple[bytes, bytes] | None] | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plan = _whole_body_plan(cls)

    def __init__(
        self,
        content: Any = b"",
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = background
        plan = self._plan
        kind = type(content)
        if (
            plan is not None
            and media_type is None
            and (kind is str or kind is bytes)
            and not headers
            and status_code >= 200
            and status_code != 204
            and status_code != 304
        ):
            # The usual response: a whole str or bytes body and headers of its own.
            charset, content_type = plan
            body = self.body = content.encode(charset) if kind is str else content
            size = len(body)
            length = _CONTENT_LENGTHS[size] if size < 1024 else _content_length(size)
            self.raw_headers = [length] if content_type is None else [length, content_type]
            return
        if media_type is not None:
            self.media_type = media_type
        self.body = self.render(content)
        self.raw_headers = []
        if headers:
            wrapped = _wrap_headers(self.raw_headers)
            for key, value in headers.items():
                wrapped.append(key, value)
        self._init_headers()

    def render(self, content: Any) -> bytes:
        kind = type(content)
        if kind is bytes:
            return content  # type: ignore[no-any-return]
        if kind is str:
            return content.encode(self.charset)  # type: ignore[no-any-return]
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
        status = self.status_code
        has_body = status_has_body(status)
        media_type = self.media_type
        if not raw:
            # No headers given: nothing to check for, the usual case.
            if has_body:
                raw.append(_content_length(len(self.body)))
            if media_type is not None:
                raw.append(_content_type_header(media_type, self.charset))
            return
        names = {name for name, _ in raw}
        if b"content-length" not in names and has_body:
            raw.append(_content_length(len(self.body)))
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
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header (RFC 6265; SameSite and prefixes from RFC 6265bis).

        ``max_age`` is in seconds; ``expires`` is a datetime, an HTTP date string or seconds from
        now. ``samesite`` is ``"lax"``, ``"strict"``, ``"none"`` or None (no attribute);
        ``partitioned=True`` adds ``Partitioned`` (CHIPS: a third-party cookie kept per top-level
        site). Raises ``ValueError`` for a combination browsers silently drop: ``SameSite=None``
        or ``Partitioned`` without ``secure=True``, a ``__Secure-`` name without ``secure=True``,
        a ``__Host-`` name without ``secure=True``, ``path="/"`` and no ``domain``.
        """
        self.raw_headers.append(
            (
                b"set-cookie",
                _cookie_header(
                    key, value, max_age, expires, path, domain, secure, httponly, samesite, partitioned
                ),
            )
        )

    def delete_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool | None = None,
        httponly: bool = False,
        samesite: str | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Expire a cookie in the browser: pass the attributes it was set with.

        A browser replaces a cookie only with one of the same name, ``path``, ``domain`` (and
        ``partitioned`` jar), and ignores a ``Set-Cookie`` it would refuse as a new cookie, so the
        expiring header must be valid on its own. ``secure=None`` (the default) means
        ``secure=True`` when the cookie needs it: ``samesite="none"``, ``partitioned=True``, or a
        ``__Secure-``/``__Host-`` name. Example::

            response.delete_cookie("__Host-session", samesite="none", partitioned=True)
        """
        if secure is None:
            secure = (
                (samesite is not None and samesite.lower() == "none")
                or partitioned
                or key.startswith(("__Secure-", "__Host-"))
            )
        self.set_cookie(
            key,
            "",
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers[:]})
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
    partitioned: bool = False,
) -> bytes:
    cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
    try:
        cookie[key] = value
    except http.cookies.CookieError:
        raise ValueError(f"Invalid cookie name {key!r}: use letters, digits and !#$%&'*+-.^_`|~") from None
    _check_cookie_prefix(key, path, domain, secure)
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
    header = morsel.OutputString()
    if partitioned:
        # Not a Morsel attribute before Python 3.14: appended by hand (it takes no value).
        if not secure:
            raise ValueError("Browsers reject Partitioned cookies without Secure; pass secure=True.")
        header += "; Partitioned"
    return header.encode("latin-1")


def _check_cookie_prefix(key: str, path: str | None, domain: str | None, secure: bool) -> None:
    """Refuse a ``__Secure-``/``__Host-`` cookie that browsers would drop (RFC 6265bis §4.1.3)."""
    if key.startswith("__Secure-") and not secure:
        raise ValueError(f"Browsers reject a {key!r} cookie without Secure; pass secure=True.")
    if key.startswith("__Host-") and (not secure or path != "/" or domain is not None):
        raise ValueError(
            f"Browsers reject a {key!r} cookie unless it has secure=True, path='/' and no domain; "
            f"got secure={secure!r}, path={path!r}, domain={domain!r}."
        )


def _whole_body_plan(cls: type[Response]) -> tuple[str, tuple[bytes, bytes] | None] | None:
    """``cls._plan`` (see Response): read from the class's media_type and charset as it is made."""
    if cls.render is not Response.render or cls._init_headers is not Response._init_headers:
        return None
    media_type = cls.media_type
    return cls.charset, None if media_type is None else _content_type_header(media_type, cls.charset)


Response._plan = _whole_body_plan(Response)


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


def redirect(location: str, code: int = 302) -> RedirectResponse:
    """Flask's ``redirect``: send the client to ``location`` with status ``code`` (302 Found).

    302 and 303 make a browser follow with GET, which is what a form handler wants after a POST
    (post/redirect/get); use 307 or 308 to keep the method and body. Example::

        @app.post("/items")
        async def create(name: Annotated[str, Form()]):
            return redirect(app.url_for("items"))     # the browser GETs /items
    """
    if isinstance(code, bool) or not isinstance(code, int) or not 300 <= code <= 399:
        raise ValueError(f"redirect() takes a 3xx status code such as 302, 303 or 307, got {code!r}.")
    return RedirectResponse(location, status_code=code)


def jsonify(*args: Any, **kwargs: Any) -> JSONResponse:
    """Flask's ``jsonify``: one value, several (a list) or keywords (an object) as a JSONResponse.

    In covet a handler may return the dict or list itself; this exists so Flask code runs as it
    is. ``jsonify({"a": 1})``, ``jsonify(a=1)`` and ``jsonify(1, 2)`` (``[1, 2]``).
    """
    if args and kwargs:
        raise TypeError("jsonify() takes positional values or keywords, not both (as in Flask).")
    if kwargs:
        return JSONResponse(kwargs)
    return JSONResponse(args[0] if len(args) == 1 else list(args))


ContentStream = Iterable[Any] | AsyncIterable[Any]

_DONE = object()


class _ClientGone(Exception):
    """``send`` failed because the client went away (ASGI 2.4 servers raise OSError there)."""


async def _until_disconnect(receive: Receive, work: Callable[[], Awaitable[None]]) -> bool:
    """Run ``work()`` while listening for ``http.disconnect``; cancel it as soon as that arrives.

    Servers such as hypercorn quietly drop what is sent after the client left, so without this an
    endless stream would run for ever and a large file would be read to its end for nobody.
    Returns True when the client left first. An exception from ``work`` propagates as itself,
    not wrapped in an ExceptionGroup, so error handling and tests see the real error.
    """
    disconnected = False
    error: Exception | None = None

    async def watch(cancel_scope: anyio.CancelScope) -> None:
        nonlocal disconnected
        while True:
            # Request body messages the handler never read are drained and dropped here.
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                cancel_scope.cancel()
                return
            await anyio.lowlevel.checkpoint()  # a receive() that never blocks must not starve the sender

    async with anyio.create_task_group() as group:
        group.start_soon(watch, group.cancel_scope)
        try:
            await work()
        except _ClientGone:
            disconnected = True
        except Exception as exc:
            error = exc
        group.cancel_scope.cancel()
    if error is not None:
        raise error
    return disconnected


def _guard(send: Send) -> Send:
    """``send``, with the OSError an ASGI 2.4 server raises for a vanished client made recognisable."""

    async def guarded(message: Message) -> None:
        try:
            await send(message)
        except OSError:
            raise _ClientGone() from None

    return guarded


class StreamingResponse(Response):
    """A body produced piece by piece by a sync or async iterable of ``bytes``/``str``.

    Each chunk is sent before the next is asked for, so a slow client slows the producer instead
    of piling chunks up in memory. When the client disconnects, iteration stops and the iterator
    is closed (a generator's ``finally`` runs). Sync iterables are advanced in a worker thread,
    one item at a time, so a blocking generator never stalls the event loop.

    Example::

        async def rows():
            yield "id,name\\n"
            async for row in db.fetch("SELECT id, name FROM users"):
                yield f"{row.id},{row.name}\\n"

        return StreamingResponse(rows(), media_type="text/csv")
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

    def _encode(self, item: Any) -> bytes:
        if type(item) is bytes:
            return item
        if isinstance(item, str):
            return item.encode(self.charset)
        if isinstance(item, (bytes, bytearray, memoryview)):
            return bytes(item)
        raise TypeError(
            f"{type(self).__name__} chunks must be bytes or str, got {type(item).__name__} ({item!r:.60}); "
            "encode the items before yielding them."
        )

    async def _produce(self, emit: Callable[[bytes], Awaitable[None]]) -> None:
        """Feed each non-empty encoded chunk to ``emit``; always close the iterator afterwards."""
        content = self.content
        if isinstance(content, AsyncIterable):
            iterator = aiter(content)
            try:
                async for item in iterator:
                    chunk = self._encode(item)
                    if chunk:
                        await emit(chunk)
                    # A generator that never awaits, sent through a server whose send() does not
                    # block (as when the peer is gone), would never let the disconnect watcher run.
                    await anyio.lowlevel.checkpoint()
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    with anyio.CancelScope(shield=True):
                        await aclose()
        elif isinstance(content, (list, tuple)):
            for item in content:  # nothing here can block: no worker thread needed
                chunk = self._encode(item)
                if chunk:
                    await emit(chunk)
        else:
            sync_iterator = iter(content)
            try:
                while True:
                    item = await anyio.to_thread.run_sync(next, sync_iterator, _DONE)
                    if item is _DONE:
                        break
                    chunk = self._encode(item)
                    if chunk:
                        await emit(chunk)
            finally:
                close = getattr(sync_iterator, "close", None)
                if close is not None:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(close)

    async def _send_body(self, send: Send) -> None:
        async def emit(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        await self._produce(emit)
        await send({"type": "http.response.body", "body": b""})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers[:]})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            await _until_disconnect(receive, functools.partial(self._send_body, _guard(send)))
        if self.background is not None:
            await self.background()


class FileResponse(Response):
    """A file from disk, with validators, conditional requests and byte ranges, sent in chunks.

    - ``ETag`` and ``Last-Modified``; ``If-None-Match`` / ``If-Modified-Since`` get ``304``.
    - ``Range`` (with ``If-Range``) gets ``206``: one range as is, several as
      ``multipart/byteranges``; ``416`` when no range overlaps the file. More than 100 ranges, or
      ranges adding up to more than the file, get the whole file instead.
    - ``filename`` adds ``Content-Disposition: attachment`` (RFC 5987 encoded when not ASCII).
    - Read in 64 KiB chunks off the event loop, or handed to the server with
      ``http.response.zerocopysend`` when it offers that extension.

    The file is opened when the response is sent, so a missing file is a 404 then, not an error now.

    Example::

        @app.get("/reports/<int:year>")
        def report(year: int):
            return FileResponse(f"reports/{year}.pdf", filename=f"report {year}.pdf")
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
            self.headers.setdefault("content-disposition", content_disposition(filename))

    def _init_headers(self) -> None:
        StreamingResponse._init_headers(self)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened = await anyio.to_thread.run_sync(open_regular_file, self.path)
        if opened is None:
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        file, info = opened
        try:
            await self._send_file(scope, receive, send, file, info)
        finally:
            file.close()
        if self.background is not None:
            await self.background()

    async def _send_file(
        self, scope: Scope, receive: Receive, send: Send, file: BinaryIO, info: os.stat_result
    ) -> None:
        # Per-send copy: the same response object may be sent more than once.
        headers = _wrap_headers(list(self.raw_headers))
        etag = headers.setdefault("etag", etag_for(info))
        modified = email.utils.formatdate(info.st_mtime, usegmt=True)
        last_modified = headers.setdefault("last-modified", modified)
        headers.setdefault("accept-ranges", "bytes")
        size, status = info.st_size, self.status_code
        ranges = None
        if status == 200:  # a custom status (say, a 404 page) is never revalidated nor sliced
            if not_modified(scope, etag, info.st_mtime):
                raw = [(k, v) for k, v in headers.raw if k not in (b"content-type", b"content-length")]
                await send({"type": "http.response.start", "status": 304, "headers": raw})
                await send({"type": "http.response.body", "body": b""})
                return
            ranges = requested_ranges(scope, etag, last_modified, size)
            if ranges == UNSATISFIABLE:
                await Response(b"", 416, {"content-range": f"bytes */{size}"})(scope, receive, send)
                return
        # (head, offset, count) for each stretch of the file, then what closes the body.
        parts: list[tuple[bytes, int, int]] = [(b"", 0, size)]
        tail = b""
        if isinstance(ranges, list):
            status = 206
            if len(ranges) == 1:
                start, end = ranges[0]
                parts = [(b"", start, end - start + 1)]
                headers["content-range"] = f"bytes {start}-{end}/{size}"
            else:
                boundary = secrets.token_hex(16)
                part_type = headers.get("content-type") or "application/octet-stream"
                heads, tail = multipart_frames(ranges, size, part_type.encode("latin-1"), boundary)
                parts = [(head, start, end - start + 1) for head, (start, end) in zip(heads, ranges)]
                headers["content-type"] = f"multipart/byteranges; boundary={boundary}"
        headers["content-length"] = str(sum(len(head) + count for head, _, count in parts) + len(tail))
        await send({"type": "http.response.start", "status": status, "headers": headers.raw})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        zerocopy = "http.response.zerocopysend" in (scope.get("extensions") or {})
        send_parts = functools.partial(self._send_parts, _guard(send), file, parts, tail, zerocopy)
        await _until_disconnect(receive, send_parts)

    async def _send_parts(
        self, send: Send, file: BinaryIO, parts: list[tuple[bytes, int, int]], tail: bytes, zerocopy: bool
    ) -> None:
        for head, offset, count in parts:
            if head:
                await send({"type": "http.response.body", "body": head, "more_body": True})
            if zerocopy:
                if count:
                    # The server copies straight from the descriptor; closing it stays our job.
                    zerocopy_message = {"type": "http.response.zerocopysend", "file": file, "offset": offset}
                    zerocopy_message.update(count=count, more_body=True)
                    await send(zerocopy_message)
                continue
            while count > 0:
                chunk = await anyio.to_thread.run_sync(read_at, file, offset, min(self.chunk_size, count))
                if not chunk:  # the file shrank while we sent it: end the body rather than hang
                    await send({"type": "http.response.body", "body": b""})
                    return
                offset += len(chunk)
                count -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": tail, "more_body": False})


class ServerSentEvent(msgspec.Struct, omit_defaults=True):
    """One server-sent event; yield these (or plain strings/dicts) from an EventSourceResponse.

    ``data`` that is not a ``str`` is sent as JSON; a multi-line string becomes several ``data:``
    lines, which the browser joins back with newlines. ``retry`` is the reconnection delay in ms.
    """

    data: Any = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.id is not None:
            if "\0" in self.id:
                raise ValueError(f"SSE ids cannot contain NUL (browsers ignore such ids): {self.id!r}")
            lines.append(f"id: {_sse_field(self.id)}")
        if self.event is not None:
            lines.append(f"event: {_sse_field(self.event)}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        if self.data is not None:
            text = self.data if isinstance(self.data, str) else json_encoder.encode(self.data).decode()
            # Only CR, LF and CRLF end a line in an event stream; str.splitlines() would also split
            # on U+2028 and friends (changing the data) and drop a trailing newline.
            lines.extend(f"data: {line}" for line in _SSE_LINES.split(text))
        return ("\n".join(lines) + "\n\n").encode()


_SSE_LINES = re.compile(r"\r\n|\r|\n")
_PING = b": ping\n\n"


def _sse_field(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE id/event fields cannot contain newlines: {value!r}")
    return value


class EventSourceResponse(StreamingResponse):
    """Server-sent events from a (sync or async) iterable of ``ServerSentEvent``, ``str`` or JSON data.

    While no event has been sent for ``ping_interval`` seconds a ``: ping`` comment is, so proxies
    and browsers do not time the connection out (``None`` turns that off). The stream stops, and
    the iterator is closed, when the client disconnects.

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
        *,
        ping_interval: float | None = 15.0,
    ) -> None:
        if ping_interval is not None and not ping_interval > 0:
            raise ValueError(
                f"ping_interval must be a positive number of seconds, got {ping_interval!r}; "
                "pass None to send no keep-alive comments."
            )
        super().__init__(content, status_code, headers, None, background)
        self.ping_interval = ping_interval
        self.headers.setdefault("cache-control", "no-store")
        self.headers.setdefault("x-accel-buffering", "no")

    def _encode(self, item: Any) -> bytes:
        return item.encode() if isinstance(item, ServerSentEvent) else ServerSentEvent(data=item).encode()

    async def _send_body(self, send: Send) -> None:
        interval = self.ping_interval
        if interval is None:
            await super()._send_body(send)
            return
        # Events and pings share the connection: a lock keeps their messages whole and in order.
        lock = anyio.Lock()
        last_sent = anyio.current_time()

        async def emit(chunk: bytes) -> None:
            nonlocal last_sent
            async with lock:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                last_sent = anyio.current_time()

        client_gone = False

        async def keep_alive(cancel_scope: anyio.CancelScope) -> None:
            nonlocal last_sent, client_gone
            try:
                while True:
                    await anyio.sleep(max(last_sent + interval - anyio.current_time(), 0))
                    async with lock:
                        if anyio.current_time() - last_sent >= interval:
                            await send({"type": "http.response.body", "body": _PING, "more_body": True})
                            last_sent = anyio.current_time()
            except _ClientGone:  # reported by the host task, unwrapped, once the group is done
                client_gone = True
                cancel_scope.cancel()

        error: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(keep_alive, group.cancel_scope)
            try:
                await self._produce(emit)
            except Exception as exc:
                error = exc
            async with lock:  # never cut a ping off halfway
                group.cancel_scope.cancel()
        if error is not None:
            raise error
        if client_gone:
            raise _ClientGone()
        await send({"type": "http.response.body", "body": b""})


# --- return value conversion -------------------------------------------------------------------

_JSON_TYPES = (dict, list)


def json_body(value: Any, encode: Callable[[Any], bytes] | None = None) -> bytes | None:
    """The JSON body for the commonest return values, a dict or a ``msgspec.Struct``; else None.

    None also when the encoder refuses the value: :func:`to_response` then explains why. The app
    sends what this returns without making a Response, for handlers nothing else runs after.
    """
    kind = type(value)
    # Structs are recognised by their metaclass: isinstance() with a class whose metaclass is not
    # ``type`` takes CPython's slow path, which cost more than the encoding.
    if kind is dict or type(kind) is _STRUCT_META:
        try:
            return encode(value) if encode is not None else json_encoder.encode(value)
        except TypeError:
            return None
    return None


_STRUCT_META = type(msgspec.Struct)


def json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    """The headers of a JSON response with ``body`` and no other headers."""
    return [_content_length(len(body)), _JSON_CONTENT_TYPE]


def to_response(value: Any, status_code: int | None, encode: Callable[[Any], bytes] | None = None) -> Response:
    """Turn whatever a handler returned into a Response, following the table in API.md."""
    body = json_body(value, encode)
    if body is not None:
        return _json_response(body, 200 if status_code is None else status_code, None)
    return other_response(value, status_code, encode)


def other_response(value: Any, status_code: int | None, encode: Callable[[Any], bytes] | None = None) -> Response:
    """:func:`to_response` for a value :func:`json_body` already returned None for."""
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
            f"{sentence(exc)} Return a dict, list, msgspec.Struct, dataclass, str, bytes, None or a Response."
        ) from None
    return _json_response(body, status, headers)


def _json_response(body: bytes, status: int, headers: Mapping[str, str] | None) -> Response:
    # Built field by field: the common case (no extra headers, a status with a body) needs
    # neither __init__'s render() nor _init_headers()' checks.
    response = Response.__new__(JSONResponse)
    response.status_code = status
    response.background = None
    has_body = status_has_body(status)
    response.body = body if has_body else b""  # a 204 or 304 sends none, whatever was returned
    if headers or not has_body:
        response.raw_headers = []
        if headers:
            _wrap_headers(response.raw_headers).update(headers)
        response._init_headers()
    else:
        response.raw_headers = json_headers(body)
    return response


_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


_TUPLE_SHAPES = (
    "return (body, status), (body, status, headers) or (body, headers), where status is an int "
    "from 100 to 599 and headers a dict or a list of (name, value) pairs"
)


def _tuple_response(
    value: tuple[Any, ...], status_code: int | None, encode: Callable[[Any], bytes] | None
) -> Response:
    # Flask's rules: (body, status), (body, status, headers) or (body, headers).
    if len(value) == 3:
        body, status, headers = value
    elif len(value) == 2:
        body, second = value
        if isinstance(second, int) and not isinstance(second, bool):
            status, headers = second, None
        else:
            status, headers = status_code, second
    else:
        raise TypeError(f"A handler returned a tuple of {len(value)} items; {_TUPLE_SHAPES}.")
    if len(value) == 3 and (isinstance(status, bool) or not isinstance(status, int)):
        raise TypeError(
            f"A handler returned {_shown_tuple(value)}, whose second item {status!r} is not a status; "
            f"{_TUPLE_SHAPES}."
        )
    if status is not None and not 100 <= status <= 599:
        raise TypeError(f"A handler returned the status {status!r}; {_TUPLE_SHAPES}.")
    if headers is not None and not isinstance(headers, Mapping):
        headers = _header_pairs(headers, value)
    response = _body_response(body, status, headers, encode)
    if isinstance(body, Response) and status is not None:
        response.status_code = status
    return response


def _shown_tuple(value: tuple[Any, ...]) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _header_pairs(headers: Any, value: tuple[Any, ...]) -> dict[str, str]:
    """Headers given as (name, value) pairs; anything else is a TypeError naming the shapes."""
    if not isinstance(headers, (str, bytes)) and isinstance(headers, Iterable):
        pairs = list(headers)
        if all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs):
            return dict(pairs)
    raise TypeError(
        f"A handler returned {_shown_tuple(value)}, whose last item {headers!r} is neither a status "
        f"nor headers; {_TUPLE_SHAPES}."
    )
