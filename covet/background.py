"""Work to run after the response has been sent (emails, cache warming, audit logs)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import anyio.to_thread

__all__ = ["BackgroundTask", "BackgroundTasks"]


class BackgroundTask:
    """One call to make after the response; sync functions run in a worker thread."""

    def __init__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        unwrapped = func.func if isinstance(func, functools.partial) else func
        self.is_async = inspect.iscoroutinefunction(unwrapped) or inspect.iscoroutinefunction(
            getattr(unwrapped, "__call__", None)
        )

    async def __call__(self) -> None:
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            await anyio.to_thread.run_sync(functools.partial(self.func, *self.args, **self.kwargs))


class BackgroundTasks(BackgroundTask):
    """Tasks a handler queues; declare a ``BackgroundTasks`` parameter to get one.

    Example::

        @app.post("/signup")
        async def signup(user: User, tasks: BackgroundTasks):
            tasks.add_task(send_welcome_email, user.email)
            return {"ok": True}

    Tasks run in order after the response is sent; an exception stops the ones after it.
    """

    def __init__(self) -> None:
        self.tasks: list[BackgroundTask] = []

    def add_task(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()

    def __len__(self) -> int:
        return len(self.tasks)
