"""Starting and stopping server processes in tests, leaving none behind.

A server started here runs in a process group of its own (``start_new_session=True``), and
stopping it signals the whole group, as Ctrl+C in a terminal does: worker processes
(``--workers 2``, granian's, a reloader's child) get the signal too. When the server has not
stopped in time the whole group is killed. Signalling only the parent could leave a worker
orphaned and still holding the output pipes, and ``communicate()`` would then wait for ever: CI
once hung on that in ``test_run_target_forms_in_worker_processes`` under load.
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
    """Send ``sig`` to the server's process group and return ``process.communicate()``'s output.

    After ``timeout`` seconds the group is killed; if its pipes are still held open ``timeout``
    seconds after that, ``subprocess.TimeoutExpired`` fails the test instead of hanging it.
    """
    _signal_group(process, sig)
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
