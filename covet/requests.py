"""The Request: a lazy view over one ASGI http scope and its body.

Nothing is parsed until it is touched: headers, query, cookies and the body each decode on first
access and are cached. Body reading enforces its size limit while streaming, so an oversized
upload is refused with 413 after at most the limit has been read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from time import monotonic
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from ._deadlines import ReadDeadlines, loop_deadlines
from ._flask_names import REQUEST_ATTRIBUTES, install_flask_names, request_attribute_error
from ._hosts import is_valid_host
from ._json import JSON_DECODE_ERRORS, malformed_json
from ._parsing import ParseError, find_header, parse_content_type, parse_cookie_header, parse_query_string
from .datastructures import URL, Address, FormData, Headers, QueryParams, State
from .exceptions import ClientDisconnect, HTTPException
from .formparsers import DEFAULT_FORM_LIMITS, FormLimits, parse_form
from .types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .app import Covet
    from .middleware.sessions import Session

# Makes an instance without calling __init__ (request.headers, request.state, request_of).
_new = object.__new__

__all__ = ["Request", "HTTPConnection", "BodyLimits", "read_body"]

_EMPTY = b""


async def _no_receive() -> dict[str, Any]:
    raise RuntimeError("This request has no body channel (it was built without 'receive').")


class HTTPConnection:
    """What http requests and websockets share: URL, headers, query, cookies, client, state."""

    __slots__ = ("scope", "_headers", "_query", "_cookies", "_url", "_state")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._url: URL | None = None
        self._state: State | None = None

    @property
    def app(self) -> Covet:
        return self.scope["app"]  # type: ignore[no-any-return]

    @property
    def path(self) -> str:
        return self.scope["path"]  # type: ignore[no-any-return]

    @property
    def path_params(self) -> dict[str, Any]:
        return self.scope.get("path_params", {})  # type: ignore[no-any-return]

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            # A view over the scope's own list, not a copy: made here without Headers.__init__
            # (whose raw= copies), and without a call, on the path every hook reading a header takes.
            headers = self._headers = _new(Headers)
            headers._raw = self.scope["headers"]
        return headers

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            try:
                self._query = QueryParams(parse_query_string(self.scope.get("query_string", _EMPTY)))
            except ParseError as exc:
                raise HTTPException(400, str(exc)) from None
        return self._query

    @property
    def args(self) -> QueryParams:
        """Flask's name for :attr:`query_params`: ``request.args.get("page")``."""
        return self.query_params

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            cookies: dict[str, str] = {}
            try:
                for key, value in self.scope["headers"]:
                    if key == b"cookie":
                        for name, text in parse_cookie_header(value.decode("latin-1")).items():
                            cookies.setdefault(name, text)
            except ParseError as exc:
                raise HTTPException(400, str(exc)) from None
            self._cookies = cookies
        return self._cookies

    @property
    def url(self) -> URL:
        """The absolute URL of the request, its authority taken from the ``Host`` header.

        Raises ``HTTPException`` 400 when Host is not ``host[:port]`` or is sent more than once
        (RFC 9110 §7.2, RFC 9112 §3.2), so a client cannot put a path or query of its choosing
        into the URLs built from it (``url_for``, password-reset links).
        """
        if self._url is None:
            scope = self.scope
            scheme = scope.get("scheme", "http")
            host = find_header(scope["headers"], b"host")
            if host is not None:
                netloc = checked_host(scope["headers"], host)
            else:
                server = scope.get("server")
                if server is None:
                    netloc = "localhost"
                else:
                    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)
                    netloc = server[0] if server[1] == default else f"{server[0]}:{server[1]}"
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and not path.startswith(root):
                path = root + path
            query = scope.get("query_string", _EMPTY).decode("latin-1")
            self._url = URL(scheme, netloc, path, query)
        return self._url

    @property
    def base_url(self) -> URL:
        root = self.scope.get("root_path", "")
        return self.url.replace(path=root.rstrip("/") + "/", query="")

    @property
    def client(self) -> Address | None:
        client = self.scope.get("client")
        return Address(client[0], client[1]) if client else None

    @property
    def state(self) -> State:
        state = self._state
        if state is None:
            # Over scope["state"] itself (middleware put values there), without __init__'s copy.
            state = self._state = _new(State)
            state.__dict__ = self.scope.setdefault("state", {})
        return state

    @property
    def session(self) -> Session:
        """The session (``covet.middleware.SessionMiddleware``): a mutable mapping with
        ``regenerate()`` and ``clear()``; the same object in sync and async code."""
        if "session" not in self.scope:
            raise RuntimeError(
                "request.session needs the session middleware: "
                "app.add_middleware(covet.middleware.SessionMiddleware, secret_key=...)."
            )
        return self.scope["session"]  # type: ignore[no-any-return]

    @property
    def id(self) -> str:
        """The request's id, from ``covet.observability.RequestIdMiddleware`` (``X-Request-ID``)."""
        request_id = self.scope.get("request_id")
        if request_id is None:
            raise RuntimeError(
                "request.id needs the request id middleware: "
                "app.add_middleware(covet.observability.RequestIdMiddleware)."
            )
        return request_id  # type: ignore[no-any-return]

    def url_for(self, name: str, /, **params: Any) -> str:
        """The absolute URL of a named route, for links that leave the site (emails, redirects)."""
        path = self.app.router.url_path_for(name, params)
        root = self.scope.get("root_path", "").rstrip("/")
        url = self.url
        return f"{url.scheme}://{url.netloc}{root}{path}"


class BodyLimits:
    """The limits a request body is read under: ``max_body_size``, ``form_limits``, ``body_timeout``.

    The app holds the defaults (``Covet(max_body_size=..., form_limits=..., body_timeout=...)``);
    a route that sets any of them as route options gets its own ``BodyLimits``, resolved once when
    it is registered. The app puts the matched route's limits in the request's box (see
    covet.globals), and the body is read under them whether or not a Request is ever made.
    """

    __slots__ = ("max_body_size", "form_limits", "body_timeout")

    def __init__(
        self,
        max_body_size: int | None = 1_048_576,
        form_limits: FormLimits = DEFAULT_FORM_LIMITS,
        body_timeout: float | None = 60.0,
    ) -> None:
        self.max_body_size = check_max_body_size(max_body_size)
        self.form_limits = check_form_limits(form_limits)
        self.body_timeout = check_body_timeout(body_timeout)

    def __repr__(self) -> str:
        return (
            f"BodyLimits(max_body_size={self.max_body_size!r}, form_limits={self.form_limits!r}, "
            f"body_timeout={self.body_timeout!r})"
        )


def check_max_body_size(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"max_body_size takes a number of bytes >= 0 (or None for no limit), got {value!r}.")
    return value


def check_form_limits(value: Any) -> FormLimits:
    if not isinstance(value, FormLimits):
        raise TypeError(
            f"form_limits takes a covet.formparsers.FormLimits, got {value!r}; "
            "write form_limits=FormLimits(max_files=10) (or app.form_limits.replace(...))."
        )
    return value


def check_body_timeout(value: Any) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
        raise ValueError(f"body_timeout takes a number of seconds > 0 (or None for no limit), got {value!r}.")
    return None if value is None else float(value)


class Request(HTTPConnection):
    """An HTTP request. Handlers get one by declaring a parameter annotated ``Request``.

    Example::

        @app.post("/echo")
        async def echo(request: Request):
            return {"path": request.path, "json": await request.json()}
    """

    __slots__ = (
        "_receive",
        "_send",
        "_body",
        "_json",
        "_form",
        "_stream_consumed",
        "_pending",
        "_disconnected",
        "max_body_size",
        "form_limits",
        "body_timeout",
        # body-reading state, set when reading starts
        "_expected",
        "_limit",
        "_limit_name",
        "_received",
        "_body_done",
        "_deadline",
        "_deadlines",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive = _no_receive,
        send: Send | None = None,
        max_body_size: int | None = None,
        form_limits: FormLimits = DEFAULT_FORM_LIMITS,
        body_timeout: float | None = None,
    ) -> None:
        self.scope = scope
        self._headers = None
        self._query = None
        self._cookies = None
        self._url = None
        self._state = None
        self._receive = receive
        self._send = send
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._form: FormData | None = None
        self._stream_consumed = False
        self._pending: Message | None = None  # a message is_disconnected() took off the channel
        self._disconnected = False
        #: The limits the body is read under: the matched route's, else the app's (see
        #: :class:`BodyLimits`).
        self.max_body_size = max_body_size
        self.form_limits = form_limits
        self.body_timeout = body_timeout

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters ('' when absent)."""
        return media_type_of(self.scope["headers"])

    def stream(self) -> AsyncGenerator[bytes, None]:
        """The body as it arrives, chunk by chunk, within ``max_body_size`` and ``body_timeout``.

        Raises ``HTTPException`` 413 past the size limit (before reading at all when Content-Length
        says so), 408 when the whole body has not arrived within ``body_timeout`` seconds, and
        :class:`~covet.exceptions.ClientDisconnect` if the client goes away midway.
        """
        return self._stream(self.max_body_size, "max_body_size")

    async def _stream(self, limit: int | None, limit_name: str) -> AsyncGenerator[bytes, None]:
        # The body within ``limit`` bytes; ``limit_name`` is the option a 413 tells the user to raise.
        if self._body is not None:
            yield self._body
            return
        self._start_reading(limit, limit_name)
        while not self._body_done:
            chunk = await self._next_chunk()
            if chunk:
                yield chunk

    def _start_reading(self, limit: int | None, limit_name: str = "max_body_size") -> None:
        if self._stream_consumed:
            raise RuntimeError("The request body was already streamed; it can only be read once.")
        self._stream_consumed = True
        # Reading state lives in slots set here, not in __init__: bodiless requests never pay for it.
        self._limit = limit
        self._limit_name = limit_name
        self._expected = _expected_length(self.scope["headers"], limit, limit_name)
        self._received = 0
        self._body_done = False
        if self.body_timeout is not None:
            self._deadline = monotonic() + self.body_timeout
            self._deadlines = loop_deadlines()

    def _take_body(self, body: bytes | bool) -> None:
        """Adopt a body the app already read (see :func:`read_body`); False: its reading failed."""
        if body is not False:
            self._body = body  # type: ignore[assignment]
        self._stream_consumed = True

    async def _next_chunk(self) -> bytes:
        """The next piece of the body (maybe empty); sets ``_body_done`` after the last one.

        For ``stream()``, and for ``body()`` after ``is_disconnected()`` kept a message back
        (otherwise ``body()`` reads with :func:`read_body`).
        """
        timeout = self.body_timeout
        if self._pending is not None:
            message, self._pending = self._pending, None
        elif timeout is None:
            message = await self._receive()
        else:
            message = await _receive_by(self._receive, self._deadline, self._deadlines, timeout)
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", _EMPTY)
            expected = self._expected
            if chunk:
                self._received = _counted(self._received + len(chunk), self._limit, expected, self._limit_name)
            if not message.get("more_body", False):
                self._body_done = True
                if expected is not None and self._received != expected:
                    raise _shorter_than_declared()
            return chunk
        if kind == "http.disconnect":
            self._disconnected = True
            raise ClientDisconnect()
        return _EMPTY

    async def is_disconnected(self) -> bool:
        """Whether the client has gone away, checked without waiting.

        Useful in long handlers and streams: stop working for a client that left. It looks at the
        next message on the channel only if one is ready; a body chunk found there is kept for
        ``stream()``, so checking never loses data.

        Example::

            @app.post("/report")
            async def report(request: Request):
                for step in expensive_steps():
                    if await request.is_disconnected():
                        return None  # nobody is listening any more
                    await step()
        """
        if self._disconnected:
            return True
        if self._pending is not None:
            return False  # one unread message is held already; keep memory bounded
        message: Message | None = None
        with anyio.CancelScope() as scope:
            # Cancelled before it starts: receive() returns only what is already waiting.
            scope.cancel()
            message = await self._receive()
        if message is not None:
            if message["type"] == "http.disconnect":
                self._disconnected = True
            self._pending = message
        return self._disconnected

    async def body(self) -> bytes:
        """The whole body (at most ``max_body_size`` bytes, else 413)."""
        if self._body is None:
            if self._pending is None and not self._stream_consumed:
                self._stream_consumed = True
                try:
                    self._body = await read_body(self.scope, self._receive, self.max_body_size, self.body_timeout)
                except ClientDisconnect:
                    self._disconnected = True
                    raise
            else:
                # is_disconnected() kept a message back (or the stream was started: that raises).
                self._start_reading(self.max_body_size)
                first = await self._next_chunk()
                if self._body_done:
                    self._body = first
                else:
                    # One growing buffer: memory follows the body's size, not its chunk count.
                    buffer = bytearray(first)
                    while not self._body_done:
                        buffer += await self._next_chunk()
                    self._body = bytes(buffer)
        return self._body

    async def json(self) -> Any:
        """The body decoded as JSON; malformed or too deeply nested JSON is a 400 saying why."""
        if self._json is _UNSET:
            body = await self.body()
            try:
                self._json = msgspec.json.decode(body)
            except JSON_DECODE_ERRORS as exc:
                raise malformed_json(exc) from None
        return self._json

    async def form(self) -> FormData:
        """Fields and uploaded files of an urlencoded or multipart form body, parsed as it streams.

        Bounded by ``body_timeout`` and ``form_limits`` (see :class:`~covet.formparsers.FormLimits`),
        and an urlencoded body, held in memory, by ``max_body_size``; a multipart body is bounded by
        ``form_limits.max_multipart_size`` instead, its files spooling to disk. A size limit broken
        is a 413, a shape limit a 400, a content type that is not a form a 415. Uploads are closed
        when the request ends.
        """
        if self._form is None:
            raw_type = find_header(self.scope["headers"], b"content-type")
            content_type = raw_type.decode("latin-1") if raw_type else ""
            if self.content_type == "multipart/form-data":  # a malformed header is a 400 there
                chunks = self._stream(self.form_limits.max_multipart_size, "max_multipart_size")
            else:
                chunks = self._stream(self.max_body_size, "max_body_size")
            try:
                self._form = await parse_form(chunks, content_type, self.form_limits)
            except ParseError as exc:
                raise HTTPException(getattr(exc, "status_code", 400), str(exc)) from None
            finally:
                await chunks.aclose()
        return self._form

    async def close(self) -> None:
        """Release what reading the body made: the form's uploads (their temporary files)."""
        if self._form is not None:
            await self._form.close()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"



# Flask's request.get_json() and friends raise an error naming the covet way (covet._flask_names).
install_flask_names(Request, REQUEST_ATTRIBUTES, request_attribute_error)

async def read_body(scope: Scope, receive: Receive, max_body_size: int | None, body_timeout: float | None) -> bytes:
    """The whole body of the request ``scope`` describes, read from ``receive``.

    Within ``max_body_size`` bytes (413 past it, before reading at all when Content-Length says
    so) and ``body_timeout`` seconds from the start (408); a body that disagrees with its
    Content-Length is a 400, and a client that leaves midway raises ClientDisconnect.

    :meth:`Request.body` reads with this, and so does the app itself for a handler that takes a
    JSON body but not the Request, which then is never made.
    """
    expected = _expected_length(scope["headers"], max_body_size)
    deadlines = task = None
    if body_timeout is not None:
        deadlines = loop_deadlines()
        if deadlines is None:
            return await _read_body_in_cancel_scope(scope, receive, max_body_size, body_timeout)
        # One registration for the whole read (covet._deadlines): between two receive() calls
        # this task only counts bytes, so the timer's cancellation can land nowhere else.
        task = deadlines.enter(monotonic() + body_timeout)
    # A bytearray, not a list of chunks: a body sent a byte at a time would otherwise cost a list
    # slot and an object per byte (tens of times its size); this is the size, amortised.
    buffer: bytearray | None = None
    received = 0
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                chunk: bytes = message.get("body", _EMPTY)
                if chunk:
                    received += len(chunk)
                    if (max_body_size is not None and received > max_body_size) or (
                        expected is not None and received > expected
                    ):
                        _counted(received, max_body_size, expected)  # raises the 413 or 400
                if not message.get("more_body", False):
                    if expected is not None and received != expected:
                        raise _shorter_than_declared()
                    if buffer is None:
                        return chunk  # the usual case: the whole body in one message
                    buffer += chunk
                    return bytes(buffer)
                if buffer is None:
                    buffer = bytearray(chunk)
                else:
                    buffer += chunk
            elif kind == "http.disconnect":
                raise ClientDisconnect()
    except asyncio.CancelledError:
        if task is not None and deadlines.timed_out(task):  # type: ignore[union-attr]
            raise _timed_out(body_timeout) from None  # type: ignore[arg-type]
        raise  # cancelled by someone else (or no deadline): theirs wins
    finally:
        if task is not None:
            deadlines.leave(task)  # type: ignore[union-attr]


async def _read_body_in_cancel_scope(
    scope: Scope, receive: Receive, max_body_size: int | None, body_timeout: float
) -> bytes:
    # Event loops other than asyncio (trio): the whole read inside one anyio cancel scope.
    with anyio.move_on_after(body_timeout):
        return await read_body(scope, receive, max_body_size, None)
    raise _timed_out(body_timeout)


def media_type_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The body's media type from raw ASGI headers, lower-cased, without parameters ('' if none)."""
    raw = find_header(headers, b"content-type")
    if not raw:
        return ""
    try:
        return parse_content_type(raw.decode("latin-1"))[0]
    except ParseError as exc:
        raise HTTPException(400, f"Invalid Content-Type header: {exc}") from None


def _expected_length(
    headers: list[tuple[bytes, bytes]], limit: int | None, limit_name: str = "max_body_size"
) -> int | None:
    """The body length Content-Length declares (None without one); 400 if malformed, 413 if over."""
    raw = find_header(headers, b"content-length")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise HTTPException(400, f"Invalid Content-Length header: {raw.decode('latin-1')!r}.", _CLOSE)
    expected = int(raw)
    if limit is not None and expected > limit:
        raise _too_large(limit, limit_name)
    return expected


def _counted(received: int, limit: int | None, expected: int | None, limit_name: str = "max_body_size") -> int:
    """``received`` (bytes of body so far), checked: 413 past ``limit``, 400 past Content-Length."""
    if limit is not None and received > limit:
        raise _too_large(limit, limit_name)
    if expected is not None and received > expected:
        raise HTTPException(400, "Request body is longer than its Content-Length.", _CLOSE)
    return received


# A body that disagrees with its own framing leaves the rest of the connection in doubt: what the
# server reads next may be a request smuggled inside this one (RFC 9112 §6.3).
_CLOSE = {"Connection": "close"}


def _too_large(limit: int, limit_name: str = "max_body_size") -> HTTPException:
    """The 413 for a body over ``limit``, naming the option that raises it."""
    if limit_name == "max_multipart_size":
        return HTTPException(
            413,
            f"Multipart body exceeds max_multipart_size ({limit} bytes); raise it with "
            "form_limits=FormLimits(max_multipart_size=...) on the app or the route.",
        )
    return HTTPException(
        413,
        f"Request body exceeds max_body_size ({limit} bytes); raise it with "
        "Covet(max_body_size=...) or the route option max_body_size=.",
    )


def _shorter_than_declared() -> HTTPException:
    return HTTPException(400, "Request body is shorter than its Content-Length.", _CLOSE)


def _timed_out(timeout: float) -> HTTPException:
    return HTTPException(408, f"Request body not received within body_timeout ({timeout:g} s).")


async def _receive_by(receive: Receive, deadline: float, deadlines: ReadDeadlines | None, timeout: float) -> Message:
    """``await receive()``, or 408 if nothing came by ``deadline`` (``time.monotonic()`` seconds).

    On asyncio the wait is registered with the loop's one timer (``deadlines``, see
    covet._deadlines); other event loops (trio, ``deadlines`` None) wait in a cancel scope.
    """
    if deadlines is None:
        with anyio.move_on_after(deadline - monotonic()):
            return await receive()
        raise _timed_out(timeout)
    task = deadlines.enter(deadline)
    try:
        return await receive()
    except asyncio.CancelledError:
        if deadlines.timed_out(task):
            raise _timed_out(timeout) from None
        raise  # cancelled by someone else too: theirs wins
    finally:
        deadlines.leave(task)


def checked_host(headers: list[tuple[bytes, bytes]], host: bytes) -> str:
    """The Host header's value, or ``HTTPException`` 400 when it is not one valid ``host[:port]``."""
    netloc = host.decode("latin-1")
    if not is_valid_host(netloc):
        raise HTTPException(400, f"Invalid Host header: {netloc[:100]!r}; expected host[:port] (RFC 9110 §7.2).")
    if sum(1 for key, _ in headers if key == b"host") > 1:
        raise HTTPException(400, "More than one Host header (RFC 9112 §3.2).")
    return netloc


class _Unset:
    __slots__ = ()


_UNSET: Any = _Unset()
