"""Starting and stopping server processes in tests, leaving none behind.

A server started here runs in a process group of its own (``start_new_session=True``). Stopping
it signals the server process itself, which stops its workers as it does for Ctrl+C (signalling
the whole group would interrupt a worker the server is still starting, with a traceback). When
the server has not exited in time, the whole group is killed: a worker orphaned by a dead parent
would otherwise hold the output pipes open and ``communicate()`` would wait for ever (CI once hung
on that in ``test_run_target_forms_in_worker_processes`` under load).
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

__all__ = ["start_server", "stop_server"]


def start_server(command: list[str], **options: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(command, **options)`` in a new process group (stop it with :func:`stop_server`)."""
    return subprocess.Popen(command, start_new_session=True, **options)


def stop_server(
    process: subprocess.Popen[Any], sig: int = signal.SIGINT, timeout: float = 15.0
) -> tuple[Any, Any]:
    """Send ``sig`` to the server and return ``process.communicate()``'s output.

    After ``timeout`` seconds its whole process group is killed; if the pipes are still held open
    ``timeout`` seconds after that, ``subprocess.TimeoutExpired`` fails the test instead of hanging it.
    """
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        return process.communicate(timeout=timeout)


def _signal_group(process: subprocess.Popen[Any], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group keeps the leader's id after the leader has exited
    except ProcessLookupError:
        # No such group: all of it has exited, or the process was not started by start_server.
        if process.poll() is None:
            process.send_signal(sig)
