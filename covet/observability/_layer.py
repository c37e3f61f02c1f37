"""The one ASGI layer the observability middleware share, however many of them are stacked.

``RequestIdMiddleware``, ``AccessLogMiddleware`` and ``PrometheusMiddleware`` each need the same
things from a request: when it started, the status, the body size, when the last byte went out.
Stacked as three ordinary middleware they would cost three coroutine layers and three ``send``
wrappers per request, about 4 µs on a JSON route that takes 3 µs in all. So each is a *stage*:
a middleware whose inner app is another stage absorbs it at construction, and the outermost runs
every stage's ``begin`` (outer to inner) and ``end`` (inner to outer) around one call of the app
below them, with one ``send`` wrapper. The order and effect are those of nesting: an outer stage
begins before and ends after an inner one (the request id is set before the access log line is
made and reset after it).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..extraction import generated_function
from ..types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Exchange", "Stage"]

_perf_counter = time.perf_counter


class Exchange:
    """What the layer saw of one request's response, for the stages' ``end``.

    ``status`` is 0 until the response starts (an exception before that is a 500 to the client);
    ``end`` is 0.0 until the last body message is sent; ``headers`` are added to the response.
    Attributes are set by the layer directly (no ``__init__`` call: one Python call fewer per request).
    """

    __slots__ = ("start", "status", "size", "end", "headers", "send")

    start: float
    status: int
    size: int
    end: float
    headers: list[tuple[bytes, bytes]]
    send: Send  # the server's

    def observed_send(self, message: Message) -> Awaitable[None]:
        """The ``send`` the app below is given: notes status, size and end, adds ``headers``.

        A method (the layer hands the app ``exchange.observed_send``), not a closure made per
        request: a bound method costs one small object, a closure a cell per variable it reads
        (measured: 1.1k instructions fewer per request). A plain function returning the server's
        awaitable: no coroutine per message.
        """
        kind = message["type"]
        if kind == "http.response.body":
            self.size += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.end = _perf_counter()
        elif kind == "http.response.start":
            self.status = message["status"]
            extra = self.headers
            if extra:
                message["headers"] = [*message.get("headers", ()), *extra]
        return self.send(message)

    @property
    def duration(self) -> float:
        """Seconds from the request's arrival to its last body byte (to the app's return if the
        response was not completed); valid in :meth:`Stage.end`."""
        return self.end - self.start


_new_exchange = object.__new__
_NOTE = "request id: "


class Stage:
    """Base of the observability middleware: ``begin`` and ``end`` around the app, in one layer."""

    app: ASGIApp
    stages: tuple[Stage, ...]
    _observe: Callable[[Scope, Receive, Send], Awaitable[None]]
    #: Observers never send a response of their own and re-raise what the app below raises, so
    #: an app whose only middleware they are renders its 500s inside them (covet.app: no extra
    #: layer outside them, and the 500 is what they record).
    observer = True

    def __init__(self, app: ASGIApp) -> None:
        if isinstance(app, Stage):
            # Absorb the stages below: they run in this layer, around the app below them.
            self.stages = (self, *app.stages)
            self.app = app.app
        else:
            self.stages = (self,)
            self.app = app
        self._observe = _observer(self.stages, self.app)

    def begin(self, scope: Scope, exchange: Exchange) -> Any:
        """Called as the request arrives; the return value is handed to :meth:`end`."""
        return None

    def end(self, scope: Scope, exchange: Exchange, token: Any) -> None:
        """Called once the app has returned (or raised): the response is sent, or never will be."""

    def connect(self, scope: Scope) -> Any:
        """Called as a WebSocket connection arrives; the return value is handed to :meth:`disconnect`.
        WebSocket connections pass through stages that keep this no-op."""
        return None

    def disconnect(self, scope: Scope, token: Any) -> None:
        """Called once the app has returned from the WebSocket connection (or raised)."""

    def entry(self) -> ASGIApp:
        """What to call for a request: the code written for the stages (see :func:`_observer`), or
        this object when a subclass has its own ``__call__``. Covet calls it when the layer is its
        outermost middleware; servers need the ``async def`` below."""
        return self._observe if type(self).__call__ is Stage.__call__ else self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An ``async def`` (servers tell ASGI from WSGI apps by it) around the code written for
        # this layer's stages (see _observer).
        await self._observe(scope, receive, send)


def _failed(scope: Scope, exchange: Exchange, exc: BaseException) -> None:
    """An exception is leaving the layer: leave what the 500 and the server's log of it need.

    A response not started yet becomes a 500 outside this layer (covet.app._ServerErrors, when other
    middleware is there): it gets the headers the stages would have added (``X-Request-ID``). The
    server logs the traceback after the request's context is gone, so the request id goes on the
    exception as a note (PEP 678), which the traceback prints.
    """
    if not exchange.status and exchange.headers:
        scope["covet.error_headers"] = exchange.headers
    request_id = scope.get("request_id")
    if request_id and isinstance(exc, Exception) and hasattr(exc, "add_note"):
        note = f"{_NOTE}{request_id}"
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list):
            # One exception object raised again by later requests (a module-level instance, a
            # failed future shared by waiters) names the latest request once, not every one.
            notes[:] = [kept for kept in notes if not (isinstance(kept, str) and kept.startswith(_NOTE))]
        exc.add_note(note)


def _observer(stages: tuple[Stage, ...], app: ASGIApp) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The layer's ASGI function for ``stages`` around ``app``, written out once.

    Each stage's ``begin`` and ``end`` is called by name, in order (outer to inner, then inner to
    outer), and a stage that keeps the base class's no-op is not called at all: a loop over the
    stages with a list of their tokens cost a fifth of the layer (bench/observability.py).
    ``inspect.getsource`` on the result shows the code.
    """
    namespace: dict[str, Any] = {
        "APP": app,
        "NEW": _new_exchange,
        "Exchange": Exchange,
        "PERF": _perf_counter,
        "FAILED": _failed,
    }
    begins: list[str] = []
    ends: list[str] = []
    for index, stage in enumerate(stages):
        if type(stage).begin is not Stage.begin:
            namespace[f"B{index}"] = stage.begin
            begins.append(f"    t{index} = B{index}(scope, exchange)")
    for index in reversed(range(len(stages))):
        stage = stages[index]
        if type(stage).end is not Stage.end:
            namespace[f"E{index}"] = stage.end
            token = f"t{index}" if type(stage).begin is not Stage.begin else "None"
            ends.append(f"        E{index}(scope, exchange, {token})")
    # WebSocket connections: each stage with a connect or disconnect of its own, nested (outer
    # first), so that a connect that raises still has the outer stages' disconnects run.
    connected = [
        index
        for index, stage in enumerate(stages)
        if type(stage).connect is not Stage.connect or type(stage).disconnect is not Stage.disconnect
    ]
    websocket = ["        if scope['type'] == 'websocket':"] if connected else []
    for depth, index in enumerate(connected):
        namespace[f"C{index}"], namespace[f"D{index}"] = stages[index].connect, stages[index].disconnect
        pad = "    " * depth
        websocket += [f"{pad}            c{index} = C{index}(scope)", f"{pad}            try:"]
    if connected:
        websocket.append(f"{'    ' * len(connected)}            await APP(scope, receive, send)")
    for depth, index in reversed(list(enumerate(connected))):
        pad = "    " * depth
        websocket += [f"{pad}            finally:", f"{pad}                D{index}(scope, c{index})"]
    if connected:
        websocket.append("            return")
    source = "\n".join(
        [
            "async def observe(scope, receive, send):",
            "    if scope['type'] != 'http':",
            *websocket,
            "        await APP(scope, receive, send)",
            "        return",
            "    exchange = NEW(Exchange)",
            "    exchange.status = exchange.size = 0",
            "    exchange.end = 0.0",
            "    exchange.headers = []",
            "    exchange.start = PERF()",
            *begins,
            "    exchange.send = send",
            "    try:",
            "        await APP(scope, receive, exchange.observed_send)",
            "    except BaseException as exc:",
            "        FAILED(scope, exchange, exc)",
            "        raise",
            "    finally:",
            "        if not exchange.end:  # no complete response: the request ends now",
            "            exchange.end = PERF()",
            *(ends or ["        pass"]),
            "",
        ]
    )
    names = "+".join(type(stage).__name__ for stage in stages)
    return generated_function(source, namespace, "observe", f"observer {names}")
