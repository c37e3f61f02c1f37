"""Memory blow-up from small chunks: a body costs memory in proportion to its size, however sent.

A body of N bytes sent as N one-byte messages once cost a list slot and an object per byte (over
a hundred times its size under hypercorn). tracemalloc measures the peak while covet reads it.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from covet.formparsers import parse_form
from covet.requests import Request, read_body

SIZE = 64 * 1024  # bytes, sent one per message
CHUNK = b"x"


def one_byte_messages(count: int) -> Callable[[], Awaitable[dict[str, Any]]]:
    # Messages are made as they are asked for, as a server makes them, so only covet's own
    # accumulation shows in the peak.
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": CHUNK, "more_body": sent < count}

    return receive


def peak_while(run: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    result: list[Any] = []

    async def main() -> None:
        result.append(await run())

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        anyio.run(main)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result[0], peak


def test_memory_blowup_one_byte_chunks_read_body() -> None:
    scope = {"type": "http", "headers": []}
    body, peak = peak_while(lambda: read_body(scope, one_byte_messages(SIZE), None, None))
    assert body == CHUNK * SIZE
    # The growing buffer plus the final bytes copy: about twice the body (a list was ~9 times).
    assert peak < 3 * SIZE, peak


def test_memory_blowup_one_byte_chunks_request_body() -> None:
    async def run() -> bytes:
        request = Request({"type": "http", "headers": [], "method": "POST"}, one_byte_messages(SIZE))
        return await request.body()

    body, peak = peak_while(run)
    assert body == CHUNK * SIZE
    assert peak < 3 * SIZE, peak


def test_memory_blowup_one_byte_chunks_after_is_disconnected() -> None:
    # is_disconnected() keeps a message back; body() then reads chunk by chunk itself.
    async def run() -> bytes:
        request = Request({"type": "http", "headers": [], "method": "POST"}, one_byte_messages(SIZE))
        assert not await request.is_disconnected()
        return await request.body()

    body, peak = peak_while(run)
    assert body == CHUNK * SIZE
    assert peak < 3 * SIZE, peak


def test_memory_blowup_one_byte_chunks_urlencoded_form() -> None:
    size = 16 * 1024

    async def run() -> Any:
        request = Request({"type": "http", "headers": [], "method": "POST"}, one_byte_messages(size))
        return await parse_form(request.stream(), "application/x-www-form-urlencoded")

    form, peak = peak_while(run)
    assert form["x" * size] == ""
    assert peak < 4 * size, peak
