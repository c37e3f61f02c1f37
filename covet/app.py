"""The Covet application: the ASGI entry point, lifespan, middleware stack and request flow.

Request flow (see DESIGN.md): middleware -> router -> before-request hooks -> endpoint plan ->
handler -> return-value conversion -> after-request hooks -> send -> dependency teardown ->
background tasks. Errors are turned into responses by error handlers, innermost scaffold first.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio.to_thread

from ._debug import server_error_response
from ._framing import framing_error, refuse_framing
from ._locations import trailing_slash_location
from .blueprints import Blueprint, join_paths
from .config import Config
from .datastructures import State
from .exceptions import ClientDisconnect, HTTPException, RequestValidationError
from .formparsers import DEFAULT_FORM_LIMITS, FormLimits
from .globals import _app_var, _request_var, current_request, request_of
from .params import CALL_BODY, CALL_EXTRACT, CALL_PATH, CALL_SIMPLE
from .requests import (
    BodyLimits,
    Request,
    check_body_timeout,
    check_form_limits,
    check_max_body_size,
    read_body,
)
from .resolution import AppDependencies, RequestContext, extract, resolve
from .responses import (
    JSONResponse,
    RedirectResponse,
    Response,
    json_body,
    json_headers,
    status_has_body,
    to_response,
)
from .routing import FOUND, METHOD_NOT_ALLOWED, MOUNTED, REDIRECT, Mount, Route, Router
from .scaffold import Scaffold, setupmethod
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Covet"]

Lifespan = Callable[["Covet"], AbstractAsyncContextManager[Any]]

_BODY_OPTIONS = frozenset({"max_body_size", "form_limits", "body_timeout"})


class Covet(Scaffold):
    """A covet application: an ASGI 3 callable with Flask's decorators and FastAPI's typing.

    Example::

        from covet import Covet

        app = Covet(title="Shop")

        @app.get("/items/<int:item_id>")
        async def item(item_id: int, q: str | None = None):
            return {"item_id": item_id, "q": q}

    Serve it with ``covet run module:app``. ``Covet(static_folder="static")`` also serves that folder
    (relative to the module creating the app) at ``/static``, as the route ``static``.
    """

    def __init__(
        self,
        title: str = "covet",
        version: str = "0.1.0",
        debug: bool = False,
        lifespan: Lifespan | None = None,
        middleware: Sequence[tuple[Any, dict[str, Any]]] | None = None,
        openapi_url: str | None = "/openapi.json",
        docs_url: str | None = "/docs",
        max_body_size: int = 1_048_576,
        *,
        description: str = "",
        redoc_url: str | None = "/redoc",
        swagger_ui_url: str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14",
        redoc_js_url: str = "https://cdn.jsdelivr.net/npm/redoc@2.1.5/bundles/redoc.standalone.js",
        form_limits: FormLimits = DEFAULT_FORM_LIMITS,
        body_timeout: float | None = 60.0,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
    ) -> None:
        super().__init__("app")
        self.title = title
        self.version = version
        self.description = description
        self.debug = debug
        # Request-body defaults; a route may override each one (route options of the same names).
        self.max_body_size = check_max_body_size(max_body_size)
        self.form_limits = check_form_limits(form_limits)
        self.body_timeout = check_body_timeout(body_timeout)
        self.router = Router()
        self.state = State()
        self.config = Config(DEBUG=debug, MAX_BODY_SIZE=max_body_size)
        self.lifespan_context = lifespan
        self.startup_funcs: list[Callable[..., Any]] = []
        self.shutdown_funcs: list[Callable[..., Any]] = []
        self.user_middleware: list[tuple[Any, dict[str, Any]]] = []
        for entry in middleware or ():
            cls, options = _middleware_entry(entry)
            self.user_middleware.append((cls, options))
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        self.app_dependencies = AppDependencies(self)
        self.validation_error_schema: Any = None
        self.openapi_url = openapi_url
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.swagger_ui_url = swagger_ui_url
        self.redoc_js_url = redoc_js_url
        self.openapi_schema: dict[str, Any] | None = None
        self._app_chain = (self,)
        self._stack: ASGIApp | None = None
        self._plain = False  # no user middleware: __call__ serves http requests itself
        self._body_limits: BodyLimits | None = None  # the defaults above, fixed by the first request
        if openapi_url is not None:
            from .openapi import install_docs_routes

            install_docs_routes(self)
        self.static_folder: str | None = None
        self.static_url_path: str | None = None
        if static_folder is not None:
            self._add_static_route(static_folder, static_url_path)

    # -- setup -------------------------------------------------------------------------------------

    def _check_setup_allowed(self, what: str) -> None:
        if self._stack is not None:
            raise RuntimeError(
                f"app.{what}() was called after the application started handling requests. "
                "Register routes, hooks, middleware and blueprints before serving (at import time)."
            )

    @setupmethod
    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        """Register ``endpoint`` for ``path``; the decorators call this."""
        self._add_route(path, endpoint, methods, name or _endpoint_name(endpoint), (self,), options)

    def _add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None,
        name: str,
        scaffolds: tuple[Scaffold, ...],
        options: dict[str, Any],
    ) -> None:
        if not callable(endpoint):
            raise TypeError(f"Route {path!r} needs a callable handler, got {endpoint!r}.")
        if inspect.isasyncgenfunction(endpoint) or inspect.isgeneratorfunction(endpoint):
            raise TypeError(
                f"Handler {_endpoint_name(endpoint)!r} for {path!r} is a generator; wrap what it yields in "
                "StreamingResponse(...) and return that instead."
            )
        route = Route(path, endpoint, methods=methods or ["GET"], name=name, scaffolds=scaffolds, options=options)
        if _BODY_OPTIONS.intersection(options):
            # Resolved now, against the app's defaults, so reading a body never looks them up.
            route.body_limits = BodyLimits(
                options.get("max_body_size", self.max_body_size),
                options.get("form_limits", self.form_limits),
                options.get("body_timeout", self.body_timeout),
            )
        self.router.add(route)
        self.openapi_schema = None

    def _add_static_route(self, folder: str | os.PathLike[str], url_path: str | None) -> None:
        # Flask's arrangement: a GET route named "static", so url_for("static", filename=...) works
        # and the app's hooks and 404 handler apply to static files as to any other route.
        from .staticfiles import StaticFiles, static_endpoint

        folder = os.fspath(folder)
        if not os.path.isabs(folder):
            folder = os.path.join(_caller_directory(), folder)
        if url_path is None:
            url_path = "/" + os.path.basename(os.path.normpath(folder))
        if url_path and not url_path.startswith("/"):
            raise ValueError(f"static_url_path must start with '/', got {url_path!r}; write '/{url_path}'.")
        if not os.path.isdir(folder):
            raise RuntimeError(
                f"static_folder {folder!r} is not a directory. Create it, or give static_folder= an "
                "absolute path (a relative one is taken from the directory of the module creating the app)."
            )
        self.static_folder = os.path.realpath(folder)
        self.static_url_path = url_path.rstrip("/")
        files = StaticFiles(directory=self.static_folder)
        endpoint = static_endpoint(files)
        path = f"{self.static_url_path}/<path:filename>"
        self.add_route(path, endpoint, name="static", include_in_schema=False)

    @setupmethod
    def add_middleware(self, cls: Any, **options: Any) -> None:
        """Wrap the app in ASGI middleware ``cls(app, **options)``; the last added is outermost."""
        self.user_middleware.insert(0, (cls, options))

    @setupmethod
    def mount(self, prefix: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve any ASGI app under ``prefix`` (its scope gets ``root_path`` extended by it)."""
        self.router.mount(Mount(prefix, app, name))

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, url_prefix: str | None = None, name: str | None = None) -> None:
        """Add a blueprint's routes under ``url_prefix`` (default: the blueprint's own)."""
        self._register_blueprint(blueprint, url_prefix, name, "", "", (self,), [])

    def _register_blueprint(
        self,
        blueprint: Blueprint,
        url_prefix: str | None,
        name: str | None,
        parent_prefix: str,
        parent_name: str,
        chain: tuple[Scaffold, ...],
        dependencies: list[Any],
    ) -> None:
        if not isinstance(blueprint, Blueprint):
            raise TypeError(f"register_blueprint() takes a covet.Blueprint, got {blueprint!r}.")
        if blueprint in chain:
            raise ValueError(f"Blueprint {blueprint.name!r} is nested inside itself.")
        prefix = join_paths(parent_prefix, blueprint.url_prefix if url_prefix is None else url_prefix)
        full_name = f"{parent_name}{name or blueprint.name}"
        chain = (*chain, blueprint)
        dependencies = [*dependencies, *blueprint.dependencies]
        for path, endpoint, methods, route_name, options in blueprint.deferred_routes:
            if dependencies:
                options = {**options, "dependencies": [*dependencies, *(options.get("dependencies") or ())]}
            self._add_route(
                join_paths(prefix, path) if path != "/" or not prefix else prefix.rstrip("/") + "/",
                endpoint,
                methods,
                f"{full_name}.{route_name or _endpoint_name(endpoint)}",
                chain,
                options,
            )
        for child, child_prefix, child_name in blueprint.children:
            self._register_blueprint(child, child_prefix, child_name, prefix, f"{full_name}.", chain, dependencies)
        blueprint._registered = True

    @setupmethod
    def on_startup(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Run ``func()`` (sync or async) when the server starts, before the first request."""
        self.startup_funcs.append(func)
        return func

    @setupmethod
    def on_shutdown(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Run ``func()`` (sync or async) when the server shuts down."""
        self.shutdown_funcs.append(func)
        return func

    def validation_error_handler(
        self, func: Callable[..., Any] | None = None, *, schema: Any = None
    ) -> Any:
        """Set the one place that formats 422s (and, with ``schema=``, how OpenAPI documents them).

        Example::

            class Problem(msgspec.Struct):
                title: str
                errors: list[dict[str, Any]]

            @app.validation_error_handler(schema=Problem)
            async def problem(exc: RequestValidationError):
                return JSONResponse({"title": "Invalid request", "errors": exc.errors}, 422)

        The handler receives the :class:`RequestValidationError` (``exc.errors`` lists every problem).
        """

        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.errorhandler(RequestValidationError)(handler)
            self.validation_error_schema = schema
            self.openapi_schema = None
            return handler

        return decorator(func) if func is not None else decorator

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of a named route; extra params become the query string.

        Example::

            app.url_for("item", item_id=3)          # "/items/3"
            app.url_for("api.items", page=2)        # "/api/items?page=2"
        """
        path = self.router.url_path_for(name, params)
        current = current_request()
        if current is not None:
            root: str = current.scope.get("root_path", "")
            return root.rstrip("/") + path
        return path

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document for this app (built once, then cached)."""
        if self.openapi_schema is None:
            from .openapi import build_openapi

            self.openapi_schema = build_openapi(self)
        return self.openapi_schema

    @property
    def routes(self) -> list[Route]:
        return list(self.router.routes)

    # -- ASGI ----------------------------------------------------------------------------------------

    def _build_stack(self) -> ASGIApp:
        # The first request freezes the setup, so what each route needs per request is known now.
        for route in self.router.routes:
            route.hooked = any(
                scaffold.before_request_funcs or scaffold.after_request_funcs for scaffold in route.scaffolds
            )
            plan = route.plan
            route.direct = (
                not route.hooked and plan.is_async and not plan.has_dependencies and not plan.has_background
            )
        app: ASGIApp = self._handle
        for cls, options in reversed(self.user_middleware):
            app = cls(app, **options)
        if self.user_middleware:
            app = _ServerErrors(app, self)
        self._plain = not self.user_middleware
        self._body_limits = BodyLimits(self.max_body_size, self.form_limits, self.body_timeout)
        return app

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self(scope, receive, send, True)
        elif kind == "lifespan":
            await self._handle_lifespan(scope, receive, send)
        elif kind == "websocket":
            # WebSocket routes arrive with the real-time issue; until then refuse cleanly.
            await receive()
            await send({"type": "websocket.close", "code": 1000})
        else:
            raise RuntimeError(f"covet does not handle ASGI scope type {kind!r}.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send, _inner: bool = False) -> None:
        """The ASGI entry point; http requests are served in this very coroutine when it can.

        Without user middleware (``_plain``) an http request needs no other layer, and one coroutine
        less per request is measurable. Everything else goes through the middleware stack, whose
        innermost layer (``_handle``) comes back here with ``_inner=True`` for http requests.
        """
        if not _inner:
            scope["app"] = self
            if self._stack is None:
                self._stack = self._build_stack()
            if scope["type"] == "http" and (reason := framing_error(scope["headers"])) is not None:
                return await refuse_framing(reason, scope, send)  # before any app code (covet._framing)
            if not self._plain or scope["type"] != "http":
                await self._stack(scope, receive, send)
                return
        # The request's makings (see covet.globals): the Request itself is made when first needed.
        box: list[Any] = [None, scope, receive, send, self._body_limits, None]
        # A request of an enclosing app still running in this context (a mounted covet app) gets
        # the variable back at the end; otherwise the emptied box stays, meaning "no request".
        outer = _request_var.get(None)
        _request_var.set(box)
        ctx: RequestContext | None = None
        # Whether the response may have reached the client: after that a failure can only be
        # logged, not turned into a 500.
        started = False
        try:
            path = scope["path"]
            root = scope.get("root_path")
            if root and path.startswith(root):
                # The app's own routes are relative to where it is mounted; its bare mount point is "/".
                path = path[len(root) :] or "/"
            method = scope["method"]
            kind, target, params = self.router.resolve(method, path)
            body: bytes | None = None  # set when a handler's JSON goes out without a Response
            if kind == FOUND:
                scope["path_params"] = params
                scope["route"] = target
                if target.body_limits is not None:
                    box[4] = target.body_limits
                if target.direct:
                    # An async handler without hooks or dependencies: run it here, one coroutine
                    # layer less than _run_route, which handles everything else.
                    plan = target.plan
                    try:
                        mode = plan.call_mode
                        if mode == CALL_SIMPLE:
                            result = await plan.func()
                        elif mode == CALL_PATH:
                            result = await plan.func(**params)
                        elif mode == CALL_EXTRACT:
                            result = await plan.func(**extract(plan, scope, request_of(box) if plan.needs_request else None))
                        elif mode == CALL_BODY:
                            if plan.needs_request:
                                request = request_of(box)
                                received = await request.body()
                            else:
                                # No Request at all: the body is read here and kept in the box
                                # for one made later (covet.request, an error handler).
                                request = None
                                limits = box[4]
                                box[5] = False  # until it succeeds: a failed read is not repeated
                                received = box[5] = await read_body(scope, receive, limits.max_body_size, limits.body_timeout)
                            result = await plan.func(**extract(plan, scope, request, received))
                        else:
                            result = await plan.func(**await resolve(plan, request_of(box), None))
                        if plan.json_status is not None:
                            # Nothing runs after this handler, so JSON data needs no Response.
                            body = json_body(result, plan.encode)
                        if body is None:
                            response = result if isinstance(result, Response) else to_response(result, plan.status_code, plan.encode)
                    except Exception as exc:
                        response = await self._handle_exception(exc, request_of(box), target.scaffolds)
                else:
                    response, ctx = await self._run_route(target, request_of(box))
            elif kind == MOUNTED:
                await self._call_mount(target, scope, receive, send)
                return
            else:
                response = await self._run_routing_failure(kind, target, request_of(box))
            if body is not None:
                started = True
                await send({"type": "http.response.start", "status": plan.json_status, "headers": json_headers(body)})
                await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
            elif type(response).__call__ is _send_whole:
                # A body known in full: two sends, nothing that can fail between them but the server.
                started = True
                await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
                await send({"type": "http.response.body", "body": b"" if method == "HEAD" else response.body})
                if response.background is not None:
                    await response.background()
            else:
                watch = _StartWatch(send)
                try:
                    await response(scope, receive, watch)
                finally:
                    started = watch.started
            if ctx is not None:
                if ctx.stack is not None:
                    await ctx.stack.aclose()
                if ctx.background is not None:
                    await ctx.background()
        except ClientDisconnect:
            # Nobody is listening for a response, but yield dependencies still get their teardown.
            if ctx is not None and ctx.stack is not None:
                with contextlib.suppress(Exception):
                    await ctx.stack.aclose()
            return
        except Exception as exc:
            if ctx is not None and ctx.stack is not None:
                with contextlib.suppress(Exception):
                    await ctx.stack.aclose()
            if started:
                raise
            await server_error_response(scope, exc, self.debug)(scope, receive, send)
            # Re-raised so the server logs it and the test client can surface it.
            raise
        finally:
            made = box[0]
            if made is not None and made._form is not None:
                await made.close()
            box.clear()  # emptied (see covet.globals)
            if outer:
                _request_var.set(outer)

    async def _run_route(self, route: Route, request: Request) -> tuple[Response, RequestContext | None]:
        plan = route.plan
        chain = route.scaffolds
        hooked = route.hooked
        ctx: RequestContext | None = None
        try:
            response = await self._before_request(chain, request) if hooked else None
            if response is None:
                func = plan.func
                if plan.simple:
                    result = await func() if plan.is_async else await anyio.to_thread.run_sync(func)
                else:
                    if plan.has_dependencies or plan.has_background:
                        ctx = RequestContext(request)
                    kwargs = await resolve(plan, request, ctx)
                    if plan.is_async:
                        result = await func(**kwargs)
                    else:
                        result = await anyio.to_thread.run_sync(functools.partial(func, **kwargs))
                response = to_response(result, plan.status_code, plan.encode)
        except Exception as exc:
            if ctx is not None and ctx.stack is not None:
                # Teardown sees the handler's exception and may translate or swallow it.
                stack, ctx.stack = ctx.stack, None
                try:
                    await stack.__aexit__(type(exc), exc, exc.__traceback__)
                except Exception as replaced:
                    exc = replaced
            response = await self._handle_exception(exc, request, chain)
        if hooked:
            response = await self._after_request(chain, response)
        return response, ctx

    async def _run_routing_failure(self, kind: int, target: Any, request: Request) -> Response:
        chain = self._app_chain
        try:
            response = await self._before_request(chain, request)
            if response is None:
                if kind == METHOD_NOT_ALLOWED:
                    allow = ", ".join(sorted(target | {"OPTIONS"}))
                    if request.method == "OPTIONS":
                        response = Response(b"", 200, {"allow": allow})
                    else:
                        raise HTTPException(405, headers={"Allow": allow})
                elif kind == REDIRECT:
                    response = RedirectResponse(trailing_slash_location(request.scope, target), status_code=308)
                else:
                    raise HTTPException(404)
        except Exception as exc:
            response = await self._handle_exception(exc, request, chain)
        return await self._after_request(chain, response)

    async def _call_mount(self, mount: Mount, scope: Scope, receive: Receive, send: Send) -> None:
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "").rstrip("/") + mount.prefix
        child.pop("path_params", None)
        await mount.app(child, receive, send)

    async def _before_request(self, chain: tuple[Scaffold, ...], request: Request) -> Response | None:
        for scaffold in chain:
            for hook in scaffold.before_request_funcs:
                result = await _call_flexible(hook, request)
                if result is not None:
                    return to_response(result, None)
        return None

    async def _after_request(self, chain: tuple[Scaffold, ...], response: Response) -> Response:
        for scaffold in reversed(chain):
            for hook in reversed(scaffold.after_request_funcs):
                result = await _call_flexible(hook, response)
                if not isinstance(result, Response):
                    raise TypeError(
                        f"after_request hook {_endpoint_name(hook)!r} returned {result!r}; "
                        "it must return the response it received (or a new Response)."
                    )
                response = result
        return response

    async def _handle_exception(self, exc: Exception, request: Request, chain: tuple[Scaffold, ...]) -> Response:
        """The response for ``exc``: a registered handler's, the default JSON error, or re-raise."""
        # A handler for the exception's own class or status wins anywhere in the chain; a catch-all
        # 500 handler is only the fallback for exceptions nobody named.
        handlers = [scaffold.find_error_handler(exc) for scaffold in reversed(chain)]
        if not isinstance(exc, HTTPException):
            handlers += [scaffold.error_handlers.get(500) for scaffold in reversed(chain)]
        for handler in handlers:
            if handler is not None:
                result = await _call_flexible(handler, exc)
                status = exc.status_code if isinstance(exc, HTTPException) else 500
                response = to_response(result, status)
                if isinstance(exc, HTTPException) and exc.headers and not isinstance(result, Response):
                    response.headers.update(exc.headers)
                return response
        if isinstance(exc, HTTPException):
            return _error_response(exc)
        raise exc

    async def _handle_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        await receive()  # lifespan.startup
        try:
            async with self._lifespan(scope):
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()  # lifespan.shutdown
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
            if started:
                await send({"type": "lifespan.shutdown.failed", "message": message})
            else:
                await send({"type": "lifespan.startup.failed", "message": message})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def _lifespan(self, scope: Scope) -> Any:
        # Startup: on_startup hooks, the lifespan= context, app-scoped dependencies; shutdown in reverse.
        token = _app_var.set(self)
        try:
            for func in self.startup_funcs:
                await _call_flexible(func)
            async with contextlib.AsyncExitStack() as stack:
                if self.lifespan_context is not None:
                    context = self.lifespan_context
                    if inspect.isasyncgenfunction(context):
                        context = contextlib.asynccontextmanager(context)
                    state = await stack.enter_async_context(context(self))
                    if state is not None and "state" in scope:
                        scope["state"].update(state)
                stack.push_async_callback(self.app_dependencies.shutdown)
                await self.app_dependencies.startup()
                yield
            for func in self.shutdown_funcs:
                await _call_flexible(func)
        finally:
            _app_var.reset(token)


class _StartWatch:
    """A ``send`` that remembers whether the response has started (cheaper than a closure)."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = True
        await self.send(message)


_send_whole = Response.__call__


class _ServerErrors:
    """Outermost layer when user middleware exists: turns an escaped exception into a 500."""

    def __init__(self, app: ASGIApp, covet: Covet) -> None:
        self.app = app
        self.covet = covet

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = message["type"] == "http.response.start" or started
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if not started:
                await server_error_response(scope, exc, self.covet.debug)(scope, receive, send)
            raise


def _error_response(exc: HTTPException) -> Response:
    if not status_has_body(exc.status_code):
        return Response(b"", exc.status_code, exc.headers)
    return JSONResponse({"detail": exc.detail}, exc.status_code, exc.headers)


async def _call_flexible(func: Callable[..., Any], *args: Any) -> Any:
    """Call a hook with as many of ``args`` as it accepts; sync hooks run in a worker thread."""
    count = _arity(func)
    call_args = args[:count]
    if _is_async(func):
        return await func(*call_args)
    return await anyio.to_thread.run_sync(functools.partial(func, *call_args))


@functools.cache
def _arity(func: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 99
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


@functools.cache
def _is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(getattr(func, "__call__", None))


def _caller_directory() -> str:
    """The directory of the module that called ``Covet(...)`` (the working directory if it has no file)."""
    frame = inspect.currentframe()
    try:
        # Step out of covet's own frames (Covet.__init__ and this helper).
        while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "covet":
            frame = frame.f_back
        filename = frame.f_globals.get("__file__") if frame is not None else None
    finally:
        del frame  # a frame held in a local would keep every caller's locals alive in a cycle
    return os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()


def _endpoint_name(endpoint: Callable[..., Any]) -> str:
    return getattr(endpoint, "__name__", type(endpoint).__name__)


def _middleware_entry(entry: Any) -> tuple[Any, dict[str, Any]]:
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict):
        return entry[0], entry[1]
    if isinstance(entry, type) or callable(entry):
        return entry, {}
    raise TypeError(f"middleware=[...] takes (cls, options) pairs, got {entry!r}.")
