"""ASGI type aliases.

Kept in one place so the rest of covet can speak of ``Scope``/``Receive``/``Send`` without each
module re-deriving them (the ASGI 3 spec: https://asgi.readthedocs.io/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["Scope", "Message", "Receive", "Send", "ASGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
