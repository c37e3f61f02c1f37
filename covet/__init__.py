"""covet: a Flask-familiar, FastAPI-complete ASGI web framework.

Example::

    from covet import Covet

    app = Covet()

    @app.get("/hello/<name>")
    async def hello(name: str):
        return {"message": f"Hello, {name}!"}

Run it with ``covet run module:app``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._flask_names import module_name_error
from ._speedups import compiled_modules as _compiled_modules
from .app import Covet
from .background import BackgroundTasks
from .blueprints import Blueprint
from .datastructures import UploadFile
from .exceptions import HTTPException, RequestValidationError, abort
from .formparsers import FormLimits
from .globals import current_app, g, request, url_for
from .params import Body, Cookie, Depends, File, Form, Header, Path, Query, Security
from .requests import Request
from .responses import (
    EventSourceResponse,
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    ServerSentEvent,
    StreamingResponse,
    jsonify,
    redirect,
)
from .templating import render_template
from .websockets import WebSocket, WebSocketDisconnect

__version__ = "0.1.0"

__all__ = [
    "Covet",
    "Blueprint",
    "Request",
    "WebSocket",
    "WebSocketDisconnect",
    "BackgroundTasks",
    "Response",
    "JSONResponse",
    "HTMLResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "StreamingResponse",
    "FileResponse",
    "EventSourceResponse",
    "ServerSentEvent",
    "HTTPException",
    "RequestValidationError",
    "abort",
    "redirect",
    "jsonify",
    "g",
    "request",
    "current_app",
    "render_template",
    "url_for",
    "speedups_enabled",
    "UploadFile",
    "FormLimits",
    "Path",
    "Query",
    "Security",
    "Header",
    "Cookie",
    "Body",
    "Form",
    "File",
    "Depends",
    "__version__",
]


def speedups_enabled() -> bool:
    """Whether covet's compiled modules are in use (see ``COVET_NO_EXTENSIONS``)."""
    return bool(_compiled_modules)


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any covet.name

    def __getattr__(name: str) -> object:
        # A Flask name covet does not offer: say what covet uses instead (see covet._flask_names).
        error = module_name_error(name)
        if error is None:
            raise AttributeError(f"module 'covet' has no attribute {name!r}")
        raise error
