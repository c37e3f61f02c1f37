"""WebSocket echo apps for bench/websocket.py: covet, Starlette and a raw ASGI floor.

Each echoes every text message back until the client closes; nothing else.
"""

from __future__ import annotations

from typing import Any

from covet import Covet, WebSocket

covet_app = Covet(openapi_url=None)


@covet_app.websocket("/echo")
async def covet_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: the ASGI WebSocket protocol by hand."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text")})


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket as StarletteWebSocket
    from starlette.websockets import WebSocketDisconnect

    async def echo(websocket: StarletteWebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/echo", echo)])
