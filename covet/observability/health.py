"""Liveness and readiness endpoints (``/healthz``, ``/readyz``) made of the app's own checks.

Orchestrators (Kubernetes, Nomad, a load balancer) ask two questions: is the process alive (else
restart it) and can it serve (else send it no traffic). Liveness should not depend on other
services: a database outage must not restart every replica. Readiness runs the dependency checks.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread

from ..params import is_async_callable
from ..responses import JSONResponse

if TYPE_CHECKING:
    from ..app import Covet

__all__ = ["Check", "HealthChecks", "add_health_checks"]

#: A check: a callable taking no arguments, sync or async. It passes when it returns (anything but
#: ``False``) within the timeout; it fails when it raises, returns ``False`` or runs out of time.
Check = Callable[[], Any]
Checks = Check | Iterable[Check] | Mapping[str, Check] | None

_NO_STORE = {"cache-control": "no-store"}


def _named(checks: Checks, what: str) -> list[tuple[str, Check]]:
    if checks is None:
        return []
    if isinstance(checks, Mapping):
        pairs = [(str(name), check) for name, check in checks.items()]
    elif callable(checks):
        pairs = [(_name_of(checks), checks)]
    else:
        pairs = [(_name_of(check), check) for check in checks]
    seen: set[str] = set()
    for name, check in pairs:
        if not callable(check):
            raise TypeError(f"add_health_checks({what}=...) takes callables, got {check!r}.")
        if name in seen:
            raise ValueError(
                f"Two {what} checks are named {name!r}; pass a dict to name them: {what}={{'primary': ..., 'replica': ...}}."
            )
        seen.add(name)
    return pairs


def _name_of(check: Any) -> str:
    name = getattr(check, "__name__", None) or type(check).__name__
    owner = getattr(check, "__self__", None)
    if owner is not None and not inspect.ismodule(owner):
        # A bound method (db.ping): the object's class tells which dependency it is.
        return f"{type(owner).__name__.lower()}.{name}"
    return str(name)


class _ThreadedCheck:
    """A sync check, run in a worker thread, never more than one run at a time.

    A check that hangs (a ping on a dead connection without a socket timeout) outlives the request
    that stopped waiting for it: a thread cannot be stopped. Starting another one per request would
    add a thread per probe without bound (``/readyz`` needs no credentials), so a request that
    finds a run still going waits, within its own timeout, for that run's outcome instead.

    A run is the thread's whole work, an awaitable the check returns included (awaited on the
    event loop from the thread), so the outcome shared with waiting requests is final. A run the
    requesting probe gave up on before a thread took it (the thread pool busy past the timeout)
    never starts, and is forgotten: the next probe starts a new one.
    """

    def __init__(self, check: Check) -> None:
        self.check = check
        self.lock = threading.Lock()
        self.current: object | None = None  # the run in progress (a token), None when idle
        self.started: object | None = None  # the last run a thread took up
        self.outcome: tuple[bool, Any] = (True, None)

    async def __call__(self) -> Any:
        run = object()
        with self.lock:
            joining = self.current is not None
            if not joining:
                self.current = run
        if joining:
            while self.current is not None:
                await anyio.sleep(_POLL)
            ok, value = self.outcome
        else:
            try:
                ok, value = await anyio.to_thread.run_sync(self._work, run, abandon_on_cancel=True)
            except BaseException:
                with self.lock:
                    if self.started is not run and self.current is run:
                        self.current = None  # no thread took it; none will (see _work)
                raise
        if not ok:
            raise value
        return value

    def _work(self, run: object) -> tuple[bool, Any]:
        with self.lock:
            if self.current is not run:  # given up before it started
                return (False, RuntimeError("the check's run was abandoned before it started"))
            self.started = run
        outcome: tuple[bool, Any] = (False, RuntimeError("the check stopped its thread"))
        try:
            value = self.check()
            if inspect.isawaitable(value):
                value = anyio.from_thread.run(_awaited, value)
            outcome = (True, value)
        except Exception as exc:
            outcome = (False, exc)
        finally:
            self.outcome = outcome  # before the run ends: a waiting request reads it then
            with self.lock:
                self.current = None
        return outcome


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


#: Seconds between looks at a sync check's run that another request started.
_POLL = 0.01


def _runnable(checks: list[tuple[str, Check]]) -> list[tuple[str, Check]]:
    return [(name, check if is_async_callable(check) else _ThreadedCheck(check)) for name, check in checks]


def _cancelled_from_outside() -> bool:
    """Whether this task is being cancelled (a disconnect, a shutdown), as opposed to a check that
    raised ``CancelledError`` itself (a driver's own future cancelled), which is a failed check."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # not asyncio (trio): its Cancelled comes from a real cancellation only
        return True
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+; before, assume a real one
    return task is None or cancelling is None or cancelling() > 0


def _describe(exc: BaseException, debug: bool) -> str:
    error = type(exc).__qualname__
    if not debug:
        return error
    try:
        return f"{error}: {exc}"
    except Exception:  # an exception whose __str__ raises
        return f"{error}: <message could not be read>"


class HealthChecks:
    """The two endpoints: each runs its checks concurrently, each check under ``timeout`` seconds."""

    def __init__(self, live: list[tuple[str, Check]], ready: list[tuple[str, Check]], timeout: float, debug: Callable[[], bool]) -> None:
        self.live = _runnable(live)
        self.ready = _runnable(ready)
        self.timeout = timeout
        self.debug = debug

    async def report(self, checks: list[tuple[str, Check]]) -> JSONResponse:
        """``200 {"status": "ok", "checks": {...}}``, or ``503`` with ``"status": "fail"`` and, per
        failing check, ``"error"``: the exception's class (its message too with ``debug=True``:
        it may hold a connection string), ``"returned False"`` or ``"timed out after N s"``."""
        results: dict[str, dict[str, Any]] = {}

        async def one(name: str, check: Check) -> None:
            start = time.perf_counter()
            outcome: dict[str, Any] = {"status": "ok"}
            try:
                with anyio.fail_after(self.timeout):
                    if await check() is False:
                        outcome = {"status": "fail", "error": "returned False"}
            except TimeoutError:
                outcome = {"status": "fail", "error": f"timed out after {self.timeout:g} s"}
            except Exception as exc:
                outcome = {"status": "fail", "error": _describe(exc, self.debug())}
            except anyio.get_cancelled_exc_class() as exc:
                if _cancelled_from_outside():
                    raise
                outcome = {"status": "fail", "error": _describe(exc, self.debug())}
            outcome["duration_ms"] = round((time.perf_counter() - start) * 1000, 3)
            results[name] = outcome

        async with anyio.create_task_group() as group:
            for name, check in checks:
                group.start_soon(one, name, check)
        failed = any(result["status"] != "ok" for result in results.values())
        body = {"status": "fail" if failed else "ok", "checks": {name: results[name] for name, _ in checks}}
        return JSONResponse(body, 503 if failed else 200, _NO_STORE)


def add_health_checks(
    app: Covet,
    live: Checks = None,
    ready: Checks = None,
    *,
    timeout: float = 2.0,
    live_path: str = "/healthz",
    ready_path: str = "/readyz",
) -> HealthChecks:
    """Register ``GET live_path`` and ``GET ready_path``; see :meth:`covet.Covet.add_health_checks`."""
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 300:
        raise ValueError(f"add_health_checks(timeout=...) is seconds per check, above 0 and at most 300; got {timeout!r}.")
    health = HealthChecks(_named(live, "live"), _named(ready, "ready"), float(timeout), lambda: bool(app.debug))

    async def healthz() -> JSONResponse:
        return await health.report(health.live)

    async def readyz() -> JSONResponse:
        return await health.report(health.ready)

    app.add_route(live_path, healthz, ["GET"], name="healthz", include_in_schema=False)
    app.add_route(ready_path, readyz, ["GET"], name="readyz", include_in_schema=False)
    return health


