"""What ``covet run`` adds to the app it serves: covet's access log instead of the server's, and
``--workers N`` metrics shared between the workers (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .access_log import ACCESS_LOGGER, AccessLogMiddleware

__all__ = ["is_loopback", "metrics_directory", "with_access_log"]

#: The variable prometheus_client reads (at import) to share metrics between processes.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def with_access_log(app: Any, format: str) -> Any:
    """``app`` wrapped in :class:`AccessLogMiddleware` printing to stdout, unless it logs already.

    Wrapped from outside, so requests refused before routing (bad framing) are logged too; the
    user's app object is not changed. An app that adds the middleware itself keeps it (and its
    format), and its lines are printed all the same. When logging is already configured (the
    root logger has handlers), the lines go there; else to a handler of their own on stdout.
    """
    logger = logging.getLogger(ACCESS_LOGGER)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    middleware = getattr(app, "user_middleware", ())
    if any(cls is AccessLogMiddleware for cls, _ in middleware):
        return app
    return AccessLogMiddleware(app, format=format)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for prometheus_client's multiprocess mode, removed
    afterwards; kept as given when the variable is set already (the user's own directory)."""
    if workers < 2 or os.environ.get(MULTIPROC_VARIABLE):
        yield
        return
    directory = tempfile.mkdtemp(prefix="covet-metrics-")
    os.environ[MULTIPROC_VARIABLE] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)
