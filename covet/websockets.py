"""WebSocket routes: the ``WebSocket`` connection, its limits, and the runner that serves a route.

A WebSocket route is a :class:`~covet.routing.Route` with ``scope_type="websocket"``, registered
with ``@app.websocket(path)`` (or on a blueprint). Its handler's parameters follow the rules of
http routes: path and query values, headers, cookies and ``Depends`` (yield dependencies are torn
down when the socket ends), resolved over the connection (:class:`HTTPConnection`).

The protocol is ASGI's WebSocket sub-protocol (https://asgi.readthedocs.io/en/latest/specs/www.html)
over RFC 6455. What covet adds on top:

- a failure before ``accept()`` refuses the handshake: an ``HTTPException`` with its own status,
  anything else with 403, as an HTTP response through the ``websocket.http.response`` extension
  where the server offers it, else as close code 1008 (the server then answers 403 itself);
- limits: ``max_message_size`` (close 1009), ``receive_timeout`` (close 1001 when the client
  stays silent that long), ``send_queue_size`` (close 1008 when that many sends wait on a slow
  client), so a client can hold neither memory nor a task without bound;
- an exception in the handler after ``accept()`` is logged and closes the socket with 1011.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import msgspec

from .exceptions import HTTPException, RequestValidationError
from .params import BODY, FILE, FORM, REQUEST, EndpointPlan
from .requests import HTTPConnection
from .responses import json_encoder
from .types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .app import Covet
    from .routing import Route
    from .scaffold import Scaffold

__all__ = [
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketState",
    "WebSocketLimits",
    "websocket_runner",
    "serve_websocket",
    "check_websocket_plan",
    "WEBSOCKET_OPTIONS",
]

logger = logging.getLogger("covet.websockets")

#: Route options a WebSocket route takes (``app.websocket(path, **options)``).
WEBSOCKET_OPTIONS = frozenset(
    {
        "dependencies",
        "include_in_schema",
        "summary",
        "description",
        "tags",
        "max_message_size",
        "receive_timeout",
        "send_queue_size",
        "receive",
        "send",
    }
)

#: How many sends may wait on one slow client before the connection is closed (see send_queue_size).
DEFAULT_SEND_QUEUE_SIZE = 64

# RFC 6455 §5.5: a control frame carries at most 125 bytes; a close frame spends 2 on the code.
_MAX_REASON_BYTES = 123


class WebSocketState(enum.Enum):
    """Where one side of the connection stands (``client_state`` / ``application_state``)."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


class WebSocketDisconnect(Exception):
    """The connection ended: raised by ``receive_*`` when the client closes, or when covet closed it
    for breaking a limit (1009, 1001, 1003, 1007).

    ``code`` is the close code (RFC 6455 §7.4.1; 1000 normal, 1001 going away, 1006 closed without
    a close frame), ``reason`` the close reason (may be empty).
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(code, reason)

    def __str__(self) -> str:
        return f"WebSocket closed with code {self.code}" + (f": {self.reason}" if self.reason else "")


class WebSocketLimits:
    """A route's limits, settled at registration (the app's default ``max_message_size`` applied).

    ``max_message_size``: bytes of one received message (text counted as UTF-8), None for no limit;
    ``receive_timeout``: seconds a ``receive_*`` waits before closing with 1001, None to wait forever;
    ``send_queue_size``: sends that may wait on the client at once before closing with 1008.
    """

    __slots__ = ("max_message_size", "receive_timeout", "send_queue_size")

    def __init__(
        self,
        max_message_size: int | None = 1_048_576,
        receive_timeout: float | None = None,
        send_queue_size: int = DEFAULT_SEND_QUEUE_SIZE,
    ) -> None:
        self.max_message_size = check_max_message_size(max_message_size)
        if receive_timeout is not None and (
            isinstance(receive_timeout, bool) or not isinstance(receive_timeout, (int, float)) or receive_timeout <= 0
        ):
            raise ValueError(f"receive_timeout= takes seconds > 0 or None, got {receive_timeout!r}.")
        self.receive_timeout = receive_timeout
        if isinstance(send_queue_size, bool) or not isinstance(send_queue_size, int) or send_queue_size < 1:
            raise ValueError(f"send_queue_size= takes a count >= 1, got {send_queue_size!r}.")
        self.send_queue_size = send_queue_size


def check_max_message_size(value: Any) -> int | None:
    """``value`` if it is a byte count > 0 or None; raises ValueError saying what to write."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_message_size= takes a byte count > 0 or None, got {value!r} (write 1_048_576 for 1 MiB).")
    return value


def _close_reason(reason: str) -> str:
    """``reason`` cut to what a close frame can carry (123 bytes of UTF-8), on a character boundary."""
    data = reason.encode("utf-8")
    if len(data) <= _MAX_REASON_BYTES:
        return reason
    return data[:_MAX_REASON_BYTES].decode("utf-8", "ignore")


class WebSocket(HTTPConnection):
    """One WebSocket connection; declare a parameter annotated ``WebSocket`` to get it.

    Example::

        @app.websocket("/echo")
        async def echo(websocket: WebSocket):
            await websocket.accept()
            async for text in websocket.iter_text():
                await websocket.send_text(text)

    ``receive_*`` raise :class:`WebSocketDisconnect` when the client goes away; ``iter_*`` simply
    end. The URL, headers, cookies, query and path parameters, ``session`` and ``state`` are those
    of the handshake request.
    """

    __slots__ = ("_receive", "_send", "client_state", "application_state", "limits", "_waiting", "_lock", "accepted_subprotocol")

    def __init__(self, scope: Scope, receive: Receive, send: Send, limits: WebSocketLimits | None = None) -> None:
        if scope["type"] != "websocket":
            raise ValueError(f"WebSocket needs a 'websocket' scope, got {scope['type']!r}.")
        super().__init__(scope)
        self._receive = receive
        self._send = send
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        self.limits = limits or WebSocketLimits()
        self._waiting = 0  # sends in progress (bounded by limits.send_queue_size)
        self._lock: anyio.Lock | None = None
        #: The subprotocol chosen by accept(), or None.
        self.accepted_subprotocol: str | None = None

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered (``Sec-WebSocket-Protocol``), in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

    # -- the handshake -------------------------------------------------------------------------------

    async def _await_connect(self) -> None:
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.connect":
            return
        if kind == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(message.get("code", 1006), message.get("reason") or "")
        raise RuntimeError(f"Expected 'websocket.connect' from the server, got {kind!r}.")

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
    ) -> None:
        """Complete the handshake; ``subprotocol`` must be one the client offered (RFC 6455 §4.2.2).

        ``headers`` are added to the handshake response (``Set-Cookie``, for instance). Raises
        ``ValueError`` for a subprotocol the client did not offer, ``RuntimeError`` when already
        accepted or closed.
        """
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError(f"WebSocket.accept() called on a connection that is {self.application_state.name}.")
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"accept(subprotocol={subprotocol!r}): the client offered {self.subprotocols!r}; pick one of "
                "those (websocket.subprotocols) or none, as a client must fail a connection whose "
                "subprotocol it did not offer (RFC 6455 §4.1)."
            )
        if self.client_state is WebSocketState.CONNECTING:
            await self._await_connect()
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = _raw_headers(headers)
        await self._send(message)
        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTED
        self.accepted_subprotocol = subprotocol

    async def deny(self, status_code: int = 403, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        """Refuse the handshake with an HTTP response (``websocket.http.response`` extension).

        Where the server does not offer the extension, the handshake is refused with close code
        1008 instead (the server answers 403).
        """
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError("WebSocket.deny() is only possible before accept().")
        if self.client_state is WebSocketState.CONNECTING:
            await self._await_connect()
        self.application_state = WebSocketState.DISCONNECTED
        if "websocket.http.response" in (self.scope.get("extensions") or {}):
            raw = _raw_headers(headers or {})
            raw.append((b"content-length", str(len(body)).encode()))
            await self._send({"type": "websocket.http.response.start", "status": status_code, "headers": raw})
            await self._send({"type": "websocket.http.response.body", "body": body, "more_body": False})
        else:
            await self._send({"type": "websocket.close", "code": 1008, "reason": ""})

    # -- receiving -----------------------------------------------------------------------------------

    async def receive(self) -> Message:
        """The next ASGI message (``websocket.receive`` or ``websocket.disconnect``), limits applied."""
        if self.client_state is WebSocketState.CONNECTING:
            raise RuntimeError("Call websocket.accept() before receiving messages.")
        if self.client_state is WebSocketState.DISCONNECTED:
            raise RuntimeError("The client has disconnected; nothing more can be received.")
        timeout = self.limits.receive_timeout
        if timeout is None:
            message = await self._receive()
        else:
            with anyio.move_on_after(timeout):
                message = await self._receive()
                timeout = None
            if timeout is not None:
                await self._close_for(1001, f"no message for {timeout:g} seconds")
        kind = message["type"]
        if kind == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
            self.application_state = WebSocketState.DISCONNECTED
            return message
        limit = self.limits.max_message_size
        if limit is not None:
            text = message.get("text")
            if text is not None:
                # A character is at most 4 bytes of UTF-8: measure the bytes only near the limit.
                size = len(text) if len(text) * 4 <= limit else len(text.encode("utf-8", "surrogatepass"))
            else:
                size = len(message.get("bytes") or b"")
            if size > limit:
                await self._close_for(1009, f"message of {size} bytes is over the limit of {limit}")
        return message

    async def _close_for(self, code: int, reason: str) -> NoReturn:
        """Close the connection for breaking a rule and raise WebSocketDisconnect in the handler."""
        await self.close(code, reason)
        self.client_state = WebSocketState.DISCONNECTED
        raise WebSocketDisconnect(code, reason)

    async def _receive_data(self) -> Message:
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        return message

    async def receive_text(self) -> str:
        """The next text message; a binary one closes the connection with 1003 (RFC 6455 §7.4.1)."""
        message = await self._receive_data()
        text = message.get("text")
        if text is None:
            await self._close_for(1003, "expected a text message, got binary")
        return text  # type: ignore[no-any-return]

    async def receive_bytes(self) -> bytes:
        """The next binary message; a text one closes the connection with 1003 (RFC 6455 §7.4.1)."""
        message = await self._receive_data()
        data = message.get("bytes")
        if data is None:
            await self._close_for(1003, "expected a binary message, got text")
        return data  # type: ignore[no-any-return]

    async def receive_json(self, type: Any = Any, mode: str = "text") -> Any:
        """The next message decoded as JSON, validated as ``type`` (a msgspec type) when given.

        ``mode`` is ``"text"`` or ``"binary"``, the kind of message expected. Invalid JSON, or JSON
        that does not fit ``type``, closes the connection with 1007 (RFC 6455 §7.4.1) and a reason
        naming the problem.
        """
        data = await (self.receive_text() if mode == "text" else self.receive_bytes())
        try:
            return msgspec.json.decode(data, type=type, strict=False)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._close_for(1007, f"invalid JSON message: {exc}")

    async def iter_text(self) -> AsyncIterator[str]:
        """Text messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Binary messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self, type: Any = Any) -> AsyncIterator[Any]:
        """JSON messages (validated as ``type``) until the client disconnects."""
        try:
            while True:
                yield await self.receive_json(type)
        except WebSocketDisconnect:
            pass

    # -- sending -------------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send an ASGI message, at most ``send_queue_size`` at a time waiting on the client.

        Sends from several tasks (a broadcast fan-out) go out one at a time; when the client reads
        so slowly that ``send_queue_size`` of them wait, the connection is closed with 1008 and
        ``WebSocketDisconnect`` raised, rather than holding every message in memory.
        """
        if self.application_state is not WebSocketState.CONNECTED:
            raise RuntimeError(
                "Call websocket.accept() before sending." if self.application_state is WebSocketState.CONNECTING
                else "This WebSocket is closed; nothing more can be sent."
            )
        if self._waiting >= self.limits.send_queue_size:
            await self._close_for(1008, "client too slow: send queue full")
        self._waiting += 1
        try:
            if self._waiting == 1 and self._lock is None:
                await self._send_raw(message)
            else:
                if self._lock is None:
                    self._lock = anyio.Lock()
                async with self._lock:
                    await self._send_raw(message)
        finally:
            self._waiting -= 1

    async def _send_raw(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError as exc:  # the server reports a connection that is gone (ASGI spec 2.4)
            self.client_state = WebSocketState.DISCONNECTED
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(1006, "connection lost") from exc

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` (anything msgspec encodes: dicts, lists, Structs, dataclasses) as JSON."""
        encoded = json_encoder.encode(data)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": encoded.decode("utf-8")})
        else:
            await self.send({"type": "websocket.send", "bytes": encoded})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before ``accept()``: refuse the handshake; the server answers 403).

        ``reason`` is cut to the 123 bytes a close frame can carry (RFC 6455 §5.5). Closing twice is
        a no-op.
        """
        if self.application_state is WebSocketState.DISCONNECTED:
            return
        if self.application_state is WebSocketState.CONNECTING and self.client_state is WebSocketState.CONNECTING:
            await self._await_connect()
        self.application_state = WebSocketState.DISCONNECTED
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": _close_reason(reason)})
        except OSError:
            self.client_state = WebSocketState.DISCONNECTED


def _raw_headers(headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]) -> list[tuple[bytes, bytes]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    raw: list[tuple[bytes, bytes]] = []
    for key, value in items:
        name = key if isinstance(key, bytes) else key.encode("latin-1")
        data = value if isinstance(value, bytes) else value.encode("latin-1")
        if b"\r" in name + data or b"\n" in name + data:
            raise ValueError(f"Header {key!r} contains a line break; header values may not (RFC 9110 §5.5).")
        raw.append((name.lower(), data))
    return raw


# --- registration -------------------------------------------------------------------------------


def check_websocket_plan(plan: EndpointPlan, path: str) -> None:
    """Refuse, at registration, a WebSocket handler covet could not call; the message says why."""
    name = getattr(plan.func, "__qualname__", repr(plan.func))
    if not plan.is_async:
        raise TypeError(
            f"WebSocket handler {name!r} for {path!r} must be 'async def': a connection lives as long as "
            "the client stays, far too long to hold a worker thread."
        )
    for each in plan.iter_plans():
        for spec in each.params:
            if spec.kind in (BODY, FORM, FILE):
                raise TypeError(
                    f"Parameter {spec.name!r} of {name!r} (WebSocket route {path!r}) would be read from a "
                    "request body, which a WebSocket handshake does not have; receive messages with "
                    "await websocket.receive_json(Type) instead."
                )
            if spec.kind == REQUEST:
                raise TypeError(
                    f"Parameter {spec.name!r} of {name!r} (WebSocket route {path!r}) asks for a Request; "
                    "annotate it WebSocket (it has the same url, headers, cookies and query_params)."
                )


def check_http_plan(plan: EndpointPlan, path: str) -> None:
    """Refuse an http handler asking for a WebSocket (it would be given a Request)."""
    for each in plan.iter_plans():
        for spec in each.params:
            if isinstance(spec.annotation, type) and issubclass(spec.annotation, WebSocket):
                raise TypeError(
                    f"Parameter {spec.name!r} of {getattr(plan.func, '__qualname__', plan.func)!r} asks for a "
                    f"WebSocket, but {path!r} is an http route; register it with @app.websocket({path!r})."
                )


# --- serving ------------------------------------------------------------------------------------

#: ``await runner(scope, receive, send, route)`` serves one connection.
WebSocketRunner = Callable[[Scope, Receive, Send, "Route"], Any]


def websocket_runner(app: Covet, route: Route, limits: WebSocketLimits) -> WebSocketRunner:
    """The runner for one WebSocket route, made when the app freezes.

    Runs the opted-in ``before_websocket`` hooks of the route's chain, resolves the parameters,
    calls the handler, and on every way out tears down yield dependencies and closes the socket:
    refused (before accept), 1000 (the handler returned), 1011 (it raised) or nothing (the client
    is gone).
    """
    from .pipeline import hook_caller
    from .resolution import RequestContext, resolve

    plan = route.plan
    func = plan.func
    hooks = [hook_caller(hook) for scaffold in route.scaffolds for hook in scaffold.before_websocket_funcs]
    needs_context = plan.has_dependencies or plan.has_background

    async def run(scope: Scope, receive: Receive, send: Send, target: Route) -> None:
        websocket = WebSocket(scope, receive, send, limits)
        ctx = RequestContext(websocket.app, websocket) if needs_context else None
        try:
            try:
                for hook in hooks:
                    early = await hook(websocket)
                    if early is not None:
                        await _refuse_with(websocket, early)
                        return
                kwargs = await resolve(plan, websocket, ctx)
                await func(**kwargs)
                if ctx is not None and ctx.function_exits is not None:
                    await ctx.close_function_scope()
            except Exception as exc:
                if ctx is not None:
                    unwound = await ctx.unwind(exc)
                    if not isinstance(unwound, Exception):
                        raise unwound from exc
                    exc = unwound
                await _fail(websocket, exc, route)
                return
        except BaseException:
            if ctx is not None:
                with anyio.CancelScope(shield=True):
                    await ctx.unwind(WebSocketDisconnect(1006, "cancelled"))
            raise
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            await websocket.close(1000)
        if ctx is not None:
            if ctx.background is not None:
                ctx.background.connection = websocket
            await ctx.close()

    return run


async def _refuse_with(websocket: WebSocket, early: Any) -> None:
    """A before_websocket hook returned something: refuse the handshake with it."""
    from .responses import to_response

    response = to_response(early, 403)
    await websocket.deny(response.status_code, response.body, dict(response.headers))


async def _fail(websocket: WebSocket, exc: Exception, route: Route) -> None:
    """Answer an exception from the hooks, the parameters or the handler."""
    if isinstance(exc, WebSocketDisconnect):
        return  # the client left (or a limit closed the connection): nothing to report
    state = websocket.application_state
    detail: Any
    if state is WebSocketState.CONNECTING:
        if isinstance(exc, RequestValidationError):
            status, detail = 403, exc.errors
            reason = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors
            )
        elif isinstance(exc, HTTPException):
            status, detail, reason = exc.status_code, exc.detail, str(exc.detail)
        else:
            logger.error("WebSocket handshake for %s failed in %r", websocket.path, route.name, exc_info=exc)
            status, detail, reason = 403, "Forbidden", ""
        await _refuse(websocket, status, detail, reason, exc)
        return
    if state is WebSocketState.CONNECTED:
        if isinstance(exc, HTTPException):
            # Raised on purpose (a permission checked mid-conversation): the client's fault, said
            # in the close reason, not a server error.
            await websocket.close(1008, str(exc.detail))
            return
        logger.error("WebSocket handler %r failed on %s; closing with 1011", route.name, websocket.path, exc_info=exc)
        await websocket.close(1011, "internal error")
    else:
        logger.error("WebSocket handler %r failed on %s after closing", route.name, websocket.path, exc_info=exc)


async def _refuse(websocket: WebSocket, status: int, detail: Any, reason: str, exc: Exception) -> None:
    """Refuse the handshake: an HTTP response where the server can send one, else close 1008."""
    if websocket.client_state is WebSocketState.CONNECTING:
        await websocket._await_connect()
    websocket.application_state = WebSocketState.DISCONNECTED
    if "websocket.http.response" in (websocket.scope.get("extensions") or {}):
        body = json_encoder.encode({"detail": detail})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if isinstance(exc, HTTPException) and exc.headers:
            headers += _raw_headers(exc.headers)
        await websocket._send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await websocket._send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        await websocket._send({"type": "websocket.close", "code": 1008, "reason": _close_reason(reason)})


async def serve_websocket(app: Covet, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve a ``websocket`` scope: the route's runner, a mounted app, or a refusal (no route: 403/1008)."""
    from .routing import FOUND, MOUNTED

    path = scope["path"]
    root = scope.get("root_path")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    kind, target, params = app.router.tables["websocket"].resolve("GET", path)
    if kind == FOUND:
        scope["path_params"] = params
        scope["route"] = target
        await target.runner(scope, receive, send, target)
    elif kind == MOUNTED:
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "").rstrip("/") + target.prefix
        child.pop("path_params", None)
        await target.app(child, receive, send)
    else:
        websocket = WebSocket(scope, receive, send)
        await _refuse(websocket, 404, "Not Found", "no WebSocket route for this path", HTTPException(404))


def websocket_limits(app: Covet, options: Mapping[str, Any]) -> WebSocketLimits:
    """A route's limits from its options and the app's defaults."""
    return WebSocketLimits(
        options.get("max_message_size", app.websocket_max_message_size),
        options.get("receive_timeout"),
        options.get("send_queue_size", DEFAULT_SEND_QUEUE_SIZE),
    )


def check_websocket_options(path: str, options: Mapping[str, Any]) -> None:
    """Refuse unknown options for a WebSocket route, naming the known ones."""
    unknown = set(options) - WEBSOCKET_OPTIONS
    if unknown:
        raise TypeError(
            f"Unknown WebSocket route option(s) {sorted(unknown)} for {path!r}; known options are "
            f"{sorted(WEBSOCKET_OPTIONS)}."
        )
    WebSocketLimits(
        options.get("max_message_size", 1), options.get("receive_timeout"), options.get("send_queue_size", 1)
    )
    from .asyncapi import check_message_type

    for option in ("receive", "send"):
        if options.get(option) is not None:
            check_message_type(option, options[option], path)


def add_websocket_route(
    app: Covet,
    path: str,
    endpoint: Callable[..., Any],
    name: str,
    scaffolds: Sequence[Scaffold],
    options: Mapping[str, Any],
) -> Route:
    """Register a WebSocket route on ``app`` (``app.websocket`` and blueprints end here)."""
    from .routing import Route

    options = {key: value for key, value in options.items() if key != "scope_type"}
    check_websocket_options(path, options)
    if not callable(endpoint):
        raise TypeError(f"WebSocket route {path!r} needs a callable handler, got {endpoint!r}.")
    from .asyncapi import install_asyncapi_route

    route = Route(path, endpoint, methods=["GET"], name=name, scaffolds=scaffolds, options=options, scope_type="websocket")
    check_websocket_plan(route.plan, path)
    app.router.add(route)
    app.asyncapi_schema = None
    install_asyncapi_route(app)
    return route
