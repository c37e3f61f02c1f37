"""A chat room: a page with a little JavaScript, WebSockets, and a Redis broadcast across workers.

Run it (Redis on 127.0.0.1:6379, or set CHAT_BROADCAST_URL; "memory://" for one worker only)::

    covet run examples/chat/app.py --workers 2

and open http://127.0.0.1:8000/ in two windows. Each message is published to Redis, and every
worker forwards it to the clients connected to it, so clients on different workers see each
other. Each message is JSON: ``{"name": ..., "text": ..., "worker": pid}`` (the pid shows which
worker the sender is connected to).
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import msgspec

from covet import Covet, HTMLResponse, WebSocket
from covet.pubsub import Broadcast

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")

broadcast = Broadcast(os.environ.get("CHAT_BROADCAST_URL", "redis://127.0.0.1:6379/0"))
app = Covet(title="Chat")
broadcast.init_app(app)


class ChatIn(msgspec.Struct):
    text: str


@app.get("/")
async def index() -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.websocket("/ws/<room>", max_message_size=4096, receive_timeout=300)
async def chat(websocket: WebSocket, room: str, name: str = "anonymous") -> None:
    channel = f"chat:{room}"
    await websocket.accept()
    async with broadcast.subscribe(channel) as subscriber:
        await websocket.send_json({"joined": room, "worker": os.getpid()})

        async def forward() -> None:
            async for event in subscriber:
                await websocket.send_text(event.message)

        async with anyio.create_task_group() as group:
            group.start_soon(forward)
            async for message in websocket.iter_json(ChatIn):
                text = message.text.strip()[:1000]
                if text:
                    payload = {"name": name[:40], "text": text, "worker": os.getpid()}
                    await broadcast.publish(channel, msgspec.json.encode(payload).decode())
            group.cancel_scope.cancel()
