"""Request ids: one id per request, taken from ``X-Request-ID`` when valid, echoed, and logged.

The id lives in a context variable for the whole request, background tasks included (they run in
the request's task, after the response), so :class:`RequestIdFilter` can stamp it on every log
record made meanwhile, by covet or by the app.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from .._parsing import find_header
from ..globals import _request_var
from ..types import ASGIApp, Scope
from ._layer import Exchange, Stage

__all__ = ["RequestIdFilter", "RequestIdMiddleware", "get_request_id", "is_valid_request_id"]

#: Incoming ids are accepted only in this shape: 1-128 characters a log line or header cannot be
#: abused with (no spaces, quotes, newlines or non-ASCII).
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _slot(var: contextvars.ContextVar[Any]) -> int:
    """Where ``var`` sits in the first level of a context's hash tree (CPython's hamt: 5 bits of
    the hash folded to 32 bits)."""
    folded = hash(var) & 0xFFFFFFFF ^ (hash(var) >> 32) & 0xFFFFFFFF
    return folded & 0x1F


def _apart_from(other: contextvars.ContextVar[Any], name: str) -> contextvars.ContextVar[str | None]:
    """A new ContextVar that does not share ``other``'s first-level slot.

    A ContextVar's hash comes from its address. Two variables set in the same context whose hashes
    agree in the first 5 bits make every ``set`` and ``reset`` build a nested node: measured, 1.9k
    instructions more per observed request (about 8% of the observers' cost), in one process in 32,
    depending on where the variables happened to be allocated. The request's own variable
    (covet.globals) and this one are set on every observed request, so they are kept apart.
    """
    rejected = []  # kept alive while choosing, so that the next one gets another address
    var: contextvars.ContextVar[str | None] = contextvars.ContextVar(name, default=None)
    while _slot(var) == _slot(other):
        rejected.append(var)
        var = contextvars.ContextVar(name, default=None)
    return var


_request_id = _apart_from(_request_var, "covet.request_id")
# Bound once (as covet.globals does for the request): CPython 3.11 makes a bound-method object
# for every ``_request_id.set(...)`` call otherwise.
_set_id = _request_id.set
_reset_id = _request_id.reset
_get_id = _request_id.get


def get_request_id() -> str | None:
    """The id of the request being handled in this context (None outside a request, or without
    :class:`RequestIdMiddleware`)."""
    return _get_id()


def is_valid_request_id(value: str) -> bool:
    """Whether ``value`` is 1-128 characters of ``[A-Za-z0-9._:-]``, the ids accepted from clients."""
    return _VALID.fullmatch(value) is not None


def _seed() -> Callable[[], int]:
    # A counter from a random 127-bit start, above a marker bit (so hex() always has 32 digits
    # after "0x1"): unique across processes and machines without coordination.
    return itertools.count((1 << 128) | int.from_bytes(os.urandom(16), "big") >> 1).__next__


_next = _seed()


def _reseed() -> None:
    global _next
    _next = _seed()


# A forked worker must not repeat its parent's ids: it starts from a random point of its own.
os.register_at_fork(after_in_child=_reseed)


def _new_id() -> str:
    """32 hex digits: the next value of this process's counter, which started at a random point.

    A fifth of the cost of ``os.urandom(16).hex()`` and a tenth of a uuid4's (measured on CPython
    3.11), which matters on a path where covet spends ~3 µs per request. Ids can be guessed from
    one another; they identify requests, they do not authorise anything.
    """
    return hex(_next())[3:]


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` on every record: the current request's id, or ``"-"`` outside one.

    covet attaches it to its own loggers (``covet`` and ``covet.*``) when a
    :class:`RequestIdMiddleware` is built; attach it to your handlers to get the id on your
    records too (a handler filter sees the records of every logger that reaches it)::

        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(logging.Formatter("%(request_id)s %(levelname)s %(message)s"))

    Never rejects a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _get_id() or "-"
        return True


_FILTER = RequestIdFilter()


def attach_filter() -> None:
    """Put the shared :class:`RequestIdFilter` on covet's loggers (idempotent).

    A logger's filter only sees records logged on that very logger, so each covet logger gets it.
    """
    names = ["covet", "covet.access", "covet.app", "covet.error"]
    names += [name for name in list(logging.root.manager.loggerDict) if name.startswith("covet.")]
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class RequestIdMiddleware(Stage):
    """Give every HTTP request an id: the client's ``X-Request-ID`` when valid, else a new one.

    Valid means 1-128 characters of ``[A-Za-z0-9._:-]``; anything else (too long, spaces, quotes,
    newlines) is replaced, never refused, so a bad header costs the client nothing but its id.
    The id is echoed in the response's ``X-Request-ID``, available as ``request.id`` and
    :func:`get_request_id`, and stamped on log records by :class:`RequestIdFilter`. Example::

        app.add_middleware(RequestIdMiddleware)

    ``header_name`` changes the header read and written (``"x-correlation-id"``);
    ``trust_incoming=False`` always makes a new id (when clients must not choose it).
    """

    def __init__(self, app: ASGIApp, *, header_name: str = "x-request-id", trust_incoming: bool = True) -> None:
        if not isinstance(header_name, str) or not re.fullmatch(r"[A-Za-z0-9-]+", header_name):
            raise ValueError(f"header_name must be a header field name like 'x-request-id', got {header_name!r}.")
        super().__init__(app)
        self.header = header_name.lower().encode("latin-1")
        self.trust_incoming = trust_incoming
        attach_filter()

    def begin(self, scope: Scope, exchange: Exchange) -> contextvars.Token[str | None]:
        request_id = None
        if self.trust_incoming:
            raw = find_header(scope["headers"], self.header)
            if raw is not None:
                text = raw.decode("latin-1")
                if _VALID.fullmatch(text) is not None:
                    request_id = text
        if request_id is None:
            request_id = _new_id()
        scope["request_id"] = request_id
        # Plain encode(): the id is ASCII, and the default codec skips the codec-name lookup.
        exchange.headers.append((self.header, request_id.encode()))
        return _set_id(request_id)

    def end(self, scope: Scope, exchange: Exchange, token: contextvars.Token[str | None]) -> None:
        _reset_id(token)

    def connect(self, scope: Scope) -> contextvars.Token[str | None]:
        # A WebSocket connection gets an id for its whole life (websocket.id, logs), chosen as a
        # request's is; not echoed: the handshake's answer is the app's own websocket.accept.
        unsent = Exchange()
        unsent.headers = []
        return self.begin(scope, unsent)

    def disconnect(self, scope: Scope, token: contextvars.Token[str | None]) -> None:
        _reset_id(token)
