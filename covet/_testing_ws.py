"""WebSocket sessions for the test clients: one connection to an ASGI app, in process.

The app runs as a task fed by two memory streams, exactly as a server would drive it (ASGI
WebSocket spec 2.4, with the ``websocket.http.response`` extension offered). ``covet.testing``
wraps :class:`_Channel` twice: synchronously through the client's blocking portal, and for
``AsyncTestClient`` directly.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
import httpx
import msgspec

from ._parsing import decode_path
from .types import ASGIApp, Message
from .websockets import WebSocketDisconnect

__all__ = ["WebSocketRejected", "WebSocketTestSession", "AsyncWebSocketTestSession", "websocket_scope"]

#: Seconds the client waits for the app to end after the connection closed, before calling it hung.
_APP_END_TIMEOUT = 10.0


class WebSocketRejected(Exception):
    """The app refused the handshake.

    ``status_code`` is the HTTP status the client got: the app's own (``websocket.http.response``,
    e.g. 401 from an ``HTTPException``), or 403 when it closed before accepting, as servers answer.
    ``close_code`` / ``reason`` are the close frame's when it closed (else None / ""); ``body`` and
    ``headers`` the HTTP response's when it sent one.
    """

    def __init__(
        self,
        status_code: int,
        close_code: int | None = None,
        reason: str = "",
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status_code = status_code
        self.close_code = close_code
        self.reason = reason
        self.body = body
        self.headers = httpx.Headers(headers or [])
        super().__init__(status_code, close_code, reason)

    def json(self) -> Any:
        """The refusal's body decoded as JSON."""
        return msgspec.json.decode(self.body)

    def __str__(self) -> str:
        if self.close_code is not None:
            return f"WebSocket handshake refused: closed with {self.close_code} {self.reason!r} (HTTP {self.status_code})"
        return f"WebSocket handshake refused with HTTP {self.status_code}: {self.body[:200]!r}"


def websocket_scope(
    request: httpx.Request,
    subprotocols: list[str] | None,
    root_path: str,
    state: dict[str, Any],
    client: tuple[str, int],
) -> dict[str, Any]:
    """The ASGI scope a server would make for ``request`` as a WebSocket handshake."""
    url = request.url
    scheme = {"https": "wss", "http": "ws"}.get(url.scheme, url.scheme)
    port = url.port or (443 if scheme == "wss" else 80)
    raw_path = url.raw_path.split(b"?", 1)[0]
    headers = [(key.lower(), value) for key, value in request.headers.raw]
    headers += [
        (b"connection", b"upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ]
    if subprotocols:
        headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": scheme,
        "path": decode_path(raw_path),
        "raw_path": raw_path,
        "query_string": url.query,
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": (url.host, port),
        "subprotocols": list(subprotocols or ()),
        "state": dict(state),
        "extensions": {"websocket.http.response": {}},
    }


class _Channel:
    """The app side of one test connection, spoken to through ``connect``/``send``/``receive``."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], raise_server_exceptions: bool) -> None:
        self.app = app
        self.scope = scope
        self.raise_server_exceptions = raise_server_exceptions
        self.to_app, self.app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self.app_outbox, self.from_app = anyio.create_memory_object_stream[Message](math.inf)
        self.done = anyio.Event()
        self.error: BaseException | None = None
        self.cancel_scope: anyio.CancelScope | None = None
        self.closed = False  # a close has been sent or received
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []

    async def run_app(self) -> None:
        async def receive() -> Message:
            try:
                return await self.app_inbox.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return {"type": "websocket.disconnect", "code": 1006, "reason": ""}

        async def send(message: Message) -> None:
            if message["type"] not in (
                "websocket.accept",
                "websocket.send",
                "websocket.close",
                "websocket.http.response.start",
                "websocket.http.response.body",
            ):
                raise RuntimeError(f"The app sent {message['type']!r} on a WebSocket connection.")
            if self.closed and message["type"] == "websocket.send":
                raise OSError("The client has closed the connection.")
            await self.app_outbox.send(dict(message))

        try:
            with anyio.CancelScope() as self.cancel_scope:
                await self.app(self.scope, receive, send)
        except Exception as exc:
            self.error = exc
        finally:
            self.app_outbox.close()
            self.done.set()

    async def _next(self) -> Message:
        try:
            return await self.from_app.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            await self.done.wait()
            if self.error is not None and self.raise_server_exceptions:
                raise self.error from None
            self.closed = True
            raise WebSocketDisconnect(1006, "the app ended without closing the connection") from None

    async def connect(self) -> None:
        await self.to_app.send({"type": "websocket.connect"})
        message = await self._next()
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.extra_headers = [(bytes(k), bytes(v)) for k, v in message.get("headers") or ()]
            return
        self.closed = True
        if kind == "websocket.close":
            raise WebSocketRejected(403, message.get("code", 1000), message.get("reason") or "")
        if kind == "websocket.http.response.start":
            status = message["status"]
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers") or ()]
            chunks: list[bytes] = []
            while True:
                body = await self._next()
                chunks.append(bytes(body.get("body", b"")))
                if not body.get("more_body", False):
                    break
            raise WebSocketRejected(status, None, "", b"".join(chunks), headers)
        raise RuntimeError(f"The app answered the handshake with {kind!r}.")

    async def send(self, message: Message) -> None:
        if self.closed:
            raise RuntimeError("The WebSocket is closed; nothing more can be sent.")
        await self.to_app.send(message)

    async def receive(self) -> Message:
        if self.closed and self.done.is_set() and not self.from_app.statistics().current_buffer_used:
            raise RuntimeError("The WebSocket is closed; nothing more can be received.")
        message = await self._next()
        if message["type"] == "websocket.close":
            self.closed = True
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            await self.to_app.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def finish(self) -> None:
        """Close from the client side if still open, then wait for the app to end (or call it hung)."""
        try:
            await self.close()
            with anyio.move_on_after(_APP_END_TIMEOUT):
                await self.done.wait()
            if not self.done.is_set():
                assert self.cancel_scope is not None
                self.cancel_scope.cancel()
                await self.done.wait()
                raise RuntimeError(
                    f"The app kept running {_APP_END_TIMEOUT:g} s after the WebSocket closed; a handler "
                    "must return once receive_*() raises WebSocketDisconnect."
                )
        finally:
            for stream in (self.to_app, self.app_inbox, self.from_app):
                stream.close()
        if self.error is not None and self.raise_server_exceptions:
            error, self.error = self.error, None
            raise error


def _text(message: Message) -> str:
    text = message.get("text")
    if text is None:
        raise TypeError(f"Expected a text message, got bytes: {message.get('bytes')!r:.80}")
    return text  # type: ignore[no-any-return]


def _bytes(message: Message) -> bytes:
    data = message.get("bytes")
    if data is None:
        raise TypeError(f"Expected a binary message, got text: {message.get('text')!r:.80}")
    return data  # type: ignore[no-any-return]


class AsyncWebSocketTestSession:
    """The client end of a test connection (``AsyncTestClient.websocket_connect``); all methods await.

    ``receive_*`` raise :class:`~covet.WebSocketDisconnect` when the app closes the connection.
    """

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._channel.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers the app added to the handshake response (``accept(headers=...)``)."""
        return self._channel.extra_headers

    async def send(self, message: Message) -> None:
        await self._channel.send(message)

    async def send_text(self, data: str) -> None:
        await self._channel.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self._channel.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        encoded = msgspec.json.encode(data)
        if mode == "text":
            await self.send_text(encoded.decode("utf-8"))
        else:
            await self.send_bytes(encoded)

    async def receive(self) -> Message:
        return await self._channel.receive()

    async def receive_text(self) -> str:
        return _text(await self._channel.receive())

    async def receive_bytes(self) -> bytes:
        return _bytes(await self._channel.receive())

    async def receive_json(self, mode: str = "text") -> Any:
        message = await self._channel.receive()
        return msgspec.json.decode(_text(message) if mode == "text" else _bytes(message))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._channel.close(code, reason)


class WebSocketTestSession:
    """The client end of a test connection (``TestClient.websocket_connect``), synchronous.

    ``receive_*`` raise :class:`~covet.WebSocketDisconnect` when the app closes the connection.
    """

    def __init__(self, channel: _Channel, portal: anyio.from_thread.BlockingPortal) -> None:
        self._async = AsyncWebSocketTestSession(channel)
        self._portal = portal

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._async.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        return self._async.extra_headers

    def send(self, message: Message) -> None:
        self._portal.call(self._async.send, message)

    def send_text(self, data: str) -> None:
        self._portal.call(self._async.send_text, data)

    def send_bytes(self, data: bytes) -> None:
        self._portal.call(self._async.send_bytes, data)

    def send_json(self, data: Any, mode: str = "text") -> None:
        self._portal.call(self._async.send_json, data, mode)

    def receive(self) -> Message:
        return self._portal.call(self._async.receive)

    def receive_text(self) -> str:
        return self._portal.call(self._async.receive_text)

    def receive_bytes(self) -> bytes:
        return self._portal.call(self._async.receive_bytes)

    def receive_json(self, mode: str = "text") -> Any:
        return self._portal.call(self._async.receive_json, mode)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._portal.call(self._async.close, code, reason)
