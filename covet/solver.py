"""Dependency resolution compiled per route: a handler's dependency tree as one flat list of steps.

:func:`covet.resolution.resolve_into` walks a plan's tree on every request, one coroutine and one
cache lookup per dependency. A :class:`Solver` walks the tree once, when the app freezes, and
writes down what that walk does: open a frame for a dependency's arguments, read request values
into it, take an earlier dependency's value, read the body or the form, call the dependency. A
request then runs those steps in one coroutine. Caching within a request (``use_cache``, the
default) is decided by the walk too: a dependency already computed earlier in the list is not
computed again, its value is taken from its slot.

What a request sees is the same as with ``resolve_into``: the same call order, errors listed in
the same order, a dependency skipped (not called) when its own arguments or anything it depends on
failed, yield dependencies registered on the :class:`~covet.resolution.RequestContext` for
teardown. ``app.dependency_overrides`` are looked up per request, so a request made while any
override is set takes ``resolve_into`` instead (tests set overrides; served apps rarely do).

Measured (callgrind, bench ``deps`` scenario, compiled): the walk per request cost about 30k
instructions of the scenario's 122k; see bench/RESULTS.md for the figures after.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from .background import BackgroundTasks
from .params import BACKGROUND, DEPENDS, DependencyPlan, EndpointPlan, ParamSpec
from .resolution import (
    RequestContext,
    _extract_into,
    _first_sync,
    _name,
    _take_json_body,
    resolve_into,
    take_form_value,
)

if TYPE_CHECKING:
    from .requests import Request

__all__ = ["Solver"]

# Step kinds; a step is a tuple (kind, frame, a, b).
_OPEN = 0  # start the arguments of a plan in slot ``frame``; a: request specs to read, or None
_CALL = 1  # a: the _Finish record of the plan whose arguments are in ``frame``
_APP = 2  # a: an app-scoped DependencyPlan (made at startup, cached by the app), its value to ``frame``
_BARE = 3  # a: the _Finish record of a dependency that takes no arguments at all (no _OPEN step)
_EXTRACT = 4  # a: request specs read into ``frame`` after its route-level dependencies ran

# How a dependency is called, decided when the solver is made.
_AWAIT = 0  # async def
_ASYNC_GENERATOR = 1
_THREAD = 2  # plain def, run in a worker thread
_SYNC_GENERATOR = 3
_ENDPOINT = 4  # not called here: the arguments are the result

#: A slot's value when the dependency was skipped because its arguments had errors.
_FAILED: Any = object()


def _call_kind(dep: DependencyPlan) -> int:
    if dep.is_generator:
        return _SYNC_GENERATOR if inspect.isgeneratorfunction(dep.func) else _ASYNC_GENERATOR
    return _AWAIT if dep.is_async else _THREAD


class _Finish:
    """The second half of a plan's arguments, after its dependencies are computed, and its call."""

    __slots__ = ("plan", "how", "takes", "others", "body")

    def __init__(self, plan: EndpointPlan, how: int, takes: list[tuple[str | None, int]]) -> None:
        self.plan = plan
        self.how = how
        #: (argument name, slot) of each dependency value; name None for route-level dependencies,
        #: whose values are not passed.
        self.takes = tuple(takes)
        #: Background-task and form parameters, in signature order.
        self.others = tuple(spec for spec in plan.other_specs if spec.kind != DEPENDS)
        self.body = plan if plan.body_params else None


class Solver:
    """``await solver(request, ctx, errors)``: the handler's keyword arguments, errors appended.

    Made once per route from its :class:`~covet.params.EndpointPlan`. Raises what a dependency
    raises (an ``HTTPException`` stays an ``HTTPException``); validation problems are appended to
    ``errors`` for the caller to raise as one ``RequestValidationError``.
    """

    __slots__ = ("plan", "steps", "size")

    def __init__(self, plan: EndpointPlan) -> None:
        self.plan = plan
        self.steps: list[tuple[int, int, Any]] = []
        self.size = 0
        self._walk(plan, _ENDPOINT, {})

    def _walk(self, plan: EndpointPlan, how: int, computed: dict[Any, int]) -> int:
        """Write the steps that compute ``plan`` (or, for the endpoint, its arguments); its slot.

        The order is resolve_into's: route-level dependencies, request values, then parameter
        dependencies (each computed in full, depth first), then background tasks, form fields and
        the body.
        """
        frame = self.size
        self.size += 1
        if not plan.params and not plan.dependencies and how != _ENDPOINT:
            # Nothing to read and nothing that can fail: called as it is, in one step.
            self.steps.append((_BARE, frame, _Finish(plan, how, [])))
            return frame
        if not plan.dependencies:
            self.steps.append((_OPEN, frame, plan.request_specs or None))
            takes: list[tuple[str | None, int]] = []
        else:
            # Route-level dependencies run before the request values are read.
            self.steps.append((_OPEN, frame, None))
            takes = [(None, self._value(dep, computed)) for dep in plan.dependencies]
            if plan.request_specs:
                self.steps.append((_EXTRACT, frame, plan.request_specs))
        for spec in plan.other_specs:
            if spec.kind == DEPENDS:
                assert spec.dependency is not None
                takes.append((spec.name, self._value(spec.dependency, computed)))
        self.steps.append((_CALL, frame, _Finish(plan, how, takes)))
        return frame

    def _value(self, dep: DependencyPlan, computed: dict[Any, int]) -> int:
        """The slot holding ``dep``'s value, writing the steps that compute it unless cached."""
        if dep.app_scoped:
            slot = self.size
            self.size += 1
            self.steps.append((_APP, slot, dep))
            return slot
        if dep.use_cache and dep.func in computed:
            return computed[dep.func]
        slot = self._walk(dep, _call_kind(dep), computed)
        if dep.use_cache:
            computed[dep.func] = slot
        return slot

    async def __call__(self, request: Request, ctx: RequestContext | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
        if ctx is not None and ctx.overrides is not None:
            return await resolve_into(self.plan, request, ctx, errors)
        scope = request.scope
        values: list[Any] = [None] * self.size
        # The number of errors when each plan's arguments were started.
        marks = [0] * self.size
        kwargs: dict[str, Any] = {}
        for kind, frame, a in self.steps:
            if kind == _OPEN:
                kwargs = values[frame] = {}
                marks[frame] = len(errors)
                if a is not None:
                    _extract_into(a, scope, request, errors, kwargs)
            elif kind == _CALL:
                kwargs = values[frame]
                failed = False
                for name, slot in a.takes:
                    value = values[slot]
                    if value is _FAILED:
                        failed = True  # computed earlier (cached) and skipped then
                    elif name is not None:
                        kwargs[name] = value
                if a.others:
                    await _take_others(a.others, request, ctx, errors, kwargs)
                if a.body is not None:
                    _take_json_body(a.body, scope, await request.body(), errors, kwargs)
                how = a.how
                if how == _ENDPOINT:
                    break
                if failed or len(errors) > marks[frame]:
                    values[frame] = _FAILED  # not called: something it needs failed
                elif how == _AWAIT:
                    values[frame] = await a.plan.func(**kwargs)  # the usual kind: no coroutine of ours
                else:
                    assert ctx is not None
                    values[frame] = await _call(a.plan, how, kwargs, ctx)
            elif kind == _BARE:
                if a.how == _AWAIT:
                    values[frame] = await a.plan.func()
                else:
                    assert ctx is not None
                    values[frame] = await _call(a.plan, a.how, {}, ctx)
            elif kind == _EXTRACT:
                _extract_into(a, scope, request, errors, values[frame])
            else:  # _APP
                assert ctx is not None and ctx.app is not None
                values[frame] = await ctx.app.app_dependencies.get(a)
        return kwargs


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


async def _call(dep: DependencyPlan, how: int, kwargs: dict[str, Any], ctx: RequestContext) -> Any:
    """Call a sync or ``yield`` dependency with ``kwargs``; a yield one runs to its yield and is kept
    open on ``ctx`` (async ones are awaited by the solver itself)."""
    func = dep.func
    if how == _THREAD:
        return await anyio.to_thread.run_sync(functools.partial(func, **kwargs))
    generator = func(**kwargs)
    if how == _ASYNC_GENERATOR:
        try:
            value = await generator.__anext__()
        except StopAsyncIteration:
            raise RuntimeError(f"Dependency {_name(func)} did not yield a value.") from None
    else:
        found, value = await anyio.to_thread.run_sync(_first_sync, generator)
        if not found:
            raise RuntimeError(f"Dependency {_name(func)} did not yield a value.")
    if dep.function_scoped:
        if ctx.function_exits is None:
            ctx.function_exits = []
        ctx.function_exits.append(generator)
    else:
        if ctx.exits is None:
            ctx.exits = []
        ctx.exits.append(generator)
    return value
