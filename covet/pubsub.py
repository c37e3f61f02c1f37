"""Publish/subscribe across tasks, workers and machines: ``Broadcast("memory://" | "redis://...")``.

``memory://`` delivers within one process (one worker). ``redis://`` uses Redis pub/sub
(https://redis.io/docs/latest/develop/interact/pubsub/), so every worker and machine connected to
the same Redis sees every message: that is how a chat served by ``covet run --workers 4`` reaches
clients connected to different workers. Delivery is at most once, as Redis pub/sub itself: a
subscriber that is not subscribed when a message is published does not get it.

Each subscriber has a bounded queue (``max_queue_size`` messages). Overflow policy: when a
subscriber falls that far behind, its subscription ends: iterating it yields what is queued, then
raises :class:`SubscriberOverflow`. A WebSocket handler then closes the socket and the client
reconnects, instead of the server holding messages for a reader that cannot keep up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

if TYPE_CHECKING:
    from .app import Covet

__all__ = ["Broadcast", "Event", "Subscriber", "SubscriberOverflow"]

logger = logging.getLogger("covet.pubsub")


class Event:
    """One published message: ``channel`` and ``message`` (text)."""

    __slots__ = ("channel", "message")

    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and (self.channel, self.message) == (other.channel, other.message)

    def __repr__(self) -> str:
        return f"Event(channel={self.channel!r}, message={self.message!r})"


class SubscriberOverflow(Exception):
    """A subscriber fell ``max_queue_size`` messages behind; its subscription has ended."""


class Subscriber:
    """One subscription: ``async for event in subscriber`` or ``await subscriber.get()``."""

    def __init__(self, channel: str, max_queue_size: int) -> None:
        self.channel = channel
        self.max_queue_size = max_queue_size
        self._queue: deque[Event] = deque()
        self._ready = anyio.Event()
        self._ended: BaseException | None = None

    def _put(self, event: Event) -> None:
        if self._ended is not None:
            return
        if len(self._queue) >= self.max_queue_size:
            self._end(SubscriberOverflow(
                f"Subscriber to {self.channel!r} fell {self.max_queue_size} messages behind; the "
                "subscription has ended (raise max_queue_size, or read faster)."
            ))
            return
        self._queue.append(event)
        self._ready.set()

    def _end(self, error: BaseException) -> None:
        if self._ended is None:
            self._ended = error
            self._ready.set()

    async def get(self) -> Event:
        """The next event; raises :class:`SubscriberOverflow` (or the backend's error) once ended."""
        while not self._queue:
            if self._ended is not None:
                raise self._ended
            self._ready = anyio.Event()
            await self._ready.wait()
        return self._queue.popleft()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.get()
        except _Closed:
            raise StopAsyncIteration from None


class _Closed(Exception):
    """The broadcast was disconnected: iteration ends."""


class Broadcast:
    """Publish text messages to channels; subscribe to them.

    Example::

        broadcast = Broadcast("redis://127.0.0.1:6379")   # or "memory://" (the default)
        broadcast.init_app(app)                           # connect at startup, disconnect at shutdown

        @app.websocket("/chat")
        async def chat(websocket: WebSocket):
            await websocket.accept()
            async with broadcast.subscribe("chat") as subscriber:
                async for event in subscriber:
                    await websocket.send_text(event.message)

    ``max_queue_size``: messages a subscriber may fall behind before its subscription ends
    (:class:`SubscriberOverflow`). Redis needs ``pip install 'covet[redis]'``.
    """

    def __init__(self, url: str = "memory://", *, max_queue_size: int = 1000) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("memory", "redis", "rediss", "unix"):
            raise ValueError(f"Broadcast(url) takes 'memory://' or 'redis://host:port/db', got {url!r}.")
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ValueError(f"max_queue_size= takes a count >= 1, got {max_queue_size!r}.")
        self.url = url
        self.max_queue_size = max_queue_size
        self._backend: _Backend = _MemoryBackend(self) if scheme == "memory" else _RedisBackend(self, url)
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._connected = False

    def init_app(self, app: Covet) -> None:
        """Connect when ``app`` starts and disconnect when it stops (its lifespan)."""
        app.on_startup(self.connect)
        app.on_shutdown(self.disconnect)

    async def connect(self) -> None:
        """Connect to the backend (Redis: opens the connections; raises if Redis is unreachable)."""
        if not self._connected:
            await self._backend.connect()
            self._connected = True

    async def disconnect(self) -> None:
        """Disconnect; every subscription's iteration ends."""
        if self._connected:
            self._connected = False
            for subscribers in self._subscribers.values():
                for subscriber in subscribers:
                    subscriber._end(_Closed())
            await self._backend.disconnect()

    async def __aenter__(self) -> Broadcast:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.disconnect()

    def _check_connected(self) -> None:
        if not self._connected:
            raise RuntimeError(
                "The Broadcast is not connected: call broadcast.init_app(app) (or await broadcast.connect(), "
                "or use 'async with broadcast:')."
            )

    async def publish(self, channel: str, message: str) -> None:
        """Send ``message`` (text; encode data as JSON first) to every subscriber of ``channel``."""
        self._check_connected()
        if not isinstance(message, str):
            raise TypeError(f"publish() sends text; encode {type(message).__name__} values first (msgspec.json).")
        await self._backend.publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        """Subscribe to ``channel`` for the ``async with`` block; messages published after it starts arrive."""
        self._check_connected()
        subscriber = Subscriber(channel, self.max_queue_size)
        subscribers = self._subscribers.setdefault(channel, set())
        subscribers.add(subscriber)
        try:
            if len(subscribers) == 1:
                await self._backend.subscribe(channel)
            yield subscriber
        finally:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[channel]
                if self._connected:
                    with anyio.CancelScope(shield=True):
                        await self._backend.unsubscribe(channel)

    def _deliver(self, channel: str, message: str) -> None:
        event = Event(channel, message)
        for subscriber in list(self._subscribers.get(channel, ())):
            subscriber._put(event)

    def _fail(self, error: BaseException) -> None:
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber._end(error)


class _Backend:
    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...


class _MemoryBackend(_Backend):
    """One process: publishing delivers straight into the subscribers' queues."""

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast

    async def publish(self, channel: str, message: str) -> None:
        self.broadcast._deliver(channel, message)


class _RedisBackend(_Backend):
    """Redis pub/sub: one connection subscribed to the channels this process listens to, read by
    one task that fans messages out to the local subscribers; publishing uses the client's pool."""

    def __init__(self, broadcast: Broadcast, url: str) -> None:
        try:
            import redis.asyncio  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("Broadcast('redis://...') needs redis-py: pip install 'covet[redis]'.") from exc
        self.broadcast = broadcast
        self.url = url
        self.client: Any = None
        self.pubsub: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.confirmed: dict[str, anyio.Event] = {}

    async def connect(self) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(self.url)
        await self.client.ping()  # fail at startup, not at the first message
        self.pubsub = self.client.pubsub()
        # redis-py reads nothing until something is subscribed: a channel of this process's own
        # keeps the connection open for the reader from the start.
        await self.pubsub.subscribe(f"covet:broadcast:{id(self)}")
        # redis.asyncio runs on asyncio only, so the reader is an asyncio task of its own.
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def disconnect(self) -> None:
        reader, self.reader = self.reader, None
        if reader is not None:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.client is not None:
            await self.client.aclose()
        self.pubsub = self.client = None

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                if message is None:
                    continue
                kind = message["type"]
                channel = message["channel"].decode("utf-8", "replace")
                if kind == "message":
                    self.broadcast._deliver(channel, message["data"].decode("utf-8", "replace"))
                elif kind == "subscribe" and channel in self.confirmed:
                    self.confirmed.pop(channel).set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.error("Broadcast lost its Redis subscription connection", exc_info=exc)
            self.broadcast._fail(exc)

    async def publish(self, channel: str, message: str) -> None:
        await self.client.publish(channel, message)

    async def subscribe(self, channel: str) -> None:
        # Wait for Redis to confirm, so a message published right after subscribe() returns arrives.
        confirmed = self.confirmed[channel] = anyio.Event()
        await self.pubsub.subscribe(channel)
        with anyio.fail_after(10):
            await confirmed.wait()

    async def unsubscribe(self, channel: str) -> None:
        if self.pubsub is not None:
            await self.pubsub.unsubscribe(channel)
