"""GZipMiddleware: q-values, minimum size, skips, streaming with flushes, brotli and zstd."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import anyio
import brotli
import pytest
import zstandard

from covet import Covet, EventSourceResponse, Response, StreamingResponse
from covet.middleware import GZipMiddleware
from covet.middleware.gzip import choose_encoding
from covet.testing import TestClient

BIG = "covet " * 400


def make(**options: object) -> TestClient:
    app = Covet()

    @app.get("/big")
    async def big() -> Response:
        return Response(BIG, media_type="text/plain", headers={"etag": '"abc"', "accept-ranges": "bytes"})

    @app.get("/small")
    async def small() -> dict[str, str]:
        return {"a": "b"}

    @app.get("/png")
    async def png() -> Response:
        return Response(b"\x89PNG" * 500, media_type="image/png")

    @app.get("/encoded")
    async def encoded() -> Response:
        return Response(gzip.compress(BIG.encode()), media_type="text/plain", headers={"content-encoding": "gzip"})

    @app.get("/events")
    async def events() -> EventSourceResponse:
        async def gen() -> AsyncIterator[dict[str, str]]:
            for i in range(3):
                yield {"data": f"{i}" * 300}

        return EventSourceResponse(gen())

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"chunk {i};".encode() * 50

        return StreamingResponse(gen(), media_type="text/plain")

    app.add_middleware(GZipMiddleware, **options)
    return TestClient(app)


def test_q_values_choose_encoding() -> None:
    offered = ("zstd", "br", "gzip")
    assert choose_encoding("gzip, br", offered) == "br"
    assert choose_encoding("gzip;q=1, br;q=0.5", offered) == "gzip"
    assert choose_encoding("br;q=0, *", offered) == "zstd"
    assert choose_encoding("*;q=0", offered) is None
    assert choose_encoding("identity", offered) is None
    assert choose_encoding("gzip;q=nonsense", offered) is None
    assert choose_encoding("gzip;q=5", offered) is None


def test_huge_accept_encoding_is_bounded() -> None:
    assert choose_encoding("x," * 1_000_000 + "gzip", ("gzip",)) is None


def test_gzip_whole_body() -> None:
    r = make().get("/big", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["etag"] == 'W/"abc"'
    assert "accept-ranges" not in r.headers
    assert int(r.headers["content-length"]) < len(BIG)
    assert r.text == BIG  # httpx decodes


async def call(app: object, path: str, accept: bytes) -> list[dict[str, object]]:
    """The raw ASGI messages the app sends for ``GET path``."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"t"), (b"accept-encoding", accept)], "scheme": "http", "root_path": "",
    }
    await app(scope, receive, send)  # type: ignore[operator]
    return sent


@pytest.mark.parametrize(
    ("coding", "decode"),
    [("br", brotli.decompress), ("zstd", lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data))],
)
def test_brotli_and_zstd(coding: str, decode: object) -> None:
    app = make().app
    sent = anyio.run(call, app, "/big", coding.encode())
    headers = dict(sent[0]["headers"])  # type: ignore[arg-type]
    assert headers[b"content-encoding"] == coding.encode()
    assert decode(sent[1]["body"]).decode() == BIG  # type: ignore[operator]


def test_small_body_not_compressed() -> None:
    r = make().get("/small", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in r.headers
    assert r.json() == {"a": "b"}


def test_no_accept_encoding_passes_through() -> None:
    r = make().get("/big", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in r.headers and r.text == BIG


def test_skips_already_encoded_images_and_event_streams() -> None:
    client = make()
    r = client.get("/encoded", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.text == BIG  # untouched: decoded once
    assert "content-encoding" not in client.get("/png", headers={"accept-encoding": "gzip"}).headers
    r = client.get("/events", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in r.headers


def test_streaming_is_compressed_incrementally_with_flushes() -> None:
    sent = anyio.run(call, make().app, "/stream", b"gzip")
    headers = dict(sent[0]["headers"])  # type: ignore[arg-type]
    assert headers[b"content-encoding"] == b"gzip"
    assert b"content-length" not in headers
    pieces: list[bytes] = [message["body"] for message in sent[1:]]  # type: ignore[misc]
    assert len(pieces) >= 5
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    # Each piece decodes on its own as it arrives: the stream was flushed per message.
    first = decompressor.decompress(pieces[0])
    assert first.startswith(b"chunk 0;")
    rest = b"".join(decompressor.decompress(piece) for piece in pieces[1:]) + decompressor.flush()
    assert (first + rest).decode() == "".join(f"chunk {i};" * 50 for i in range(5))


def test_head_and_range_responses_untouched() -> None:
    client = make()
    assert "content-encoding" not in client.head("/big", headers={"accept-encoding": "gzip"}).headers


def test_unknown_encoding_option_refused() -> None:
    with pytest.raises(ValueError, match="compress"):
        GZipMiddleware(Covet(), encodings=["lz4"])


def test_accept_encoding_cache_stays_bounded_under_distinct_values() -> None:
    client = make()
    middleware = client.app._freeze()  # the stack: _ServerErrors around GZipMiddleware
    gzip_layer = middleware.app  # type: ignore[attr-defined]
    for i in range(300):
        assert client.get("/big", headers={"accept-encoding": f"gzip, x-{i}"}).headers["content-encoding"] == "gzip"
    assert 0 < len(gzip_layer._chosen) <= 256
