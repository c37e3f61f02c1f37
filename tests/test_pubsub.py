"""Broadcast over memory:// and a real Redis (COVET_TEST_REDIS_URL, skipped only when unreachable)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest

from covet import Covet, WebSocket
from covet.pubsub import Broadcast, Event, SubscriberOverflow
from covet.testing import TestClient

REDIS_URL = os.environ.get("COVET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set COVET_TEST_REDIS_URL)")
    return REDIS_URL


@pytest.fixture
def channel() -> Iterator[str]:
    # Unique per test run: safe under pytest-xdist and beside other users of the same Redis.
    yield f"covet-test-{uuid.uuid4().hex}"


def run(main: Any) -> None:
    async def bounded() -> None:
        with anyio.fail_after(10):
            await main()

    anyio.run(bounded)


def test_subscribers_get_what_is_published_after_they_subscribe(url: str, channel: str) -> None:
    async def main() -> None:
        async with Broadcast(url) as broadcast:
            await broadcast.publish(channel, "before anyone listens")
            async with broadcast.subscribe(channel) as first, broadcast.subscribe(channel) as second:
                async with broadcast.subscribe(channel + "-other") as other:
                    await broadcast.publish(channel, "hello")
                    await broadcast.publish(channel + "-other", "elsewhere")
                    assert await first.get() == Event(channel, "hello")
                    assert await second.get() == Event(channel, "hello")
                    assert await other.get() == Event(channel + "-other", "elsewhere")

    run(main)


def test_redis_delivers_between_two_broadcasts_like_two_workers(channel: str) -> None:
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set COVET_TEST_REDIS_URL)")

    async def main() -> None:
        async with Broadcast(REDIS_URL) as worker_a, Broadcast(REDIS_URL) as worker_b:
            async with worker_b.subscribe(channel) as subscriber:
                await worker_a.publish(channel, "from a")
                event = await subscriber.get()
        assert event == Event(channel, "from a")

    run(main)


def test_slow_subscriber_is_bounded_and_told(url: str, channel: str) -> None:
    async def main() -> None:
        async with Broadcast(url, max_queue_size=3) as broadcast:
            async with broadcast.subscribe(channel) as slow, broadcast.subscribe(channel) as fast:
                received: list[str] = []
                for index in range(5):
                    await broadcast.publish(channel, str(index))
                    received.append((await fast.get()).message)
                assert received == ["0", "1", "2", "3", "4"]
                assert [(await slow.get()).message for _ in range(3)] == ["0", "1", "2"]
                with pytest.raises(SubscriberOverflow, match="fell 3 messages behind"):
                    await slow.get()
                assert len(slow._queue) == 0  # nothing past the bound was kept

    run(main)


def test_disconnect_ends_iteration(url: str, channel: str) -> None:
    async def main() -> None:
        broadcast = Broadcast(url)
        await broadcast.connect()
        seen: list[str] = []

        async def listen() -> None:
            async with broadcast.subscribe(channel) as subscriber:
                async for event in subscriber:
                    seen.append(event.message)

        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            while channel not in broadcast._subscribers:
                await anyio.sleep(0.01)
            await anyio.sleep(0.05)  # let Redis confirm the subscription
            await broadcast.publish(channel, "one")
            while not seen:
                await anyio.sleep(0.01)
            await broadcast.disconnect()
        assert seen == ["one"]

    run(main)


def test_misuse_is_explained() -> None:
    with pytest.raises(ValueError, match="memory://"):
        Broadcast("kafka://x")
    with pytest.raises(ValueError, match="max_queue_size"):
        Broadcast(max_queue_size=0)

    async def main() -> None:
        broadcast = Broadcast()
        with pytest.raises(RuntimeError, match="init_app"):
            await broadcast.publish("c", "x")
        async with broadcast:
            with pytest.raises(TypeError, match="msgspec.json"):
                await broadcast.publish("c", {"a": 1})  # type: ignore[arg-type]

    run(main)


def test_unreachable_redis_fails_at_connect() -> None:
    import redis.exceptions

    async def main() -> None:
        with pytest.raises(redis.exceptions.ConnectionError):
            await Broadcast("redis://127.0.0.1:1/0").connect()  # port 1: nothing listens

    run(main)


def test_chat_over_websockets_with_the_app_lifespan(url: str, channel: str) -> None:
    broadcast = Broadcast(url)
    app = Covet()
    broadcast.init_app(app)

    @app.websocket("/chat/<room>")
    async def chat(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        async with broadcast.subscribe(room) as subscriber:
            await websocket.send_text("joined")

            async def forward() -> None:
                async for event in subscriber:
                    await websocket.send_text(event.message)

            async with anyio.create_task_group() as group:
                group.start_soon(forward)
                async for text in websocket.iter_text():
                    await broadcast.publish(room, text)
                group.cancel_scope.cancel()

    with TestClient(app) as client:
        with client.websocket_connect(f"/chat/{channel}") as ada, client.websocket_connect(f"/chat/{channel}") as bob:
            assert ada.receive_text() == "joined" and bob.receive_text() == "joined"
            ada.send_text("hi bob")
            assert bob.receive_text() == "hi bob"
            assert ada.receive_text() == "hi bob"
