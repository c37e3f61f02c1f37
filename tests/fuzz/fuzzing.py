"""What the fuzz harnesses share: the budget, the twins, and the three properties they check.

Every harness asserts, for each generated input:

1. **no exception but covet's own client errors**: a parser returns, or raises ``ParseError``
   (``FormError``...) or an ``HTTPException`` with a 4xx status; anything else is a bug;
2. **bounded time per byte**: the input repeated many times over is parsed within a fixed cost
   per byte, so a parser that is quadratic (or worse) on some shape fails on that shape;
3. **identical twins**: where a parser has a compiled twin, both give the same outcome.

The budget is small for CI (``COVET_FUZZ_EXAMPLES``, default 40 examples per harness, derandomized
so reruns see the same inputs); raise it for a longer local hunt, e.g.
``COVET_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz``.
"""

from __future__ import annotations

import gc
import importlib
import os
import reprlib
import time
from collections.abc import Callable, Sized
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, settings

import covet._parsers_py as py_parsers
from covet.exceptions import HTTPException, ParseError

EXAMPLES = int(os.environ.get("COVET_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 1000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Time allowed per byte (or item) of input, plus a fixed allowance for the call itself. Generous:
#: the machine is shared; quadratic work on the amplified inputs takes seconds, not milliseconds.
SECONDS_PER_BYTE = 20e-6
SECONDS_FIXED = 0.05
AMPLIFY = 400  # an input repeated this many times is what the time bound is checked on

_short = reprlib.Repr()
_short.maxstring = 160
_short.maxother = 160


def twins() -> list[ModuleType]:
    """The pure-Python parsers and, when built, the compiled twin."""
    modules = [py_parsers]
    try:
        modules.append(importlib.import_module("covet._speedups._parsers"))
    except ImportError:
        if os.environ.get("COVET_REQUIRE_EXTENSIONS"):
            raise
    return modules


TWINS = twins()


def outcome(func: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """``("returned", value)`` or ``("refused", type, message)``; any other exception fails."""
    try:
        return ("returned", func(*args))
    except HTTPException as exc:
        assert 400 <= exc.status_code < 500, f"{func.__name__}{_short.repr(args)} raised {exc!r}"
        return ("refused", HTTPException, exc.status_code, str(exc.detail))
    except ParseError as exc:
        status = getattr(exc, "status_code", 400)
        assert 400 <= status < 500, f"{func.__name__}{_short.repr(args)} raised {exc!r}"
        return ("refused", type(exc), str(exc))


def timed(func: Callable[..., Any], *args: Any) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        outcome(func, *args)
        return time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()


def assert_time_per_byte(func: Callable[..., Any], value: Any, *rest: Any, size: int | None = None) -> None:
    """``func(value, *rest)`` finishes within the per-byte budget (``size``: the input's size)."""
    length = len(value) if size is None and isinstance(value, Sized) else (size or 0)
    allowed = SECONDS_FIXED + SECONDS_PER_BYTE * length
    elapsed = min(timed(func, value, *rest) for _ in range(2))
    assert elapsed < allowed, (
        f"{getattr(func, '__name__', func)} took {elapsed * 1e3:.1f} ms on {length} bytes "
        f"(allowed {allowed * 1e3:.1f} ms): {_short.repr(value)}"
    )


def check_twins(name: str, *args: Any) -> tuple[Any, ...]:
    """Properties 1 and 3 for the twin parser ``name``: the outcome, identical in every twin."""
    results = [outcome(getattr(module, name), *args) for module in TWINS]
    for module, result in zip(TWINS[1:], results[1:]):
        assert result == results[0], f"{name}{_short.repr(args)}: py {results[0]!r}, {module.__name__} {result!r}"
    return results[0]


def amplified(value: Any) -> Any:
    """``value`` repeated :data:`AMPLIFY` times (strings, bytes and lists alike)."""
    return value * AMPLIFY
