"""Drive an ASGI app with a hand-made scope: for requests no HTTP client would send as written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio

from covet.types import ASGIApp


class RawResponse:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def call(
    app: ASGIApp,
    path: str = "/",
    *,
    method: str = "GET",
    raw_path: bytes | None = None,
    query: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = ((b"host", b"testserver"),),
    chunks: Sequence[bytes] = (b"",),
    root_path: str = "",
) -> RawResponse:
    """One request with exactly these scope values; the body arrives as ``chunks``."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": query,
        "root_path": root_path,
        "headers": list(headers),
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    if raw_path is not None:
        scope["raw_path"] = raw_path
    pending = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        await app(scope, receive, send)

    anyio.run(main)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return RawResponse(start["status"], list(start["headers"]), body)


def run_asgi(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Call ``app`` directly with ``messages`` as what it receives (then nothing, forever); what it sent."""
    sent: list[dict[str, Any]] = []
    incoming = list(messages)

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        with anyio.fail_after(5):
            await app(scope, receive, send)

    anyio.run(main)
    return sent
