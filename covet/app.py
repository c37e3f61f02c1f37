"""The Covet application: the ASGI entry point, lifespan, middleware stack and request flow.

Request flow (see DESIGN.md): middleware -> router -> before-request hooks -> endpoint plan ->
handler -> return-value conversion -> after-request hooks -> send -> dependency teardown ->
background tasks. Errors are turned into responses by error handlers, innermost scaffold first.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from ._debug import server_error_response
from ._framing import framing_error, refuse_framing
from ._locations import trailing_slash_location
from ._route_middleware import middleware_entry, route_middleware, with_middleware
from .background import AppTasks
from .blueprints import Blueprint, join_paths
from .config import Config
from .datastructures import State
from .exceptions import ClientDisconnect, HTTPException, ParseError, RequestValidationError
from .formparsers import DEFAULT_FORM_LIMITS, FormLimits
from .globals import RequestBox, _app_var, _reset_box, _set_box, current_request
from .pipeline import Runner, StartWatch, build_runner, call_flexible, failure_runner, send_response
from .requests import (
    BodyLimits,
    Request,
    check_body_timeout,
    check_form_limits,
    check_max_body_size,
)
from .resolution import AppDependencies
from .responses import (
    JSONResponse,
    RedirectResponse,
    Response,
    status_has_body,
    to_response,
)
from .routing import (
    FOUND,
    METHOD_NOT_ALLOWED,
    MOUNTED,
    NOT_FOUND,
    REDIRECT,
    Mount,
    Route,
    Router,
    check_custom_methods,
    check_methods,
)
from .scaffold import Scaffold, rate_limit_options, setupmethod
from .types import ASGIApp, Message, Receive, Scope, Send
from .websockets import (
    add_websocket_route,
    check_http_plan,
    check_max_message_size,
    serve_websocket,
    websocket_limits,
    websocket_runner,
)

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
        middleware: Sequence[Any] | None = None,
        openapi_url: str | None = "/openapi.json",
        docs_url: str | None = "/docs",
        max_body_size: int = 1_048_576,
        *,
        description: str = "",
        redoc_url: str | None = "/redoc",
        swagger_ui_url: str | None = None,
        redoc_js_url: str | None = None,
        form_limits: FormLimits = DEFAULT_FORM_LIMITS,
        body_timeout: float | None = 60.0,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        custom_methods: Iterable[str] = (),
        servers: Sequence[dict[str, Any]] | None = None,
        root_path_in_servers: bool = True,
        database: Any = None,
        websocket_max_message_size: int | None = 1_048_576,
        background_grace_period: float = 5.0,
        asyncapi_url: str | None = "/asyncapi.json",
    ) -> None:
        super().__init__("app")
        #: Request methods beyond RFC 9110's and PATCH that routes may use (``["PURGE"]``).
        self.custom_methods = check_custom_methods(custom_methods)
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
        #: Integrations keep themselves here by name, as in Flask (``app.extensions["db"]``).
        self.extensions: dict[str, Any] = {}
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
        # OpenAPI "servers"; the served document also names the request's root_path (a proxy prefix).
        self.servers: list[dict[str, Any]] = [dict(server) for server in servers or ()]
        self.root_path_in_servers = root_path_in_servers
        # Set when the app freezes (see _freeze): the ASGI app requests enter, the runners of what
        # routing answers by itself, the app's body limits, whether _serve renders 500s.
        self._stack: ASGIApp | None = None
        self._routing_runners: dict[int, Runner] = {}
        self._resolve = self.router.http.resolve
        self._body_limits = BodyLimits(self.max_body_size, self.form_limits, self.body_timeout)
        self._renders_errors = True
        if openapi_url is not None:
            from .openapi import install_docs_routes

            install_docs_routes(self)
        self.static_folder: str | None = None
        self.static_url_path: str | None = None
        if static_folder is not None:
            self._add_static_route(static_folder, static_url_path)
        # WebSockets and background work (covet.websockets, covet.background).
        #: Default largest received WebSocket message in bytes (route option max_message_size).
        self.websocket_max_message_size = check_max_message_size(websocket_max_message_size)
        self.background_error_handlers: list[Callable[..., Any]] = []
        self.app_tasks = AppTasks(self, background_grace_period)
        #: Where the AsyncAPI document of the WebSocket routes is served (added with the first one).
        self.asyncapi_url = asyncapi_url
        self.asyncapi_schema: dict[str, Any] | None = None
        if database is not None:
            # A covet.db.Database (or anything with init_app): its engine follows the lifespan.
            database.init_app(self)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        debug: bool | None = None,
        reload: bool = False,
        access_log: bool = True,
    ) -> None:
        """Serve the app for development, as Flask's ``app.run()``: hypercorn on ``host:port``.

        Listens on the loopback address only unless ``host`` says otherwise (``"0.0.0.0"``).
        ``debug=True`` turns on traceback pages and reloading; ``reload=True`` restarts on code
        changes (both re-run the script through ``covet run``). Blocks until Ctrl+C. For
        production use ``covet run`` (workers, another server). Example::

            if __name__ == "__main__":
                app.run(debug=True)
        """
        from .cli import run_app

        run_app(self, host, port, debug=debug, reload=reload, access_log=access_log)

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
        options = rate_limit_options(options)
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
        if options.get("scope_type") == "websocket":
            add_websocket_route(self, path, endpoint, name, scaffolds, options)
            return
        if not callable(endpoint):
            raise TypeError(f"Route {path!r} needs a callable handler, got {endpoint!r}.")
        if inspect.isasyncgenfunction(endpoint) or inspect.isgeneratorfunction(endpoint):
            raise TypeError(
                f"Handler {_endpoint_name(endpoint)!r} for {path!r} is a generator; wrap what it yields in "
                "StreamingResponse(...) and return that instead."
            )
        methods = check_methods(methods or ["GET"], path, self.custom_methods)
        route = Route(path, endpoint, methods=methods, name=name, scaffolds=scaffolds, options=options)
        check_http_plan(route.plan, path)
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
        """Wrap the app in ASGI middleware ``cls(app, **options)``; the last added is outermost.

        ``cls`` may also be a ``(class, options)`` pair, as in ``middleware=[...]``.
        """
        entry_cls, entry_options = middleware_entry(cls, "add_middleware()")
        self.user_middleware.insert(0, (entry_cls, {**entry_options, **options}))

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

    @setupmethod
    def on_background_error(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``func(exc)`` or ``func(exc, request)`` (sync or async) when background work fails.

        Background work is ``BackgroundTasks`` tasks, a response's ``background`` and
        ``app.spawn()`` work (``request`` is None there). The failure is logged either way;
        see covet.background.
        """
        self.background_error_handlers.append(func)
        return func

    def spawn(self, func: Callable[..., Any], /, *args: Any) -> None:
        """Run ``func(*args)`` in the app's task group for the app's lifetime (see covet.background).

        Cancelled at shutdown after ``Covet(background_grace_period=5.0)`` seconds; an exception is
        logged and passed to ``on_background_error``. Raises RuntimeError outside the lifespan.
        """
        self.app_tasks.spawn(func, *args)

    def add_health_checks(
        self,
        live: Any = None,
        ready: Any = None,
        *,
        timeout: float = 2.0,
        live_path: str = "/healthz",
        ready_path: str = "/readyz",
    ) -> None:
        """Serve ``GET /healthz`` (liveness) and ``GET /readyz`` (readiness) from the given checks.

        A check is a callable taking no arguments, sync or async (``db.ping``, ``redis.ping``);
        ``live`` and ``ready`` take one, a list (named by the functions) or a dict of name to check.
        The checks of an endpoint run concurrently, each for at most ``timeout`` seconds; any
        failure (an exception, ``False``, the timeout) makes it ``503``. Body:
        ``{"status": "ok" | "fail", "checks": {name: {"status", "duration_ms", "error"?}}}``.
        Keep dependencies out of ``live``: an outage of one must not restart every replica. Example::

            app.add_health_checks(ready=[db.ping, cache_ping])
        """
        from .observability.health import add_health_checks

        add_health_checks(self, live, ready, timeout=timeout, live_path=live_path, ready_path=ready_path)

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

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI 3.0 document of the WebSocket routes (built once, then cached; covet.asyncapi)."""
        if self.asyncapi_schema is None:
            from .asyncapi import build_asyncapi

            self.asyncapi_schema = build_asyncapi(self)
        return self.asyncapi_schema

    @property
    def logger(self) -> logging.Logger:
        """The app's logger, as Flask's ``app.logger``: ``logging.getLogger("covet.app")``.

        Records made during a request carry its id with ``RequestIdMiddleware`` (covet's loggers get
        ``RequestIdFilter``). At DEBUG level in debug mode unless given a level; and, when nothing
        would print its records (no handler on it or above), one handler printing to stderr is
        added the first time, as Flask does. Configure ``logging`` yourself to send it elsewhere.
        """
        logger = logging.getLogger(_APP_LOGGER)
        if self.debug and logger.level == logging.NOTSET:
            logger.setLevel(logging.DEBUG)
        if not logger.hasHandlers():
            handler = logging.StreamHandler()  # stderr
            handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s"))
            logger.addHandler(handler)
        return logger

    @property
    def routes(self) -> list[Route]:
        return list(self.router.routes)

    # -- ASGI ----------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: the middleware stack, whose innermost layer is :meth:`_serve`."""
        scope["app"] = self
        app = self._stack
        if app is None:
            app = self._freeze()
        if scope["type"] == "http" and (reason := framing_error(scope["headers"])) is not None:
            # Before any app code: a request framed two ways may hide another one (covet._framing).
            await refuse_framing(reason, scope, send)
            return
        await app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One request: resolve the route, run the runner made for it, clean up.

        Runners (covet.pipeline) turn every exception they can into a response; what escapes them
        is turned into a 500 here when no middleware but observers is outside (else by the
        outermost layer, :class:`_ServerErrors`), and re-raised so the server logs it.
        """
        if scope["type"] != "http":
            await self._serve_other(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            # The app's own routes are relative to where it is mounted; its bare mount point is "/".
            path = path[len(root) :] or "/"
        kind, target, params = self._resolve(scope["method"], path)
        if kind == FOUND:
            scope["path_params"] = params
            scope["route"] = target
            runner = target.runner
            limits = target.body_limits
        else:
            runner = self._routing_runners[kind]
            limits = self._body_limits
        # The request's makings (see covet.globals): the Request itself is made when first needed.
        box = [None, scope, receive, send, limits, None, False]
        token = _set_box(box)
        try:
            await runner(box, target)
        except ClientDisconnect:
            pass  # nobody is listening for a response (teardown has run in the runner)
        except Exception as exc:
            if self._renders_errors and not box[6]:
                await send_response(server_error_response(scope, exc, self.debug), box)
            raise
        finally:
            made = box[0]
            if made is not None and made._form is not None:
                await made.close()
            box.clear()
            _reset_box(token)

    async def _serve_other(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._handle_lifespan(scope, receive, send)
        elif kind == "websocket":
            await serve_websocket(self, scope, receive, send)
        else:
            raise RuntimeError(f"covet does not handle ASGI scope type {kind!r}.")

    def _freeze(self) -> ASGIApp:
        """Settle the setup at the first request (or startup): runners, limits, the middleware stack.

        Everything a request would otherwise look up (hooks of the route's chain, how its handler is
        called, its body limits) is decided here, once per route.
        """
        self._body_limits = BodyLimits(self.max_body_size, self.form_limits, self.body_timeout)
        self._resolve = self.router.http.resolve
        for route in self.router.routes:
            if route.scope_type == "websocket":
                route.runner = websocket_runner(self, route, websocket_limits(self, route.options))  # type: ignore[assignment]
                continue
            if route.body_limits is None:
                route.body_limits = self._body_limits
            route.runner = build_runner(self, _debug_plan(route.plan) if self.debug else route.plan, route.scaffolds)
            if entries := route_middleware(route):
                route.runner = with_middleware(route.runner, entries)
        self._routing_runners = {
            NOT_FOUND: failure_runner(self, _not_found),
            METHOD_NOT_ALLOWED: failure_runner(self, _method_not_allowed),
            REDIRECT: failure_runner(self, _trailing_slash_redirect),
            MOUNTED: _mount_runner,
        }
        app: ASGIApp = self._serve
        if self.debug:
            from .observability.server_timing import ServerTiming

            app = ServerTiming(app)  # Server-Timing headers (debug only: a production app has no layer)
        # Where a 500 is rendered: outside every middleware that could answer or fail, and inside
        # the observers (covet.observability's middleware) added first: they never answer and
        # pass exceptions on, so they see the 500 that is sent (status, size, X-Request-ID) as
        # they see any response. Behind observers alone, _serve renders it itself.
        observers = 0
        while observers < len(self.user_middleware) and getattr(self.user_middleware[observers][0], "observer", False):
            observers += 1
        for cls, options in reversed(self.user_middleware[observers:]):
            app = cls(app, **options)
        self._renders_errors = observers == len(self.user_middleware)
        if not self._renders_errors:
            app = _ServerErrors(app, self)
        for cls, options in reversed(self.user_middleware[:observers]):
            app = cls(app, **options)
        # Observers outermost: call the function written for their stages (covet.observability's
        # layer) directly, without the async __call__ servers need: one coroutine fewer.
        entry = getattr(app, "entry", None) if getattr(app, "observer", False) else None
        if entry is not None:
            app = entry()
        self._stack = app
        return app

    async def handle_exception(self, exc: Exception, request: Request, chain: Sequence[Scaffold]) -> Response:
        """The response for ``exc``: a registered handler's, the default JSON error, or re-raise."""
        # A handler for the exception's own class or status wins anywhere in the chain; a catch-all
        # 500 handler is only the fallback for exceptions nobody named.
        handlers = [scaffold.find_error_handler(exc) for scaffold in reversed(chain)]
        if isinstance(exc, ParseError) and not any(handlers):
            # A parser's refusal that nothing turned into a response is still the client's input
            # refused: a 400 with the parser's message (written to be shown), never a 500.
            exc = HTTPException(getattr(exc, "status_code", 400), str(exc))
            handlers = [scaffold.find_error_handler(exc) for scaffold in reversed(chain)]
        if not isinstance(exc, HTTPException):
            handlers += [scaffold.error_handlers.get(500) for scaffold in reversed(chain)]
        for handler in handlers:
            if handler is not None:
                result = await call_flexible(handler, exc)
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
        await self.app_tasks.open()  # app.spawn() work: open before startup functions, which may spawn
        try:
            for func in self.startup_funcs:
                await call_flexible(func)
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
                await self.app_tasks.stop()  # before teardown: running work still has its resources
            for func in self.shutdown_funcs:
                await call_flexible(func)
        finally:
            await self.app_tasks.close()
            _app_var.reset(token)


#: The logger ``app.logger`` returns (a ``covet.*`` name: RequestIdFilter is attached to those).
_APP_LOGGER = "covet.app"


class _ServerErrors:
    """Turns an exception escaping the middleware into a 500: the outermost layer but for the
    observers added first (see Covet._freeze)."""

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
                response = server_error_response(scope, exc, self.covet.debug)
                # Headers the observers inside would have added (X-Request-ID), had they seen it.
                response.raw_headers.extend(scope.get("covet.error_headers", ()))
                await response(scope, receive, send)
            raise


def _error_response(exc: HTTPException) -> Response:
    if not status_has_body(exc.status_code):
        return Response(b"", exc.status_code, exc.headers)
    return JSONResponse({"detail": exc.detail}, exc.status_code, exc.headers)


async def _not_found(box: RequestBox[Any], target: Any) -> Response:
    raise HTTPException(404)


async def _method_not_allowed(box: RequestBox[Any], allowed: set[str]) -> Response:
    # The path exists with other methods: 405 with Allow (RFC 9110 §15.5.6), or the automatic
    # answer to OPTIONS.
    allow = ", ".join(sorted(allowed | {"OPTIONS"}))
    if box[1]["method"] == "OPTIONS":
        return Response(b"", 200, {"allow": allow})
    raise HTTPException(405, headers={"Allow": allow})


async def _trailing_slash_redirect(box: RequestBox[Any], new_path: str) -> Response:
    # A route written "/a/" answers "/a" with a permanent redirect to "/a/", query kept; the
    # location never leaves the site (covet._locations).
    return RedirectResponse(trailing_slash_location(box[1], new_path), status_code=308)


async def _mount_runner(box: RequestBox[Any], mount: Mount) -> None:
    # A mounted ASGI app sees its prefix moved from the path into root_path; its sends are watched
    # so that a failure after its response started is not answered with a second one.
    scope = box[1]
    child = dict(scope)
    child["root_path"] = scope.get("root_path", "").rstrip("/") + mount.prefix
    child.pop("path_params", None)
    await mount.app(child, box[2], StartWatch(box[3], box))


def _debug_plan(plan: Any) -> Any:
    # In debug mode the handler is timed for the Server-Timing header (covet.observability.server_timing).
    from .observability.server_timing import timed_plan

    return timed_plan(plan)


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
    return middleware_entry(entry, "Covet(middleware=[...])")
