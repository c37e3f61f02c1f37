"""Dependency resolution compiled per route: a handler's dependency tree as one generated function.

:func:`covet.resolution.resolve_into` walks a plan's tree on every request, one coroutine and one
cache lookup per dependency. A :class:`Solver` walks the tree once, when the app freezes, and
writes down what that walk does as the source of one ``async def``, compiled once (Falcon's
CompiledRouter does the same for routing): read a dependency's request values, take an earlier
dependency's value, read the body or the form, call the dependency. Caching within a request
(``use_cache``, the default) is decided by the walk too: a dependency computed earlier is not
computed again, its variable is read. ``solver.source`` shows the code; tracebacks show its lines.

What a request sees is the same as with ``resolve_into``: the same call order, errors listed in
the same order, a dependency skipped (not called) when its own arguments or anything it depends on
failed, yield dependencies registered on the :class:`~covet.resolution.RequestContext` for
teardown. ``app.dependency_overrides`` are looked up per request, so a request made while any
override is set takes ``resolve_into`` instead (tests set overrides; served apps rarely do).

Measured (callgrind, bench ``deps`` scenario, compiled): walking the tree per request cost about
20k instructions of the scenario's 122k; see bench/RESULTS.md for the figures after.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from .background import BackgroundTasks
from .exceptions import RequestValidationError
from .extraction import Argument, ExtractionWriter, call_arguments, dict_display, generated_function
from .globals import RequestBox, request_of
from .params import BACKGROUND, DEPENDS, DependencyPlan, EndpointPlan, ParamSpec
from .requests import read_body
from .resolution import (
    RequestContext,
    _invoke,
    _name,
    resolve_into,
    take_form_value,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .requests import Request

__all__ = ["Solver"]

# How a dependency is called, decided when the solver is made: the async kinds are written out
# in the generated code; plain and sync-generator ones run in a worker thread (resolution._invoke).
_AWAIT = 0
_ASYNC_GENERATOR = 1
_IN_THREAD = 2

# The body read off the scope when no Request exists yet (pipeline._json_body_from_scope reads it
# so too): kept in the box for a Request made later; False while the read is under way, so that a
# failed read is not repeated.
_BODY_LINES = [
    "    if request is None:",
    "        limits = box[4]",
    "        box[5] = False",
    "        body = box[5] = await read_body(scope, box[2], limits.max_body_size, limits.body_timeout)",
    "    else:",
    "        body = await request.body()",
]

#: A dependency's value when it was skipped because its arguments had errors.
_FAILED: Any = object()


def _call_kind(dep: DependencyPlan) -> int:
    if dep.is_generator:
        return _IN_THREAD if inspect.isgeneratorfunction(dep.func) else _ASYNC_GENERATOR
    return _AWAIT if dep.is_async else _IN_THREAD


class Solver:
    """``await solver(box, ctx)``: the handler's keyword arguments, or (``call_handler=True``,
    for async handlers) the handler's result, for the request in ``box`` (see covet.globals).

    Made once per route from its :class:`~covet.params.EndpointPlan`. Reads the body (or form)
    first, then resolves. The Request is made only when a value needs it (a cookie, a list, the
    Request itself, a form); path, query and header values and the JSON body are read off the
    scope. Raises :class:`~covet.exceptions.RequestValidationError` listing every
    validation problem, and what a dependency raises (an ``HTTPException`` stays one).
    """

    __slots__ = ("plan", "source", "solve", "_lines", "_names", "_count", "_values")

    def __init__(self, plan: EndpointPlan, *, call_handler: bool = False) -> None:
        self.plan = plan
        self._lines: list[str] = []
        self._names: dict[str, Any] = {
            "_FAILED": _FAILED,
            "_take_others": _take_others,
            "_invoke": _invoke,
            "_no_value": _no_value,
            "resolve_into": resolve_into,
            "request_of": request_of,
            "read_body": read_body,
            "RequestValidationError": RequestValidationError,
            "PLAN": plan,
            "HANDLER": plan.func,
        }
        self._count = 0
        self._values = ExtractionWriter(self._names)  # path, query, header and cookie values
        args = self._walk(plan, None, {})[2]
        reads_body, reads_form, needs_request = _reads(plan)
        qualname = getattr(plan.func, "__qualname__", type(plan.func).__name__)
        if needs_request:
            # Cookies, lists, the Request itself or a form: read through the Request.
            start = ["    request = request_of(box)", *(["    body = await request.body()"] if reads_body else [])]
        else:
            # Values and the body off the scope; a Request a hook made is used if there is one.
            start = ["    request = box[0]", *(_BODY_LINES if reads_body else [])]
        self.source = "\n".join(
            [
                "async def solve(box, ctx, target=None):",
                "    scope = box[1]",
                # The body first: a dependency holding a resource (a database connection) must not
                # hold it while a slow client sends.
                *start,
                *(["    await request.form()"] if reads_form else []),
                "    errors = []",
                "    if ctx is not None and ctx.overrides is not None:",
                "        kwargs = await resolve_into(PLAN, request_of(box), ctx, errors)",
                "        if errors:",
                "            raise RequestValidationError(errors)",
                "        return await HANDLER(**kwargs)" if call_handler else "        return kwargs",
                *("    " + line for line in self._lines),
                "    if errors:",
                "        raise RequestValidationError(errors)",
                # The values go from locals straight into the call (no dict, no **: measured 2.3k
                # instructions fewer for a call with three values).
                f"    return await HANDLER({call_arguments(args)})" if call_handler else f"    return {dict_display(args)}",
                "",
            ]
        )
        #: ``await solve(box, ctx, target=None)``: what calling the solver gives, without the call.
        self.solve: Callable[..., Awaitable[Any]] = generated_function(
            self.source, self._names, "solve", f"solver for {qualname}"
        )
        del self._lines, self._names, self._values

    def __call__(self, box: RequestBox[Any], ctx: RequestContext | None) -> Awaitable[Any]:
        return self.solve(box, ctx)

    def _const(self, prefix: str, n: int, value: Any) -> str:
        name = f"{prefix}{n}"
        self._names[name] = value
        return name

    def _walk(
        self, plan: EndpointPlan, how: int | None, computed: dict[Any, tuple[int, bool]]
    ) -> tuple[int, bool, list[Argument]]:
        """Write the code that computes ``plan`` (``how`` None: the endpoint, whose arguments are
        the result); its number, whether its value may be ``_FAILED``, and its call's arguments.

        The order is resolve_into's: route-level dependencies, request values, then parameter
        dependencies (each computed in full, depth first), then background tasks, form fields and
        the body.
        """
        lines = self._lines
        n = self._count
        self._count += 1
        prefix = f"k{n}"  # its values are the locals k{n}__{parameter name}
        mark_at = len(lines)  # where "m{n} = len(errors)" goes, if this subtree can add errors
        adds_errors = False
        args: list[Argument] = []
        takes: list[tuple[str | None, int, bool]] = []
        for dep in plan.dependencies:
            slot, may_fail, fresh = self._value(dep, computed)
            adds_errors = adds_errors or (fresh and may_fail)
            takes.append((None, slot, may_fail and not fresh))
        if plan.request_specs:
            lines.extend(self._values.lines(plan.request_specs, prefix, args))
            adds_errors = True
        for spec in plan.other_specs:
            if spec.kind == DEPENDS:
                assert spec.dependency is not None
                slot, may_fail, fresh = self._value(spec.dependency, computed)
                adds_errors = adds_errors or (fresh and may_fail)
                takes.append((spec.name, slot, may_fail and not fresh))
        args.extend((name, f"v{slot}") for name, slot, _ in takes if name is not None)
        others = tuple(spec for spec in plan.other_specs if spec.kind != DEPENDS)
        if others:
            lines.append(f"{prefix}_others = {{}}")
            lines.append(f"await _take_others({self._const('O', n, others)}, request, ctx, errors, {prefix}_others)")
            args.append((None, f"{prefix}_others"))
            adds_errors = True
        if plan.body_params:
            lines.extend(self._values.json_body(plan, prefix, args))
            adds_errors = True
        if how is None:
            return n, False, args
        assert isinstance(plan, DependencyPlan)
        func = self._const("F", n, plan.func)
        arguments = call_arguments(args)
        if how == _AWAIT:
            call = [f"v{n} = await {func}({arguments})"]
        elif how == _ASYNC_GENERATOR:
            # Run to its yield and kept open on the context for teardown, written out here.
            exits = "function_exits" if plan.function_scoped else "exits"
            call = [
                f"g{n} = {func}({arguments})",
                "try:",
                f"    v{n} = await g{n}.__anext__()",
                "except StopAsyncIteration:",
                f"    raise _no_value({func}) from None",
                f"if ctx.{exits} is None:",
                f"    ctx.{exits} = []",
                f"ctx.{exits}.append(g{n})",
            ]
        else:
            call = [f"v{n} = await _invoke({self._const('P', n, plan)}, {func}, {dict_display(args)}, ctx)"]
        skip = [f"v{slot} is _FAILED" for _, slot, failed_before in takes if failed_before]
        if adds_errors:
            lines.insert(mark_at, f"m{n} = len(errors)")
            skip.append(f"len(errors) > m{n}")
        if skip:
            # Not called when something it needs failed (its errors are already listed).
            lines.append(f"if {' or '.join(skip)}:")
            lines.append(f"    v{n} = _FAILED")
            lines.append("else:")
            lines.extend("    " + line for line in call)
        else:
            lines.extend(call)
        return n, bool(skip), args

    def _value(self, dep: DependencyPlan, computed: dict[Any, tuple[int, bool]]) -> tuple[int, bool, bool]:
        """Write the code for ``dep``'s value unless computed earlier: (its number, whether it may
        be ``_FAILED``, whether it was computed here rather than taken from an earlier use)."""
        if dep.app_scoped:
            n = self._count
            self._count += 1
            self._lines.append(f"v{n} = await ctx.app.app_dependencies.get({self._const('P', n, dep)})")
            return n, False, True
        if dep.use_cache and dep.func in computed:
            slot, may_fail = computed[dep.func]
            return slot, may_fail, False
        slot, may_fail, _ = self._walk(dep, _call_kind(dep), computed)
        if dep.use_cache:
            computed[dep.func] = (slot, may_fail)
        return slot, may_fail, True


async def _take_others(
    specs: tuple[ParamSpec, ...],
    request: Request,
    ctx: RequestContext | None,
    errors: list[dict[str, Any]],
    kwargs: dict[str, Any],
) -> None:
    """Background-task, form and file parameters."""
    form = None
    for spec in specs:
        if spec.kind == BACKGROUND:
            assert ctx is not None
            if ctx.background is None:
                ctx.background = BackgroundTasks()
            kwargs[spec.name] = ctx.background
        else:
            if form is None:
                form = await request.form()
            await take_form_value(spec, form, kwargs, errors)


def _no_value(func: Any) -> RuntimeError:
    return RuntimeError(f"Dependency {_name(func)} did not yield a value.")


def _reads(plan: EndpointPlan) -> tuple[bool, bool, bool]:
    """Whether resolving ``plan`` reads a JSON body, a form, and whether it needs the Request
    (the handler's or a dependency's values)."""
    plans = list(plan.iter_plans())
    reads_form = any(each.has_form for each in plans)
    return any(each.body_params for each in plans), reads_form, reads_form or any(each.needs_request for each in plans)
