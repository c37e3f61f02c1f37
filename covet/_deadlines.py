"""Body-read deadlines on asyncio: one loop timer for all reads in flight, instead of one per read.

Why: a timer per ``receive()`` (``asyncio.timeout``, ``call_later``) costs more than reading a small
body, and finding out first whether a read will wait at all (driving ``receive()`` by hand) costs
an exception. Here a read registers its task and deadline before it awaits ``receive()`` and
unregisters after, two dict operations. A single timer per event loop, armed for the earliest
deadline only while reads are registered, cancels every task whose deadline has passed; the read
sees ``CancelledError``, finds its task in ``expired`` and answers 408 instead. A read looks
like this::

    task = deadlines.enter(deadline)
    try:
        message = await receive()
    except asyncio.CancelledError:
        if deadlines.timed_out(task):
            raise HTTPException(408, ...) from None
        raise
    finally:
        deadlines.leave(task)

Used by the body reads of :mod:`covet.requests` under asyncio; other event loops (trio) use an
anyio cancel scope per wait.
"""

from __future__ import annotations

import asyncio
import math
import sys
import weakref
from asyncio import _get_running_loop
from time import monotonic

__all__ = ["ReadDeadlines", "loop_deadlines"]

if sys.version_info >= (3, 12):
    _task_of = asyncio.current_task  # written in C since 3.12
else:
    # asyncio.current_task(loop) is a Python function up to 3.11 that looks the loop up in this
    # dict (the C task implementation's own); one read of it directly is a third of the cost.
    from asyncio.tasks import _current_tasks  # type: ignore[attr-defined]

    _task_of = _current_tasks.get


class ReadDeadlines:
    """The body reads waiting on one event loop, and the timer that expires them."""

    __slots__ = ("loop", "reads", "expired", "when", "_timer", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        #: task -> deadline (``time.monotonic()`` seconds) of every read awaiting ``receive()``.
        self.reads: dict[asyncio.Task[object], float] = {}
        #: Tasks cancelled for missing their deadline; each read takes its own task back out.
        self.expired: set[asyncio.Task[object]] = set()
        #: When the timer fires (infinity while none is armed): a read only arms it when its own
        #: deadline is earlier, so under steady load it is re-armed about once per timeout.
        self.when = math.inf
        self._timer: asyncio.TimerHandle | None = None

    def enter(self, deadline: float) -> asyncio.Task[object]:
        """Register the current task's read, to be cancelled if still waiting at ``deadline``."""
        task: asyncio.Task[object] | None = _task_of(self.loop)
        if task is None:
            raise RuntimeError("covet reads request bodies inside an asyncio task.")
        self.reads[task] = deadline
        if deadline < self.when:
            self.arm(deadline)
        return task

    def leave(self, task: asyncio.Task[object]) -> None:
        """Unregister ``task``'s read, however it ended."""
        del self.reads[task]
        if self.expired:
            # A receive() that swallowed the cancellation returned anyway: forget the task.
            self.expired.discard(task)

    def timed_out(self, task: asyncio.Task[object]) -> bool:
        """Whether ``task``'s cancellation was this timer's doing and no one else's.

        Called on ``CancelledError``: True means answer 408; False means re-raise (someone else
        cancelled the task, and their cancellation wins).
        """
        if task not in self.expired:
            return False
        self.expired.discard(task)
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: count cancellations
        return uncancel is None or uncancel() == 0

    def arm(self, deadline: float) -> None:
        """Make the timer fire no later than ``deadline``."""
        if self._timer is not None:
            self._timer.cancel()
        self.when = deadline
        # call_later, not call_at: the loop's clock need not be time.monotonic() (uvloop's is not).
        self._timer = self.loop.call_later(max(deadline - monotonic(), 0.0), self._expire)

    def _expire(self) -> None:
        self._timer = None
        self.when = math.inf
        now = monotonic()
        nearest = math.inf
        for task, deadline in list(self.reads.items()):
            if deadline <= now:
                if task not in self.expired:
                    self.expired.add(task)
                    task.cancel()
            elif deadline < nearest:
                nearest = deadline
        if nearest < math.inf:
            self.arm(nearest)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadDeadlines] = weakref.WeakKeyDictionary()
# The loop asked about last and its deadlines: a server runs one loop per process, so the weak
# dictionary is consulted only when the loop changes (tests). Holds at most one loop alive.
_last_loop: asyncio.AbstractEventLoop | None = None
_last_deadlines: ReadDeadlines | None = None


def loop_deadlines() -> ReadDeadlines | None:
    """The :class:`ReadDeadlines` of the running asyncio loop, made on first use; None when no
    asyncio loop runs (trio: reads then wait in a cancel scope)."""
    global _last_loop, _last_deadlines
    loop = _get_running_loop()
    if loop is _last_loop:
        return _last_deadlines  # None for "no loop" too: both start as None
    if loop is None:
        return None
    deadlines = _by_loop.get(loop)
    if deadlines is None:
        deadlines = _by_loop[loop] = ReadDeadlines(loop)
    _last_loop, _last_deadlines = loop, deadlines
    return deadlines
