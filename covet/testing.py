"""In-process test clients: drive any ASGI app (covet or not) through httpx, with no sockets.

``TestClient`` is synchronous (the app runs on an event loop in a helper thread, via an anyio
blocking portal); ``AsyncTestClient`` runs the app on the caller's loop. Both accept httpx's
request arguments and return ``httpx.Response`` objects, keep cookies across calls, follow
redirects by default, and run the app's lifespan when used as context managers.

Example::

    from covet.testing import TestClient

    def test_hello():
        with TestClient(app) as client:
            assert client.get("/hello/ada").json() == {"message": "Hello, ada!"}
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("covet.testing needs httpx: pip install 'covet[testing]' (or covet[dev]).") from exc

from ._parsing import decode_path
from ._testing_ws import (
    AsyncWebSocketTestSession,
    WebSocketRejected,
    WebSocketTestSession,
    _Channel,
    websocket_scope,
)
from .types import ASGIApp, Message

__all__ = ["TestClient", "AsyncTestClient", "WebSocketRejected", "WebSocketTestSession", "AsyncWebSocketTestSession"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Lifespan:
    """Runs an app's lifespan protocol as a background task and reports startup/shutdown."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.to_app_send, self.to_app_receive = anyio.create_memory_object_stream[Message](math.inf)
        self.from_app_send, self.from_app_receive = anyio.create_memory_object_stream[Message](math.inf)
        self.error: BaseException | None = None

    async def run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self.to_app_receive.receive, self.from_app_send.send)
        except BaseException as exc:  # reported through startup()/shutdown()
            self.error = exc
        finally:
            await self.from_app_send.aclose()

    async def _exchange(self, kind: str) -> None:
        await self.to_app_send.send({"type": f"lifespan.{kind}"})
        try:
            message = await self.from_app_receive.receive()
        except anyio.EndOfStream:
            if self.error is not None and kind == "startup":
                # The app does not speak lifespan (it raised at once): serve without it, as servers do.
                return
            return
        if message["type"] == f"lifespan.{kind}.failed":
            # Wait for the app task to finish so the original exception is available.
            with contextlib.suppress(anyio.EndOfStream):
                await self.from_app_receive.receive()
            if self.error is not None:
                raise self.error
            raise RuntimeError(f"Application {kind} failed: {message.get('message', '')}")

    async def startup(self) -> None:
        try:
            await self._exchange("startup")
        except BaseException:
            await self.close()
            raise

    async def shutdown(self) -> None:
        try:
            await self._exchange("shutdown")
        finally:
            await self.close()

    async def close(self) -> None:
        # The app task closes from_app_send itself; to_app_receive stays open until here so an
        # app without lifespan support never sees a broken stream.
        for stream in (self.to_app_send, self.to_app_receive, self.from_app_receive):
            await stream.aclose()


async def _call_app(
    app: ASGIApp,
    request: httpx.Request,
    body: bytes,
    *,
    raise_server_exceptions: bool,
    root_path: str,
    state: dict[str, Any],
    client: tuple[str, int],
) -> httpx.Response:
    url = request.url
    scheme = url.scheme
    port = url.port or _DEFAULT_PORTS.get(scheme, 80)
    raw_path = url.raw_path.split(b"?", 1)[0]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": scheme,
        "path": decode_path(raw_path),
        "raw_path": raw_path,
        "query_string": url.query,
        "root_path": root_path,
        "headers": [(key.lower(), value) for key, value in request.headers.raw],
        "client": client,
        "server": (url.host, port),
        "state": dict(state),
        "extensions": {},
    }
    request_sent = False
    response_done = anyio.Event()
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await response_done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            if status is not None:
                raise RuntimeError("The app sent 'http.response.start' twice.")
            status = message["status"]
            headers.extend((bytes(k), bytes(v)) for k, v in message.get("headers", ()))
        elif message["type"] == "http.response.body":
            if status is None:
                raise RuntimeError("The app sent a body before 'http.response.start'.")
            if response_done.is_set():
                raise RuntimeError("The app sent body data after the response was complete.")
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                response_done.set()

    try:
        await app(scope, receive, send)
    except BaseException:
        response_done.set()
        if raise_server_exceptions:
            raise
        if status is None:
            status, headers, chunks = 500, [], []
    response_done.set()
    if status is None:
        raise RuntimeError("The app returned without sending a response.")
    return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)


def _cookie_header(client: httpx.Client | httpx.AsyncClient, extra: Any) -> str:
    # httpx deprecates per-request cookies; merge them with the jar into one Cookie header instead.
    merged = {cookie.name: cookie.value for cookie in client.cookies.jar}
    merged.update(dict(httpx.Cookies(extra)))
    return "; ".join(f"{name}={value}" for name, value in merged.items())


def _merge_request_cookies(client: httpx.Client | httpx.AsyncClient, kwargs: dict[str, Any]) -> None:
    cookies = kwargs.pop("cookies", None)
    if cookies:
        headers = httpx.Headers(kwargs.get("headers"))
        headers["cookie"] = _cookie_header(client, cookies)
        kwargs["headers"] = headers


class _SyncTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        client = self.client
        with client._portal_for_call() as portal:
            return portal.call(
                lambda: _call_app(
                    client.app,
                    request,
                    body,
                    raise_server_exceptions=client.raise_server_exceptions,
                    root_path=client.root_path,
                    state=client._lifespan.state if client._lifespan else {},
                    client=client.client_address,
                )
            )


class TestClient(httpx.Client):
    """A synchronous httpx client wired straight into an ASGI app.

    ``raise_server_exceptions=False`` returns the app's 500 response instead of raising.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        *,
        follow_redirects: bool = True,
        cookies: Any = None,
        headers: Any = None,
        client: tuple[str, int] = ("testclient", 50000),
        backend: str = "asyncio",
        **kwargs: Any,
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.client_address = client
        self.backend = backend
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._portal_cm: Any = None
        self._lifespan: _Lifespan | None = None
        super().__init__(
            base_url=base_url,
            transport=_SyncTransport(self),
            follow_redirects=follow_redirects,
            cookies=cookies,
            headers=headers,
            **kwargs,
        )

    @contextlib.contextmanager
    def _portal_for_call(self) -> Iterator[anyio.from_thread.BlockingPortal]:
        if self._portal is not None:
            yield self._portal
        else:
            with anyio.from_thread.start_blocking_portal(self.backend) as portal:
                yield portal

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:
        _merge_request_cookies(self, kwargs)
        return super().request(method, url, **kwargs)

    @contextlib.contextmanager
    def websocket_connect(
        self, url: str, subprotocols: list[str] | None = None, **kwargs: Any
    ) -> Iterator[WebSocketTestSession]:
        """Open a WebSocket to the app: ``with client.websocket_connect("/ws") as ws: ws.send_text("hi")``.

        ``subprotocols`` are offered in the handshake; ``params``, ``headers`` and ``cookies`` as for
        requests. Raises :class:`WebSocketRejected` when the app refuses the handshake. Leaving the
        block closes the connection (1000) and waits for the handler to end.
        """
        _merge_request_cookies(self, kwargs)
        request = self.build_request("GET", url, **kwargs)
        scope = websocket_scope(
            request, subprotocols, self.root_path, self._lifespan.state if self._lifespan else {}, self.client_address
        )
        with self._portal_for_call() as portal:
            channel = _Channel(self.app, scope, self.raise_server_exceptions)
            portal.start_task_soon(channel.run_app)
            try:
                portal.call(channel.connect)
                yield WebSocketTestSession(channel, portal)
            finally:
                portal.call(channel.finish)

    def __enter__(self) -> TestClient:
        self._portal_cm = anyio.from_thread.start_blocking_portal(self.backend)
        self._portal = self._portal_cm.__enter__()
        self._lifespan = _Lifespan(self.app)
        try:
            self._portal.start_task_soon(self._lifespan.run)
            self._portal.call(self._lifespan.startup)
        except BaseException:
            self._close_portal()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self._portal is not None and self._lifespan is not None:
                self._portal.call(self._lifespan.shutdown)
        finally:
            self._close_portal()
            self.close()

    def _close_portal(self) -> None:
        portal_cm, self._portal_cm, self._portal = self._portal_cm, None, None
        if portal_cm is not None:
            portal_cm.__exit__(None, None, None)


class _AsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        client = self.client
        return await _call_app(
            client.app,
            request,
            body,
            raise_server_exceptions=client.raise_server_exceptions,
            root_path=client.root_path,
            state=client._lifespan.state if client._lifespan else {},
            client=client.client_address,
        )


class AsyncTestClient(httpx.AsyncClient):
    """The async twin of :class:`TestClient`: ``async with AsyncTestClient(app) as client``."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        *,
        follow_redirects: bool = True,
        cookies: Any = None,
        headers: Any = None,
        client: tuple[str, int] = ("testclient", 50000),
        **kwargs: Any,
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.client_address = client
        self._lifespan: _Lifespan | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        super().__init__(
            base_url=base_url,
            transport=_AsyncTransport(self),
            follow_redirects=follow_redirects,
            cookies=cookies,
            headers=headers,
            **kwargs,
        )

    async def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:
        _merge_request_cookies(self, kwargs)
        return await super().request(method, url, **kwargs)

    @contextlib.asynccontextmanager
    async def websocket_connect(
        self, url: str, subprotocols: list[str] | None = None, **kwargs: Any
    ) -> AsyncIterator[AsyncWebSocketTestSession]:
        """The async twin of :meth:`TestClient.websocket_connect` (``async with``, ``await ws.send_text``)."""
        _merge_request_cookies(self, kwargs)
        request = self.build_request("GET", url, **kwargs)
        scope = websocket_scope(
            request, subprotocols, self.root_path, self._lifespan.state if self._lifespan else {}, self.client_address
        )
        channel = _Channel(self.app, scope, self.raise_server_exceptions)
        error: Exception | None = None
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(channel.run_app)
            # Exceptions leave the task group unwrapped: a test expects WebSocketDisconnect itself,
            # not an ExceptionGroup holding it.
            try:
                try:
                    await channel.connect()
                    yield AsyncWebSocketTestSession(channel)
                finally:
                    await channel.finish()
            except Exception as exc:
                error = exc
        if error is not None:
            raise error

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        self._lifespan = _Lifespan(self.app)
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._lifespan.run)
        try:
            await self._lifespan.startup()
        except BaseException as exc:
            await self._task_group.__aexit__(type(exc), exc, exc.__traceback__)
            self._task_group = None
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            if self._lifespan is not None and self._task_group is not None:
                await self._lifespan.shutdown()
        finally:
            if self._task_group is not None:
                task_group, self._task_group = self._task_group, None
                await task_group.__aexit__(None, None, None)
            await super().__aexit__(*exc_info)
