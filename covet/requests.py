"""The Request: a lazy view over one ASGI http scope and its body.

Nothing is parsed until it is touched: headers, query, cookies and the body each decode on first
access and are cached. Body reading enforces ``max_body_size`` while streaming, so an oversized
upload is refused with 413 after at most the limit has been read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec

from ._parsing import ParseError, find_header, parse_content_type, parse_cookie_header, parse_query_string
from .datastructures import URL, Address, FormData, Headers, QueryParams, State
from .exceptions import ClientDisconnect, HTTPException
from .types import Receive, Scope, Send

if TYPE_CHECKING:
    from .app import Covet

__all__ = ["Request", "HTTPConnection"]

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
        if self._headers is None:
            self._headers = Headers(raw=self.scope["headers"])
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            try:
                self._query = QueryParams(parse_query_string(self.scope.get("query_string", _EMPTY)))
            except ParseError as exc:
                raise HTTPException(400, str(exc)) from None
        return self._query

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
        if self._url is None:
            scope = self.scope
            scheme = scope.get("scheme", "http")
            host = find_header(scope["headers"], b"host")
            if host is not None:
                netloc = host.decode("latin-1")
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
        if self._state is None:
            self._state = State()
            self._state.__dict__["_state"] = self.scope.setdefault("state", {})
        return self._state

    @property
    def session(self) -> dict[str, Any]:
        if "session" not in self.scope:
            raise RuntimeError(
                "request.session needs the session middleware: "
                "app.add_middleware(covet.middleware.SessionMiddleware, secret_key=...)."
            )
        return self.scope["session"]  # type: ignore[no-any-return]

    def url_for(self, name: str, /, **params: Any) -> str:
        """The absolute URL of a named route, for links that leave the site (emails, redirects)."""
        path = self.app.router.url_path_for(name, params)
        root = self.scope.get("root_path", "").rstrip("/")
        url = self.url
        return f"{url.scheme}://{url.netloc}{root}{path}"


class Request(HTTPConnection):
    """An HTTP request. Handlers get one by declaring a parameter annotated ``Request``.

    Example::

        @app.post("/echo")
        async def echo(request: Request):
            return {"path": request.path, "json": await request.json()}
    """

    __slots__ = ("_receive", "_send", "_body", "_json", "_form", "_stream_consumed", "max_body_size")

    def __init__(
        self,
        scope: Scope,
        receive: Receive = _no_receive,
        send: Send | None = None,
        max_body_size: int | None = None,
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
        self.max_body_size = max_body_size

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters ('' when absent)."""
        raw = find_header(self.scope["headers"], b"content-type")
        return parse_content_type(raw.decode("latin-1"))[0] if raw else ""

    def _expected_length(self) -> int | None:
        raw = find_header(self.scope["headers"], b"content-length")
        if raw is None:
            return None
        if not raw.isdigit() or len(raw) > 18:
            raise HTTPException(400, f"Invalid Content-Length header: {raw.decode('latin-1')!r}.")
        length = int(raw)
        limit = self.max_body_size
        if limit is not None and length > limit:
            raise HTTPException(413, f"Request body too large: the limit is {limit} bytes.")
        return length

    async def stream(self) -> AsyncIterator[bytes]:
        """The body as it arrives, chunk by chunk, within ``max_body_size``."""
        if self._body is not None:
            yield self._body
            return
        if self._stream_consumed:
            raise RuntimeError("The request body was already streamed; it can only be read once.")
        self._stream_consumed = True
        expected = self._expected_length()
        limit = self.max_body_size
        received = 0
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "http.request":
                chunk = message.get("body", _EMPTY)
                if chunk:
                    received += len(chunk)
                    if limit is not None and received > limit:
                        raise HTTPException(413, f"Request body too large: the limit is {limit} bytes.")
                    if expected is not None and received > expected:
                        raise HTTPException(400, "Request body is longer than its Content-Length.")
                    yield chunk
                if not message.get("more_body", False):
                    break
            elif kind == "http.disconnect":
                raise ClientDisconnect()
        if expected is not None and received != expected:
            raise HTTPException(400, "Request body is shorter than its Content-Length.")

    async def body(self) -> bytes:
        """The whole body (at most ``max_body_size`` bytes, else 413)."""
        if self._body is None:
            chunks = [chunk async for chunk in self.stream()]
            self._body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        """The body decoded as JSON; malformed JSON is a 400 saying where it broke."""
        if self._json is _UNSET:
            body = await self.body()
            try:
                self._json = msgspec.json.decode(body)
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                raise HTTPException(400, f"Malformed JSON body: {exc}") from None
        return self._json

    async def form(self) -> FormData:
        """Fields and uploaded files of an urlencoded or multipart form body."""
        if self._form is None:
            from .formparsers import parse_multipart, parse_urlencoded

            raw_type = find_header(self.scope["headers"], b"content-type")
            content_type = raw_type.decode("latin-1") if raw_type else ""
            media_type = parse_content_type(content_type)[0]
            try:
                if media_type == "multipart/form-data":
                    self._form = await parse_multipart(await self.body(), content_type)
                elif media_type in ("application/x-www-form-urlencoded", ""):
                    self._form = parse_urlencoded(await self.body())
                else:
                    raise HTTPException(
                        415, f"Expected a form body (urlencoded or multipart), got {media_type!r}."
                    )
            except ParseError as exc:
                raise HTTPException(400, str(exc)) from None
        return self._form

    async def close(self) -> None:
        if self._form is not None:
            await self._form.close()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


class _Unset:
    __slots__ = ()


_UNSET: Any = _Unset()
