"""Work to run after the response has been sent (emails, cache warming, audit logs), and app tasks.

Background work never fails silently: a task's exception is logged (logger ``covet.background``)
with the request's method and path, and handed to the app's ``@app.on_background_error``
functions. It never stops the tasks queued after it and never changes the response, which has
already been sent. ``app.spawn()`` runs work for the app's lifetime, reported the same way.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.to_thread

if TYPE_CHECKING:
    from .app import Covet
    from .requests import HTTPConnection

__all__ = ["BackgroundTask", "BackgroundTasks", "AppTasks", "report_background_error"]

logger = logging.getLogger("covet.background")


class BackgroundTask:
    """One call to make after the response (``Response(background=BackgroundTask(fn, x))``).

    Sync functions run in a worker thread. An exception is reported (logged with the request's
    method and path, passed to ``@app.on_background_error``), never raised.
    """

    def __init__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        unwrapped = func.func if isinstance(func, functools.partial) else func
        self.is_async = inspect.iscoroutinefunction(unwrapped) or inspect.iscoroutinefunction(
            getattr(unwrapped, "__call__", None)
        )

    async def run(self) -> None:
        """Make the call; raises what the function raises."""
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            await anyio.to_thread.run_sync(functools.partial(self.func, *self.args, **self.kwargs))

    async def __call__(self) -> None:
        try:
            await self.run()
        except Exception as exc:
            await report_background_error(exc, self.func)


class BackgroundTasks(BackgroundTask):
    """Tasks a handler queues; declare a ``BackgroundTasks`` parameter to get one.

    Example::

        @app.post("/signup")
        async def signup(user: User, tasks: BackgroundTasks):
            tasks.add_task(send_welcome_email, user.email)
            return {"ok": True}

    Tasks run in order after the response is sent. A task that raises is logged with the request's
    method and path and passed to ``@app.on_background_error``; the tasks after it still run
    (unlike FastAPI and Starlette, where the first failure stops the rest).
    """

    def __init__(self) -> None:
        self.tasks: list[BackgroundTask] = []
        #: The request (or WebSocket) the tasks belong to, for error reports; the current request
        #: when None.
        self.connection: HTTPConnection | None = None

    def add_task(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``func(*args, **kwargs)`` (sync or async) to run after the response."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            try:
                await task.run()
            except Exception as exc:
                await report_background_error(exc, task.func, self.connection)

    def __len__(self) -> int:
        return len(self.tasks)


def _describe(func: Any) -> str:
    while isinstance(func, functools.partial):
        func = func.func
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


async def report_background_error(
    exc: Exception, func: Any, connection: HTTPConnection | None = None, app: Covet | None = None
) -> None:
    """Log ``exc`` from background work and pass it to the app's ``on_background_error`` functions.

    ``connection`` is the request (or WebSocket) the work belongs to; when neither it nor ``app``
    is given, the current request's (``app.spawn`` work passes ``app`` alone: it has no request). Each error function is called as
    ``func(exc)`` or ``func(exc, request)``; one that raises is logged, never propagated.
    """
    from .globals import _current_app, current_request

    if connection is None and app is None:
        try:
            connection = current_request()
        except RuntimeError:  # the request has ended
            connection = None
    if app is None:
        app = connection.scope.get("app") if connection is not None else _current_app()
    if connection is not None:
        scope = connection.scope
        method = scope.get("method", "WEBSOCKET")
        logger.error(
            "Background task %s failed after %s %s", _describe(func), method, scope.get("path", "?"), exc_info=exc
        )
    else:
        logger.error("Background task %s failed", _describe(func), exc_info=exc)
    if app is None:
        return
    from .pipeline import call_flexible

    for handler in getattr(app, "background_error_handlers", ()):
        try:
            await call_flexible(handler, exc, connection)
        except Exception as failure:
            logger.error("on_background_error function %s failed", _describe(handler), exc_info=failure)


class AppTasks:
    """Work started with ``app.spawn()``: runs in one task group for the app's lifetime.

    Opened when the app's lifespan starts, before the startup functions (which may spawn). At
    shutdown (:meth:`stop`, before the shutdown functions and dependency teardown, so running work
    still has its resources) the tasks still running get ``grace_period`` seconds to finish, then
    are cancelled. A task's exception is reported (logged, and passed to ``on_background_error``)
    and ends only that task.
    """

    def __init__(self, app: Covet, grace_period: float = 5.0) -> None:
        if isinstance(grace_period, bool) or not isinstance(grace_period, (int, float)) or grace_period < 0:
            raise ValueError(f"background_grace_period= takes seconds >= 0, got {grace_period!r}.")
        self.app = app
        self.grace_period = grace_period
        self._group: anyio.abc.TaskGroup | None = None
        # Each task's own cancel scope: stop() cancels the tasks without touching the group's
        # scope, which also holds the lifespan's own code.
        self._scopes: set[anyio.CancelScope] = set()
        self._idle: anyio.Event | None = None

    def spawn(self, func: Callable[..., Any], /, *args: Any) -> None:
        """Start ``await func(*args)`` (or ``func(*args)`` in a worker thread) in the app's task group.

        Raises RuntimeError outside the app's lifespan (before startup or after shutdown): there is
        no task group to own the work, and work nobody owns is work nobody stops.
        """
        if self._group is None:
            raise RuntimeError(
                "app.spawn() needs the app running: call it from a handler, a startup function or a "
                "lifespan (with TestClient, inside 'with TestClient(app) as client:')."
            )
        if not callable(func) or inspect.iscoroutine(func):
            raise TypeError(f"app.spawn() takes a function and its arguments (app.spawn(fn, x)), got {func!r}.")
        group, task = self._group, BackgroundTask(func, *args)
        if _on_event_loop():
            group.start_soon(self._run, task, name=_describe(func))
            return
        # A plain ``def`` handler, hook or startup function runs in a worker thread: the task is
        # started on the event loop that thread belongs to.
        try:
            anyio.from_thread.run_sync(functools.partial(group.start_soon, self._run, task, name=_describe(func)))
        except RuntimeError:
            raise RuntimeError(
                "app.spawn() could not reach the app's event loop: call it while the app runs, from a "
                "handler, a hook, a startup function or a lifespan (sync ones run in covet's worker "
                "threads and may call it), not from a thread covet did not start."
            ) from None

    async def _run(self, task: BackgroundTask) -> None:
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                await task.run()
            except Exception as exc:
                await report_background_error(exc, task.func, None, self.app)
            finally:
                self._scopes.discard(scope)
                if not self._scopes and self._idle is not None:
                    self._idle.set()

    async def open(self) -> None:
        """Open the task group (in the lifespan task; :meth:`close` exits it there)."""
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group

    async def stop(self) -> None:
        """Let running tasks finish for up to ``grace_period`` seconds, then cancel them."""
        if self._scopes:
            self._idle = anyio.Event()
            with anyio.move_on_after(self.grace_period):
                await self._idle.wait()
            if self._scopes:
                logger.warning(
                    "Cancelling %d app task(s) still running after the %gs grace period",
                    len(self._scopes),
                    self.grace_period,
                )
            for scope in list(self._scopes):
                scope.cancel()

    async def close(self) -> None:
        """Stop the tasks (at once: the grace period was given by :meth:`stop`) and exit the group."""
        group, self._group = self._group, None
        if group is None:
            return
        for scope in list(self._scopes):
            scope.cancel()
        await group.__aexit__(None, None, None)


def _on_event_loop() -> bool:
    """Whether the caller runs on an event loop (else: in a worker thread, or outside anything)."""
    try:
        anyio.get_current_task()
    except RuntimeError:  # anyio's NoEventLoopError (older anyio: sniffio's AsyncLibraryNotFoundError)
        return False
    return True
