"""Route runners: how a route turns one request into a sent response, chosen when the app freezes.

The app's dispatch is a straight line (``Covet._serve``): resolve the route, run its runner,
clean up. Everything a route needs per request is decided here, once, from the route's shape, by
composing a few steps:

- **arguments and call** (:func:`call_step`): how the handler is called: with no arguments, with
  the matcher's path parameters, with values read off the scope, after reading a JSON body, or
  through full resolution (dependencies, forms, files); awaited, or in a worker thread;
- **hooks**: the ``before_request`` / ``after_request`` functions of the route's scaffold chain,
  each wrapped once into a plain ``await hook(arg)`` (:func:`hook_caller`); the before hooks
  together as one ``await before(request)`` step (:func:`before_step`);
- **dependency context**: a :class:`~covet.resolution.RequestContext` for routes with
  dependencies or background tasks, whose teardown runs on every way out (success, an error, a
  disconnect, cancellation);
- **send**: one :func:`send_response` for every response; a route whose dict or Struct result
  nothing else touches sends its JSON bytes directly, without a Response object.

:func:`build_runner` picks :func:`_direct_runner` (no hooks, no context) or :func:`_full_runner`
(everything else) and hands it the steps; routing failures (404, 405, the automatic ``OPTIONS``
answer and the trailing-slash 308) are runners made the same way over the app's own hooks.
The request path is drawn in ``docs/request-flow.md``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from .extraction import caller, extractor
from .globals import RequestBox, request_of
from .params import (
    CALL_BODY,
    CALL_EXTRACT,
    CALL_PATH,
    CALL_RESOLVE,
    CALL_SIMPLE,
    EndpointPlan,
    is_async_callable,
)
from .requests import _new, read_body
from .resolution import RequestContext
from .responses import (
    _CONTENT_LENGTHS,
    _JSON_CONTENT_TYPE,
    _STRUCT_META,
    Response,
    _content_length,
    json_encoder,
    other_response,
    to_response,
)
from .solver import Solver
from .types import Message, Send

if TYPE_CHECKING:
    from .app import Covet
    from .scaffold import Scaffold

__all__ = ["Runner", "build_runner", "failure_runner", "send_response", "hook_caller", "call_flexible"]

#: ``await runner(box, target)`` serves one request: ``box`` is the request's makings (see
#: covet.globals), ``target`` what routing found (the Route, the allowed methods, the new path).
Runner = Callable[[RequestBox[Any], Any], Awaitable[None]]

#: ``call(box, ctx, target)``: the handler's result for this request (an awaitable).
Call = Callable[[RequestBox[Any], "RequestContext | None", Any], Awaitable[Any]]

#: ``extract(scope, request, body)``: a plan's keyword arguments (covet.extraction.extractor).
Extract = Callable[[Any, Any, "bytes | None"], dict[str, Any]]

_send_whole = Response.__call__


# --- sending ----------------------------------------------------------------------------------


async def send_response(response: Response, box: RequestBox[Any]) -> None:
    """Send ``response`` for the request in ``box``, marking the box as started first.

    A body known in full goes out as two messages here; anything else (streams, files, events)
    is sent by the response itself, watched so that the box knows once it has started. Headers go
    out as a copy: a middleware editing the message's list must not change a Response that may be
    returned again (a module-level constant).
    """
    scope = box[1]
    if type(response).__call__ is _send_whole:
        send = box[3]
        box[6] = True
        await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers[:]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else response.body})
        if response.background is not None:
            await response.background()
    else:
        await response(scope, box[2], StartWatch(box[3], box))


class StartWatch:
    """A ``send`` that marks the request's box as started when the response starts."""

    __slots__ = ("send", "box")

    def __init__(self, send: Send, box: RequestBox[Any]) -> None:
        self.send = send
        self.box = box

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.box[6] = True
        await self.send(message)


# --- hooks ------------------------------------------------------------------------------------


@functools.cache
def _arity(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` takes (99 for ``*args``)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 99
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def hook_caller(func: Callable[..., Any]) -> Callable[[Any], Awaitable[Any]]:
    """``func`` as ``await caller(arg)``: given the argument only if it takes one; sync ones in a thread.

    Made once per hook when the app freezes, so a request makes no signature checks.
    """
    takes_arg = _arity(func) >= 1
    if is_async_callable(func):
        if takes_arg:
            return func
        return lambda arg: func()
    if takes_arg:
        return lambda arg: anyio.to_thread.run_sync(func, arg)
    return lambda arg: anyio.to_thread.run_sync(func)


async def call_flexible(func: Callable[..., Any], *args: Any) -> Any:
    """Call ``func`` with as many of ``args`` as it accepts; sync functions run in a worker thread.

    For the rarely called (error handlers, startup and shutdown hooks); hooks called on every
    request are wrapped once with :func:`hook_caller` instead.
    """
    call_args = args[: _arity(func)]
    if is_async_callable(func):
        return await func(*call_args)
    return await anyio.to_thread.run_sync(functools.partial(func, *call_args))


def _hook_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__


def _checked_after(func: Callable[..., Any]) -> Callable[[Response], Awaitable[Response]]:
    """An after_request hook that must give a Response back (a clear error when it does not)."""
    call = hook_caller(func)

    async def after(response: Response) -> Response:
        result = await call(response)
        if not isinstance(result, Response):
            raise TypeError(
                f"after_request hook {_hook_name(func)!r} returned {result!r}; "
                "it must return the response it received (or a new Response)."
            )
        return result

    return after


#: ``await before(request)``: the route's before hooks run in order; the first result that is not
#: None (an early response), or None.
Before = Callable[[Any], Awaitable[Any]]


def before_step(hooks: Sequence[Callable[[Any], Awaitable[Any]]]) -> Before | None:
    """``hooks`` (wrapped by :func:`hook_caller`) as one step; None when there are none.

    A single hook is its own step, so a request awaits its coroutine directly, with none of
    covet's in between; several run in a loop until one answers.
    """
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]
    hooks = tuple(hooks)

    async def run_hooks(request: Any) -> Any:
        for hook in hooks:
            early = await hook(request)
            if early is not None:
                return early
        return None

    return run_hooks


def chain_hooks(chain: Sequence[Scaffold]) -> tuple[Before | None, list[Callable[[Response], Awaitable[Response]]]]:
    """The before step of ``chain``'s hooks (app first, in registration order) and its after hooks
    (innermost scaffold first, last registered first), each wrapped for a plain ``await``."""
    before = before_step([hook_caller(func) for scaffold in chain for func in scaffold.before_request_funcs])
    after = [_checked_after(func) for scaffold in reversed(chain) for func in reversed(scaffold.after_request_funcs)]
    return before, after


# --- calling the handler ----------------------------------------------------------------------


def call_step(plan: EndpointPlan, with_request: bool) -> Call:
    """How this plan's handler is called for a request: ``await call(box, ctx, route)`` is its result.

    The plain cases are lambdas returning the handler's own coroutine, so calling them adds no
    coroutine of covet's; reading a body or resolving dependencies needs one. ``with_request``:
    the runner makes the Request anyway (for its hooks), so values and the body are read through
    it, where later readers find them.
    """
    func = plan.func
    uses_request = with_request or plan.needs_request
    if not plan.is_async:
        arguments = _arguments_step(plan, uses_request)

        async def call_in_thread(box: RequestBox[Any], ctx: RequestContext | None, target: Any) -> Any:
            kwargs = await arguments(box, ctx)
            return await anyio.to_thread.run_sync(functools.partial(func, **kwargs))

        return call_in_thread
    mode = plan.call_mode
    if mode == CALL_SIMPLE:
        return lambda box, ctx, target: func()
    # Straight-line code for this plan's values that calls the handler with them (covet.extraction).
    if mode in (CALL_PATH, CALL_EXTRACT):
        return caller(plan, from_box=True, uses_request=uses_request)
    if mode == CALL_BODY:
        with_values = caller(plan)
        if uses_request:

            async def call_with_body(box: RequestBox[Any], ctx: RequestContext | None, target: Any) -> Any:
                request = request_of(box)
                return await with_values(box[1], request, await request.body())

            return call_with_body

        async def call_with_body_from_scope(box: RequestBox[Any], ctx: RequestContext | None, target: Any) -> Any:
            # _json_body_from_scope written out: one coroutine fewer on every JSON-body request.
            limits = box[4]
            box[5] = False
            body = box[5] = await read_body(box[1], box[2], limits.max_body_size, limits.body_timeout)
            return await with_values(box[1], None, body)

        return call_with_body_from_scope
    if mode != CALL_RESOLVE:
        arguments = _arguments_step(plan, uses_request)

        async def call(box: RequestBox[Any], ctx: RequestContext | None, target: Any) -> Any:
            return await func(**await arguments(box, ctx))

        return call
    # Body, dependencies, values and the call in one generated coroutine (covet.solver).
    return Solver(plan, call_handler=True).solve


def _arguments_step(
    plan: EndpointPlan, uses_request: bool
) -> Callable[[RequestBox[Any], RequestContext | None], Awaitable[dict[str, Any]]]:
    """``await arguments(box, ctx)``: the handler's keyword arguments, body read first."""
    mode = plan.call_mode
    if mode == CALL_SIMPLE:

        async def no_arguments(box: RequestBox[Any], ctx: RequestContext | None) -> dict[str, Any]:
            return {}

        return no_arguments
    if mode in (CALL_PATH, CALL_EXTRACT):
        extract = extractor(plan)

        async def request_values(box: RequestBox[Any], ctx: RequestContext | None) -> dict[str, Any]:
            return extract(box[1], request_of(box) if uses_request else None, None)

        return request_values
    if mode == CALL_BODY:
        return functools.partial(_json_body_via_request if uses_request else _json_body_from_scope, extractor(plan))
    return Solver(plan).solve


async def _json_body_via_request(extract: Extract, box: RequestBox[Any], ctx: RequestContext | None) -> dict[str, Any]:
    """Path, query and JSON body values, read through the Request."""
    request = request_of(box)
    return extract(box[1], request, await request.body())


async def _json_body_from_scope(extract: Extract, box: RequestBox[Any], ctx: RequestContext | None) -> dict[str, Any]:
    """Path, query and JSON body values, with no Request made: none exists yet, none is needed.

    The body is kept in the box for a Request made later (covet.request, an error handler); False
    until the read succeeds, so that a failed read is not repeated.
    """
    limits = box[4]
    box[5] = False
    body = box[5] = await read_body(box[1], box[2], limits.max_body_size, limits.body_timeout)
    return extract(box[1], None, body)


# --- runners ----------------------------------------------------------------------------------


def build_runner(app: Covet, plan: EndpointPlan, chain: Sequence[Scaffold]) -> Runner:
    """The runner for a route with ``plan`` whose hooks and error handlers come from ``chain``."""
    before, after = chain_hooks(chain)
    needs_context = plan.has_dependencies or plan.has_background
    # Before hooks are given the Request, so the values and the body are read through it.
    call = call_step(plan, with_request=before is not None)
    if not after and not needs_context:
        return _direct_runner(app, plan, call, chain, before)
    # Where no after_request hook can see the response, a dict or Struct result goes out as JSON
    # bytes without a Response object, as on the direct path.
    json_status = None if after else plan.json_status
    return _full_runner(app, call, chain, before, after, needs_context, json_status, plan.status_code, plan.encode)


def _direct_runner(
    app: Covet, plan: EndpointPlan, call: Call, chain: Sequence[Scaffold], before: Before | None
) -> Runner:
    """Before hooks (if any), call, convert, send: for routes without after_request hooks or a
    dependency context.

    Nothing runs between the handler and the send, so a dict or Struct result goes out as JSON
    bytes without a Response object. Routes with before hooks only take this runner too, not the
    full one, whose teardown and after-hook steps they would skip anyway (measured, with
    :func:`before_step`: hooked 49.1k -> 47.8k instructions).
    """
    json_status = plan.json_status  # None: not a status with a body, or the handler returns Responses
    convert = _converter(json_status, plan.status_code, plan.encode)

    async def run(box: RequestBox[Any], target: Any) -> None:
        response: bytes | Response
        try:
            if before is not None:  # a constant of this route's runner
                early = await before(request_of(box))
                response = convert(await call(box, None, target)) if early is None else to_response(early, None)
            else:
                response = convert(await call(box, None, target))
        except Exception as exc:
            response = await app.handle_exception(exc, request_of(box), chain)
        send = box[3]
        if not isinstance(response, bytes):
            if type(response).__call__ is not _send_whole:
                await send_response(response, box)
                return
            # send_response's whole-body case, written out: one coroutine fewer on the path most
            # requests take (measured: 1.2k instructions of 32k for a PlainTextResponse).
            box[6] = True
            await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers[:]})
            await send({"type": "http.response.body", "body": b"" if box[1]["method"] == "HEAD" else response.body})
            if response.background is not None:
                await response.background()
            return
        box[6] = True
        size = len(response)  # json_headers(response), written out
        length = _CONTENT_LENGTHS[size] if size < 1024 else _content_length(size)
        await send({"type": "http.response.start", "status": json_status, "headers": [length, _JSON_CONTENT_TYPE]})
        await send({"type": "http.response.body", "body": b"" if box[1]["method"] == "HEAD" else response})

    return run


def _converter(
    json_status: int | None, status_code: int | None, encode: Callable[[Any], bytes] | None
) -> Callable[[Any], bytes | Response]:
    """How a handler's result becomes what is sent: JSON bytes (``json_status`` set: nothing will
    look at the response, so a dict or Struct needs no Response object) or a Response."""
    if json_status is None:

        def to_response_of(result: Any) -> Response:
            # A Response is sent as it is; asked first, as handlers that return one mostly say so.
            return result if isinstance(result, Response) else to_response(result, status_code, encode)

        return to_response_of

    encoder = json_encoder.encode if encode is None else encode

    def convert(result: Any) -> bytes | Response:
        # json_body() written out, as json_headers() is in the runners: two calls fewer per JSON
        # response (measured: json 23.1k -> 22.1k instructions).
        kind = type(result)
        if kind is dict or type(kind) is _STRUCT_META:
            try:
                return encoder(result)
            except TypeError:
                pass  # other_response() says what the encoder refused
        return other_response(result, status_code, encode)

    return convert


def _full_runner(
    app: Covet,
    call: Call,
    chain: Sequence[Scaffold],
    before: Before | None,
    after: list[Callable[[Response], Awaitable[Response]]],
    needs_context: bool,
    json_status: int | None,
    status_code: int | None,
    encode: Callable[[Any], bytes] | None,
) -> Runner:
    """Before hooks, call, convert, after hooks, send; dependency teardown on every way out.

    Teardown order: ``scope="function"`` dependencies when the handler returns (their failure is
    the response), request-scoped ones after the send, then background tasks. When the handler
    raises, every teardown sees the exception before the error response is made. Any exception or
    cancellation later on (an after_request hook, the send, a disconnect) still tears down what
    is open, shielded from cancellation so the teardown can await.
    """
    convert = _converter(json_status, status_code, encode)

    async def run(box: RequestBox[Any], target: Any) -> None:
        if needs_context:
            # RequestContext(app, box=box) as its two steps (as covet.globals.request_of makes the
            # Request): CPython 3.11 then calls __init__ directly, not through type.__call__.
            ctx = _new(RequestContext)
            ctx.__init__(app, None, box)  # type: ignore[misc]
        else:
            ctx = None
        body: bytes | None = None  # the JSON shortcut's bytes, when taken
        try:
            response: Response | None = None
            try:
                if before is not None:
                    early = await before(request_of(box))
                    if early is not None:
                        response = to_response(early, None)
                if response is None:
                    result = await call(box, ctx, target)
                    if ctx is not None and ctx.function_exits is not None:
                        await ctx.close_function_scope()
                    converted = convert(result)
                    if isinstance(converted, bytes):
                        body = converted
                    else:
                        response = converted
            except Exception as exc:
                body = None
                if ctx is not None:
                    unwound = await ctx.unwind(exc)
                    if not isinstance(unwound, Exception):
                        raise unwound from exc
                    exc = unwound
                response = await app.handle_exception(exc, request_of(box), chain)
            if body is None:
                assert response is not None
                for after_hook in after:
                    response = await after_hook(response)
                await send_response(response, box)
            else:
                send = box[3]
                box[6] = True
                size = len(body)  # json_headers(body), written out
                length = _CONTENT_LENGTHS[size] if size < 1024 else _content_length(size)
                await send({"type": "http.response.start", "status": json_status, "headers": [length, _JSON_CONTENT_TYPE]})
                await send({"type": "http.response.body", "body": b"" if box[1]["method"] == "HEAD" else body})
        except BaseException as exc:
            if ctx is not None:
                with anyio.CancelScope(shield=True):
                    await ctx.unwind(exc)
            raise
        if ctx is not None:
            await ctx.close()

    return run


def failure_runner(app: Covet, respond: Callable[[RequestBox[Any], Any], Awaitable[Response]]) -> Runner:
    """A runner for what routing answers by itself (404, 405, OPTIONS, 308), over the app's hooks.

    ``await respond(box, target)`` returns the response or raises the HTTPException to render.
    """
    before, after = chain_hooks((app,))
    return _full_runner(app, lambda box, ctx, target: respond(box, target), (app,), before, after, False, None, None, None)
