"""Response compression: gzip always, Brotli and zstd when ``covet[compress]`` is installed.

The coding is chosen by the request's ``Accept-Encoding`` q-values (RFC 9110 §12.5.3). A body
sent whole is compressed whole; a streaming body is compressed message by message, each one
flushed, so a stream's pieces still arrive as they are made.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

from ..types import ASGIApp, Message, Receive, Scope, Send
from ._asgi import add_vary, declared_length, header

__all__ = ["GZipMiddleware", "choose_encoding", "available_encodings"]

#: Most preferred first: used to break q-value ties.
PREFERENCE = ("zstd", "br", "gzip")
_MAX_ACCEPT_ENCODING = 1024  # characters of Accept-Encoding looked at; the rest is ignored
_CACHE_SIZE = 256  # distinct Accept-Encoding values (and media types) remembered per middleware
_UNSEEN = object()


def available_encodings() -> tuple[str, ...]:
    """The codings this install can produce: ``gzip``, plus ``br`` and ``zstd`` with ``covet[compress]``."""
    found = []
    for name, module in (("zstd", "zstandard"), ("br", "brotli")):
        try:
            __import__(module)
        except ImportError:
            continue
        found.append(name)
    return (*found, "gzip")


def choose_encoding(accept_encoding: str, offered: Sequence[str]) -> str | None:
    """The coding of ``offered`` (most preferred first) the client weights highest, or None.

    ``accept_encoding`` is an ``Accept-Encoding`` value such as ``"gzip;q=0.8, br"``; ``*`` stands
    for any coding not named, ``q=0`` refuses one (RFC 9110 §12.5.3). Only the first 1024
    characters are read, so the work per request is bounded.
    """
    weights: dict[str, float] = {}
    for item in accept_encoding[:_MAX_ACCEPT_ENCODING].split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                quality = float(params[2:].strip())
            except ValueError:
                quality = 0.0
            if not 0.0 <= quality <= 1.0:
                quality = 0.0
        weights.setdefault(name, quality)
    best: str | None = None
    best_quality = 0.0
    for coding in offered:
        quality = weights.get(coding, weights.get("*", 0.0))
        if quality > best_quality:
            best, best_quality = coding, quality
    return best


_compressible: dict[bytes, bool] = {}


def _is_compressible(content_type: bytes | None) -> bool:
    """Whether a body of this ``Content-Type`` is worth compressing (remembered per value)."""
    if content_type is None:
        return False
    known = _compressible.get(content_type)
    if known is None:
        known = _media_is_compressible(content_type)
        if len(_compressible) >= _CACHE_SIZE:
            _compressible.clear()
        _compressible[content_type] = known
    return known


def _media_is_compressible(content_type: bytes) -> bool:
    # Text and structured text compress well; images, archives and media already are compressed.
    media = content_type.partition(b";")[0].strip().lower()
    if media == b"text/event-stream":
        return False  # a stream of events must arrive as sent (and proxies treat it so)
    return (
        media.startswith(b"text/")
        or media.endswith((b"+json", b"+xml", b"/json", b"/xml", b"/javascript", b"/ecmascript"))
        or media in (b"image/svg+xml", b"application/wasm", b"application/x-ndjson", b"application/graphql")
    )


class _Compressor:
    """One response's compressor: ``compress(data)`` then ``finish()``, or ``flush`` per piece."""

    def __init__(self, coding: str, level: dict[str, int]) -> None:
        self.compress: Callable[[bytes], bytes]
        self.flush: Callable[[], bytes]
        self.finish: Callable[[], bytes]
        if coding == "gzip":
            gz: Any = zlib.compressobj(level["gzip"], zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            self.compress = gz.compress
            self.flush = lambda: gz.flush(zlib.Z_SYNC_FLUSH)
            self.finish = gz.flush
        elif coding == "br":
            import brotli  # type: ignore[import-untyped]

            br: Any = brotli.Compressor(quality=level["br"])
            self.compress = br.process
            self.flush = br.flush
            self.finish = br.finish
        else:
            import zstandard

            zs: Any = zstandard.ZstdCompressor(level=level["zstd"]).compressobj()
            self.compress = zs.compress
            self.flush = lambda: zs.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
            self.finish = zs.flush


class GZipMiddleware:
    """Compress responses for clients that accept it: zstd, Brotli or gzip by ``Accept-Encoding``.

    ``minimum_size``: bodies sent whole below this many bytes go out as they are (compression
    would cost more than it saves). ``compresslevel`` (gzip 1-9), ``brotli_quality`` (0-11) and
    ``zstd_level`` (1-22) trade CPU for size. ``encodings``: the codings to offer, most preferred
    first; default every one installed (``pip install covet[compress]`` adds ``br`` and ``zstd``).

    Left as they are: responses that already have a ``Content-Encoding``, ``text/event-stream``,
    partial content (``206`` / ``Content-Range``), ``HEAD`` requests, bodiless statuses and media
    types that are already compressed (images, archives, audio, video, ``octet-stream``). A
    compressed response gets ``Vary: Accept-Encoding`` (the app's other ``Vary`` values are kept),
    its ``ETag`` made weak and ``Accept-Ranges`` dropped (ranges of the uncompressed bytes no
    longer apply). A streaming body (a first message with ``more_body``) is compressed piece by
    piece, each piece flushed.

    Example::

        app.add_middleware(GZipMiddleware, minimum_size=1000)
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 6,
        *,
        brotli_quality: int = 4,
        zstd_level: int = 3,
        encodings: Sequence[str] | None = None,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        installed = available_encodings()
        if encodings is None:
            self.encodings: tuple[str, ...] = installed
        else:
            if isinstance(encodings, str):
                raise TypeError(f"GZipMiddleware encodings= takes a list such as [{encodings!r}].")
            missing = [name for name in encodings if name not in installed]
            if missing:
                raise ValueError(
                    f"GZipMiddleware cannot produce {missing}: this install offers {list(installed)}. "
                    "Brotli ('br') and zstd need: pip install 'covet[compress]'."
                )
            self.encodings = tuple(encodings)
        if not 1 <= compresslevel <= 9:
            raise ValueError(f"GZipMiddleware compresslevel must be 1-9, got {compresslevel!r}.")
        self.levels = {"gzip": compresslevel, "br": brotli_quality, "zstd": zstd_level}
        self._chosen: dict[bytes, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        accept = header(scope["headers"], b"accept-encoding")
        if not accept:
            await self.app(scope, receive, send)
            return
        # Clients send a handful of distinct values: each is parsed once (the cache is bounded,
        # so a client sending a new value per request only costs the parse).
        coding = self._chosen.get(accept, _UNSEEN)
        if coding is _UNSEEN:
            coding = choose_encoding(accept.decode("latin-1"), self.encodings)
            if len(self._chosen) >= _CACHE_SIZE:
                self._chosen.clear()
            self._chosen[accept] = coding
        if coding is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _CompressingSend(send, self, coding))


class _CompressingSend:
    """Holds the response start until the first body message says how to send it."""

    __slots__ = ("send", "middleware", "coding", "start", "compressor", "passthrough")

    def __init__(self, send: Send, middleware: GZipMiddleware, coding: str) -> None:
        self.send = send
        self.middleware = middleware
        self.coding = coding
        self.start: Message | None = None
        self.compressor: _Compressor | None = None
        self.passthrough = False

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            status = message["status"]
            content_type = length = None
            skip = status in (204, 206, 304) or status < 200
            for key, value in message.get("headers", ()):
                if key == b"content-type":
                    content_type = value
                elif key == b"content-length":
                    length = value
                elif key == b"content-encoding" or key == b"content-range":
                    skip = True
            if skip or not _is_compressible(content_type):
                self.passthrough = True
                await self.send(message)
                return
            size = declared_length(length)
            if size is not None and size < self.middleware.minimum_size:
                self.passthrough = True
                await self.send(message)
                return
            self.start = message
            return
        if self.passthrough or kind != "http.response.body":
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        start = self.start
        if start is not None:
            self.start = None
            if not more and len(body) < self.middleware.minimum_size:
                self.passthrough = True
                await self.send(start)
                await self.send(message)
                return
            self.compressor = _Compressor(self.coding, self.middleware.levels)
            if not more:
                data = self.compressor.compress(body) + self.compressor.finish()
                await self.send(self._start(start, len(data)))
                await self.send({"type": "http.response.body", "body": data})
                return
            await self.send(self._start(start, None))
        compressor = self.compressor
        assert compressor is not None
        if more:
            data = compressor.compress(body) + compressor.flush() if body else b""
            if data:
                await self.send({"type": "http.response.body", "body": data, "more_body": True})
        else:
            await self.send({"type": "http.response.body", "body": compressor.compress(body) + compressor.finish()})

    def _start(self, start: Message, length: int | None) -> Message:
        headers = []
        for key, value in start.get("headers", ()):
            if key in (b"content-length", b"accept-ranges"):
                continue
            if key == b"etag" and not value.startswith(b"W/"):
                value = b"W/" + value  # the compressed bytes are not the entity the strong tag named
            headers.append((key, value))
        headers.append((b"content-encoding", self.coding.encode("latin-1")))
        if length is not None:
            headers.append((b"content-length", str(length).encode("latin-1")))
        add_vary(headers, b"Accept-Encoding")
        return {**start, "headers": headers}
