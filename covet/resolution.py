"""Request-time execution of endpoint plans: values, validation errors and dependencies.

``covet.params`` decides everything at registration; this module only follows the plan. It also
owns the two dependency lifetimes: per request (cached in a :class:`RequestContext`, generator
teardown after the response) and per app (``Depends(fn, scope="app")``: made once at startup by
:class:`AppDependencies`, closed at shutdown).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable
from types import AsyncGeneratorType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec

from ._body_errors import body_errors
from ._json import JSON_DECODE_ERRORS, malformed_json
from ._parsing import ParseError, find_header, parse_query_first
from ._values import drop_blank, split_list_header
from .background import BackgroundTasks
from .datastructures import UploadFile
from .exceptions import HTTPException, RequestValidationError
from .globals import RequestBox, request_of
from .params import (
    BACKGROUND,
    BODY,
    COOKIE,
    DEPENDS,
    FILE,
    FORM,
    HEADER,
    PATH,
    QUERY,
    DependencyPlan,
    Depends,
    EndpointPlan,
    ParamSpec,
    dependency_plan,
    missing_error,
    validation_error,
)
from .requests import HTTPConnection, Request, media_type_of
from .types import Scope

if TYPE_CHECKING:
    from .app import Covet

__all__ = ["RequestContext", "resolve", "resolve_into", "AppDependencies"]

_LOC_NAMES = {PATH: "path", QUERY: "query", HEADER: "header", COOKIE: "cookie", BODY: "body", FORM: "body", FILE: "body"}


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class RequestContext:
    """Per-request state of dependency resolution: the cache, open ``yield`` dependencies, background tasks.

    ``connection`` is the request (or, for WebSocket routes, the connection) being served; an
    HTTP route's context is given the request's box instead (see covet.globals) and makes the
    Request only if something asks for ``connection`` (an override, a dependency walked per
    request): the compiled solver reads values and the body off the scope without one. A
    ``yield`` dependency, once past its ``yield``, is kept open in ``exits`` (``Depends(scope=
    "request")``, resumed after the response is sent) or ``function_exits`` (``scope="function"``,
    resumed when the handler returns). Both lists are made on first use: a request without such
    dependencies pays nothing, and one with them pays for a list, not for an exit stack of
    context managers made per request.
    """

    __slots__ = ("_connection", "_box", "app", "overrides", "cache", "exits", "function_exits", "background")

    def __init__(self, app: Covet, connection: HTTPConnection | None = None, box: RequestBox[Any] | None = None) -> None:
        self.app = app
        self._connection = connection
        self._box = box
        # Read once per request; an empty dict (the normal case outside tests) becomes None.
        self.overrides: dict[Any, Any] | None = app.dependency_overrides or None
        self.cache: dict[Any, Any] = {}
        self.exits: list[Any] | None = None
        self.function_exits: list[Any] | None = None
        self.background: BackgroundTasks | None = None

    @property
    def connection(self) -> HTTPConnection:
        """The Request or WebSocket being served (an HTTP request's Request is made on first use)."""
        connection = self._connection
        if connection is None:
            assert self._box is not None
            connection = self._connection = request_of(self._box)
        return connection

    async def close_function_scope(self) -> None:
        """Tear down the ``scope="function"`` dependencies of a handler that returned normally.

        Raises what a teardown raises: the caller turns it into the response (a 500, or what an
        error handler makes of it), since nothing has been sent yet.
        """
        exits, self.function_exits = self.function_exits, None
        if exits is not None:
            await _close_all(exits, None)

    async def unwind(self, exc: BaseException) -> BaseException:
        """Tear down every dependency still open while ``exc`` is in flight; the exception to handle.

        Each teardown sees ``exc`` thrown in at its ``yield`` (so it can roll back). One that raises
        another exception replaces it, as an exception raised in an ``except`` block would; one that
        swallows it does not make the request a success (there is no result to send). Function-scoped
        dependencies close first: they are the handler's innermost.
        """
        function_exits, self.function_exits = self.function_exits, None
        exits, self.exits = self.exits, None
        for opened in (function_exits, exits):
            if opened is not None:
                try:
                    await _close_all(opened, exc)
                except BaseException as replaced:  # noqa: B036 - a teardown may raise anything, even cancellation
                    exc = replaced
        return exc

    def close(self) -> Awaitable[None]:
        """After the response: tear down request-scoped dependencies, then run background tasks.

        Returns the awaitable that does it (``await ctx.close()``): a plain method, so that a
        request pays for one coroutine here, not two (measured: 1.1k instructions on ``deps``).
        """
        exits, self.exits = self.exits, None
        if self.background is None:
            return _close_all(exits or [], None)
        return self._close_then_background(exits)

    async def _close_then_background(self, exits: list[Any] | None) -> None:
        if exits is not None:
            await _close_all(exits, None)
        assert self.background is not None
        await self.background()


async def _close_all(opened: list[Any], exc: BaseException | None) -> None:
    """Resume each open ``yield`` dependency, last opened first, with ``exc`` thrown in if given.

    Every one is resumed even when an earlier one fails; the last failure is raised (``exc`` itself
    when a teardown let it through).
    """
    failure: BaseException | None = None
    while opened:
        generator = opened.pop()
        try:
            if exc is None and type(generator) is AsyncGeneratorType:
                # The usual teardown, written out (one coroutine fewer): resumed, it must finish.
                try:
                    await generator.__anext__()
                except StopAsyncIteration:
                    continue
                await generator.aclose()
                raise _yielded_twice(generator)
            await _resume(generator, exc)
        except BaseException as raised:  # noqa: B036 - passed on below, after the others have run
            failure = exc = raised
    if failure is not None:
        raise failure


async def _resume(generator: Any, exc: BaseException | None) -> None:
    """Run a ``yield`` dependency's code after its ``yield``; raises what it raises."""
    if inspect.isasyncgen(generator):
        try:
            if exc is None:
                await generator.__anext__()
            else:
                await generator.athrow(exc)
        except StopAsyncIteration:
            return
        await generator.aclose()
    else:
        if await anyio.to_thread.run_sync(_resume_sync, generator, exc):
            return
    raise _yielded_twice(generator)


def _yielded_twice(generator: Any) -> RuntimeError:
    return RuntimeError(
        f"Dependency {getattr(generator, '__qualname__', generator)!r} yielded more than once; "
        "a dependency yields exactly one value (put a loop's work before or after the yield)."
    )


def _resume_sync(generator: Any, exc: BaseException | None) -> bool:
    # In the worker thread: StopIteration cannot cross into the event loop, so it becomes True.
    try:
        if exc is None:
            next(generator)
        else:
            generator.throw(exc)
    except StopIteration:
        return True
    generator.close()
    return False


async def resolve(plan: EndpointPlan, connection: HTTPConnection, ctx: RequestContext | None) -> dict[str, Any]:
    """The keyword arguments for ``plan.func``; raises RequestValidationError listing every error.

    ``ctx`` may be None when the plan has neither dependencies nor background tasks: a request that
    only reads parameters makes no RequestContext. Body and form parameters need ``connection`` to
    be a :class:`Request`.
    """
    errors: list[dict[str, Any]] = []
    if plan.only_dependencies:
        assert ctx is not None
        values = {}
        for spec in plan.params:
            values[spec.name] = await _run_dependency(spec.dependency, ctx, errors)  # type: ignore[arg-type]
    else:
        values = await resolve_into(plan, connection, ctx, errors)
    if errors:
        raise RequestValidationError(errors)
    return values


def query_values(scope: Scope) -> dict[str, str]:
    """The first value of each query-string key, parsed off the scope (400 past the field limit)."""
    try:
        return parse_query_first(scope.get("query_string", b""))
    except ParseError as exc:
        raise HTTPException(400, str(exc)) from None


# The spellings FastAPI (pydantic) accepts for booleans in query strings, headers and forms.
_BOOL_WORDS = {"true": "true", "false": "false", "yes": "true", "no": "false", "on": "true", "off": "false", "1": "true", "0": "false"}


def _convert(spec: ParamSpec, raw: Any, where: str, errors: list[dict[str, Any]]) -> Any:
    """``raw`` as the parameter's type; a failure is recorded at ``[where, spec.key]``."""
    fast = spec.fast
    if fast is not None and type(raw) is str:
        value = fast(raw)
        if value is not None:
            return value
    if spec.is_bool:
        if isinstance(raw, str):
            raw = _BOOL_WORDS.get(raw.lower(), raw)
        elif isinstance(raw, list):
            raw = [_BOOL_WORDS.get(item.lower(), item) if isinstance(item, str) else item for item in raw]
    try:
        return msgspec.convert(raw, spec.annotation, strict=False)
    except msgspec.ValidationError as exc:
        errors.append(validation_error(exc, [where, spec.key]))
        return None


def _take_json_body(
    plan: EndpointPlan, scope: Scope, body: bytes, errors: list[dict[str, Any]], values: dict[str, Any]
) -> None:
    """Decode the (already read) body into the plan's body parameters."""
    if not body:
        if plan.body_required:
            errors.append(missing_error(["body"]))
            return
        for spec in plan.body_params:
            values[spec.name] = spec.default_value()
        return
    headers = scope["headers"]
    if find_header(headers, b"content-type") != b"application/json":
        # Not the usual spelling: parse the header. Only JSON is parsed as JSON, so a cross-site
        # text/plain "simple request" never reaches the handler.
        media_type = media_type_of(headers)
        if not _is_json(media_type):
            raise HTTPException(
                415,
                f"Expected a JSON body (Content-Type: application/json), got {media_type or 'no content type'!r}.",
            )
    assert plan.body_decoder is not None
    try:
        decoded = plan.body_decoder.decode(body)
    except msgspec.ValidationError as exc:
        # Only now, on the error path, look for the body's other problems too.
        errors.extend(body_errors(plan.body_decoder.type, body, exc, ["body"]))
        return
    except JSON_DECODE_ERRORS as exc:
        raise malformed_json(exc) from None
    if plan.body_embedded:
        for spec in plan.body_params:
            values[spec.name] = getattr(decoded, spec.key)
    else:
        values[plan.body_params[0].name] = decoded


_ABSENT: Any = object()


def _take(
    spec: ParamSpec, source: Any, multi: bool, where: str, values: dict[str, Any], errors: list[dict[str, Any]]
) -> Any:
    """The raw value(s) of ``spec`` in a multi-dict; when absent, record the default or the error."""
    if multi:
        raw = source.getlist(spec.key)
        present = bool(raw)
    else:
        raw = source.get(spec.key)
        present = raw is not None
    if present:
        return raw
    if spec.required:
        errors.append(missing_error([where, spec.key]))
    else:
        values[spec.name] = spec.default_value()
    return _ABSENT


def _extract_into(
    specs: list[ParamSpec],
    scope: Scope,
    request: Request | None,
    errors: list[dict[str, Any]],
    values: dict[str, Any],
) -> dict[str, Any]:
    """Fill ``values`` from the path, query string, headers and cookies; no body, no awaits.

    ``request`` is None only for plans that do not ``need_request``.
    """
    query = None  # each query key's first value
    for spec in specs:
        kind = spec.kind
        if kind == PATH:
            raw = scope["path_params"][spec.key]
            values[spec.name] = _convert(spec, raw, "path", errors) if spec.convert else raw
            continue
        if kind == QUERY:
            if spec.is_list:
                assert request is not None
                raw = _take(spec, request.query_params, True, "query", values, errors)
            else:
                if query is None:
                    # With a request, its QueryParams serve later readers too; without one the
                    # scope's query string is parsed into just what is needed.
                    query = request.query_params._dict if request is not None else query_values(scope)
                raw = query.get(spec.key, _ABSENT)
                if raw is _ABSENT:
                    _take(spec, query, False, "query", values, errors)
        else:
            assert request is not None
            if kind == HEADER:
                if spec.is_list:
                    # One meaning for a list header, RFC 9110's: comma-separated, over any lines.
                    items = split_list_header(request.headers.getlist(spec.key))
                    raw = _take(spec, {spec.key: items} if items else {}, False, "header", values, errors)
                else:
                    raw = _take(spec, request.headers, False, "header", values, errors)
            elif kind == COOKIE:
                raw = _take(spec, request.cookies, False, "cookie", values, errors)
            else:  # REQUEST or CONNECTION
                values[spec.name] = request
                continue
        if raw is _ABSENT:
            continue
        if spec.convert:
            values[spec.name] = _convert(spec, raw, _LOC_NAMES[kind], errors)
        else:
            values[spec.name] = raw
    return values


async def resolve_into(
    plan: EndpointPlan, connection: HTTPConnection, ctx: RequestContext | None, errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The keyword arguments for ``plan.func``, each problem appended to ``errors`` (none raised).

    For callers that raise :class:`RequestValidationError` themselves; :func:`resolve` does.
    """
    # Body and form parameters exist only on http routes, whose connection is a Request.
    request: Request = connection  # type: ignore[assignment]
    # Errors are listed in this order: route dependencies, request data (path, query, headers,
    # cookies), parameter dependencies and form fields, then the body.
    for dep in plan.dependencies:
        assert ctx is not None
        await _run_dependency(dep, ctx, errors)
    values = _extract_into(plan.request_specs, request.scope, request, errors, {}) if plan.request_specs else {}
    form = None
    for spec in plan.other_specs:
        kind = spec.kind
        if kind == DEPENDS:
            assert spec.dependency is not None and ctx is not None
            values[spec.name] = await _run_dependency(spec.dependency, ctx, errors)
        elif kind == BACKGROUND:
            assert ctx is not None
            if ctx.background is None:
                ctx.background = BackgroundTasks()
            values[spec.name] = ctx.background
        else:  # FORM or FILE
            if form is None:
                form = await request.form()
            await take_form_value(spec, form, values, errors)
    if plan.body_params:
        _take_json_body(plan, request.scope, await request.body(), errors, values)
    return values


async def take_form_value(spec: ParamSpec, form: Any, values: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    """Put the form field or file(s) of ``spec`` into ``values``, or record why not in ``errors``."""
    if spec.blank_absent:
        # An empty input of an HTML form means "not filled in" (see _blank_is_absent).
        found = drop_blank(form.getlist(spec.key) if spec.is_list else form.get(spec.key))
        raw = _take(spec, {} if found is None else {spec.key: found}, False, "body", values, errors)
    else:
        raw = _take(spec, form, spec.is_list, "body", values, errors)
    if raw is _ABSENT:
        return
    if spec.kind == FILE:
        uploads = raw if isinstance(raw, list) else [raw]
        uploads = [item for item in uploads if not _empty_upload(item)]
        if not uploads:
            _take(spec, {}, False, "body", values, errors)
        elif not all(isinstance(item, UploadFile) for item in uploads):
            errors.append({"loc": ["body", spec.key], "msg": "Expected an uploaded file", "type": "type_error"})
        elif spec.convert:  # annotated bytes: hand over the content
            contents = [await item.read() for item in uploads]
            values[spec.name] = contents if spec.is_list else contents[0]
        else:
            values[spec.name] = uploads if spec.is_list else uploads[0]
    elif spec.convert:
        values[spec.name] = _convert(spec, raw, "body", errors)
    else:
        values[spec.name] = raw


def _empty_upload(item: Any) -> bool:
    # What a form sends for a file input left empty: a part with an empty filename and no content
    # (browsers), or an empty plain field (some clients).
    return item == "" if isinstance(item, str) else isinstance(item, UploadFile) and not item.filename and item.size == 0


async def _run_dependency(dep: DependencyPlan, ctx: RequestContext, errors: list[dict[str, Any]]) -> Any:
    func = dep.func
    overrides = ctx.overrides
    if overrides is not None and func in overrides:
        func = overrides[func]
        dep = _override_plan(ctx.app, func, dep)
    elif dep.app_scoped:
        return await ctx.app.app_dependencies.get(dep)
    cache = ctx.cache
    if dep.use_cache and func in cache:
        return cache[func]
    before = len(errors)
    if dep.only_dependencies and not dep.dependencies:
        # Fast path for chains of dependencies: no request data to extract.
        kwargs = {}
        for spec in dep.params:
            kwargs[spec.name] = await _run_dependency(spec.dependency, ctx, errors)  # type: ignore[arg-type]
    else:
        kwargs = await resolve_into(dep, ctx.connection, ctx, errors)
    if len(errors) > before:
        return None
    if dep.is_async and not dep.is_generator:
        value = await func(**kwargs)  # the usual dependency, called here: one coroutine fewer
    else:
        value = await _invoke(dep, func, kwargs, ctx)
    if dep.use_cache:
        cache[func] = value
    return value


async def _invoke(
    dep: DependencyPlan, func: Callable[..., Any], kwargs: dict[str, Any], owner: RequestContext | AppDependencies
) -> Any:
    """Call a dependency; a ``yield`` one is run up to its ``yield`` and kept open on ``owner``."""
    if dep.is_generator:
        if isinstance(owner, AppDependencies):
            if owner.stack is None:
                owner.stack = contextlib.AsyncExitStack()
            return await _enter_app_generator(func, kwargs, owner.stack)
        generator = func(**kwargs)
        if inspect.isasyncgen(generator):
            try:
                value = await generator.__anext__()
            except StopAsyncIteration:
                raise RuntimeError(f"Dependency {_name(func)} did not yield a value.") from None
        else:
            found, value = await anyio.to_thread.run_sync(_first_sync, generator)
            if not found:
                raise RuntimeError(f"Dependency {_name(func)} did not yield a value.")
        if dep.function_scoped:
            if owner.function_exits is None:
                owner.function_exits = []
            owner.function_exits.append(generator)
        else:
            if owner.exits is None:
                owner.exits = []
            owner.exits.append(generator)
        return value
    if dep.is_async:
        return await func(**kwargs)
    return await anyio.to_thread.run_sync(functools.partial(func, **kwargs))


def _first_sync(generator: Any) -> tuple[bool, Any]:
    try:
        return True, next(generator)
    except StopIteration:
        return False, None


def _name(func: Any) -> str:
    return repr(getattr(func, "__qualname__", func))


async def _enter_app_generator(func: Callable[..., Any], kwargs: dict[str, Any], stack: contextlib.AsyncExitStack) -> Any:
    """Run an app-scoped ``yield`` dependency up to its yield; the rest runs when ``stack`` closes."""
    if inspect.isasyncgenfunction(func):
        return await stack.enter_async_context(contextlib.asynccontextmanager(func)(**kwargs))
    manager = contextlib.contextmanager(func)(**kwargs)
    value = await anyio.to_thread.run_sync(manager.__enter__)

    async def exit_(exc_type: Any, exc: Any, tb: Any) -> bool | None:
        return await anyio.to_thread.run_sync(manager.__exit__, exc_type, exc, tb)

    stack.push_async_exit(exit_)
    return value


def _override_plan(app: Any, func: Callable[..., Any], original: DependencyPlan) -> DependencyPlan:
    # An override is planned once per override function, then cached on the app: no per-request
    # signature inspection even in tests.
    # Keyed by the scopes too: the override of a Security(...) dependency sees the scopes the
    # original was asked for (SecurityScopes), which differ from use to use.
    cache: dict[Any, DependencyPlan] = app.__dict__.setdefault("_override_plans", {})
    key = (func, original.security_scopes)
    plan = cache.get(key)
    if plan is None:
        scope = "function" if original.function_scoped else "request"
        marker = Depends(func, use_cache=original.use_cache, scope=scope)
        plan = dependency_plan(marker, "<override>", {}, (), original.security_scopes)
        cache[key] = plan
    return plan


class AppDependencies:
    """Values of ``Depends(fn, scope="app")``: made once (at startup), torn down at shutdown.

    Startup creates every app-scoped dependency any route uses, so a broken database URL fails the
    deploy instead of the first request. Used without a lifespan (a TestClient outside ``with``),
    a value is created on first use instead.
    """

    def __init__(self, app: Covet) -> None:
        self.app = app
        self.values: dict[Callable[..., Any], Any] = {}
        self.stack: contextlib.AsyncExitStack | None = None
        self._lock: anyio.Lock | None = None

    def plans(self) -> list[DependencyPlan]:
        """Every app-scoped dependency of every route, dependencies first."""
        found: dict[Callable[..., Any], DependencyPlan] = {}
        for route in self.app.router.routes:
            for plan in route.plan.iter_plans():
                if isinstance(plan, DependencyPlan) and plan.app_scoped:
                    found.setdefault(plan.func, plan)
        return list(found.values())

    async def startup(self) -> None:
        for plan in self.plans():
            await self.get(plan)

    async def shutdown(self) -> None:
        stack, self.stack = self.stack, None
        self.values.clear()
        if stack is not None:
            await stack.aclose()

    async def get(self, dep: DependencyPlan) -> Any:
        if dep.func in self.values:
            return self.values[dep.func]
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            return await self._create(dep)

    async def _create(self, dep: DependencyPlan) -> Any:
        if dep.func in self.values:
            return self.values[dep.func]
        kwargs: dict[str, Any] = {}
        for spec in dep.params:
            assert spec.dependency is not None  # checked at registration: only app-scoped deps
            kwargs[spec.name] = await self._create(spec.dependency)
        func = dep.func
        value = await _invoke(dep, func, kwargs, self)
        self.values[func] = value
        return value
