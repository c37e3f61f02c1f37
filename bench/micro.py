"""Micro-benchmark of the compiled twins: nanoseconds per call, pure Python against Cython.

Usage: ``python bench/micro.py [--repeat N] [--min-time SECONDS]`` from the repository root.

Both twins are imported side by side in one process (``covet._router_py`` and
``covet._speedups._router``, ``covet._parsers_py`` and ``covet._speedups._parsers``) and fed the
same inputs. Rounds are interleaved, py then c for every case, so a noisy neighbour slows both
alike. Each cell is the best round, as ``python -m timeit`` reports: on a shared machine other
processes only ever add time, so the minimum is the steadiest estimate of the call itself. The
speedup (py / c) is the number to quote.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import covet
import covet._parsers_py as py_parsers
import covet._router_py as py_router
from covet.routing import Route

DEFAULT_REPEAT = 40
DEFAULT_MIN_TIME = 0.02  # seconds per timed batch: short, so some batches run undisturbed

TARGET_PATH = "/users/42/posts/hello-world"
SHORT_QUERY = "a=1&b=x&c=true"
LONG_QUERY = (
    "q=caf%C3%A9+au+lait&tags=a%2Cb%2Cc&page=2&per_page=50&sort=-created_at"
    "&filter%5Bstatus%5D=open&next=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1"
)
COOKIE = "sessionid=8f14e45fceea167a5a36dedd4bea2543; csrftoken=Zx9Yw8Vu7; theme=dark; lang=en-GB; seen=1"
CONTENT_TYPE = "application/json; charset=utf-8"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"example.com"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (b"accept", BROWSER_ACCEPT.encode()),
    (b"accept-language", b"en-GB,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"referer", b"https://example.com/"),
    (b"connection", b"keep-alive"),
    (b"cookie", COOKIE.encode()),
    (b"content-type", CONTENT_TYPE.encode()),
    (b"content-length", b"52"),
]


def _decoy(x: str, y: str) -> None: ...


def _target(user_id: int, slug: str) -> None: ...


def build_matcher(module: ModuleType) -> Any:
    """The bench apps' table: 100 dynamic decoys, then the target route, as covet.routing builds it."""
    matcher = module.Matcher()
    routes = [
        Route(f"/decoy{i}/<x>/items/<y>", _decoy, methods=["GET"], name=f"decoy{i}") for i in range(100)
    ]
    routes.append(Route("/users/<int:user_id>/posts/<slug>", _target, methods=["GET"], name="target"))
    for route in routes:
        matcher.add(route.segment_specs(), route.name)
    return matcher


Call = tuple[Callable[..., Any], tuple[Any, ...]]


@dataclass
class Case:
    label: str
    make: Callable[[ModuleType, ModuleType], Call]  # (router twin, parsers twin) -> (function, args)


def _lookup(router: ModuleType, parsers: ModuleType) -> Call:
    return build_matcher(router).lookup, (TARGET_PATH,)


def _parser(name: str, *args: Any) -> Callable[[ModuleType, ModuleType], Call]:
    def make(router: ModuleType, parsers: ModuleType) -> Call:
        return getattr(parsers, name), args

    return make


def _timer(call: Call) -> timeit.Timer:
    # A statement calling the function directly (no lambda in between), so only the call is timed.
    func, args = call
    names = {f"a{index}": arg for index, arg in enumerate(args)}
    return timeit.Timer(f"func({', '.join(names)})", globals={"func": func, **names})


def _run(call: Call) -> Any:
    func, args = call
    return func(*args)


CASES = [
    Case(f"`Matcher.lookup` among 101 routes (`{TARGET_PATH}`)", _lookup),
    Case(f"`parse_query_string` (`{SHORT_QUERY}`)", _parser("parse_query_string", SHORT_QUERY)),
    Case(
        f"`parse_query_string`, 7 fields with escapes ({len(LONG_QUERY)} chars)",
        _parser("parse_query_string", LONG_QUERY),
    ),
    Case("`parse_cookie_header`, 5 cookies", _parser("parse_cookie_header", COOKIE)),
    Case(f"`parse_content_type` (`{CONTENT_TYPE}`)", _parser("parse_content_type", CONTENT_TYPE)),
    Case("`find_header`, `content-type` 9th of 10 headers", _parser("find_header", HEADERS, b"content-type")),
    Case("`parse_accept`, Firefox's `Accept`", _parser("parse_accept", BROWSER_ACCEPT)),
    Case("`plain_int` (`12345`)", _parser("plain_int", "12345")),
    Case("`plain_bool` (`true`)", _parser("plain_bool", "true")),
]


def _number_for(call: Call, min_time: float) -> int:
    """Calls per batch so that one batch of the faster twin still takes about ``min_time``."""
    number, elapsed = _timer(call).autorange()
    return max(1, int(number * min_time / elapsed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="timed rounds; cells are the best")
    parser.add_argument("--min-time", type=float, default=DEFAULT_MIN_TIME, help="seconds per timed batch")
    args = parser.parse_args(argv)

    try:
        c_router = importlib.import_module("covet._speedups._router")
        c_parsers = importlib.import_module("covet._speedups._parsers")
    except ImportError as exc:
        print(
            f"The compiled twins are not built ({exc}); build them with "
            "`python setup.py build_ext --inplace` and run again.",
            file=sys.stderr,
        )
        return 1

    pairs: list[tuple[Case, Call, Call]] = []
    for case in CASES:
        py_call, c_call = case.make(py_router, py_parsers), case.make(c_router, c_parsers)
        py_result, c_result = _run(py_call), _run(c_call)
        if py_result != c_result:  # untimed: both twins must give the same answer
            print(f"The twins disagree on {case.label}: {py_result!r} != {c_result!r}", file=sys.stderr)
            return 1
        pairs.append((case, py_call, c_call))

    # One batch size per case, for both twins, calibrated on the faster (compiled) one.
    numbers = [_number_for(c_call, args.min_time) for _, _, c_call in pairs]
    samples: list[tuple[list[float], list[float]]] = [([], []) for _ in pairs]
    for _ in range(args.repeat):
        for (_, py_call, c_call), number, (py_ns, c_ns) in zip(pairs, numbers, samples):
            for call, out in ((py_call, py_ns), (c_call, c_ns)):
                gc.collect()
                out.append(_timer(call).timeit(number) / number * 1e9)

    print(
        f"covet {covet.__version__}, Python {platform.python_version()} ({platform.machine()}), "
        f"best of {args.repeat} rounds of interleaved py/c batches"
    )
    print()
    print("| call | ns/call py | ns/call c | speedup |")
    print("| --- | ---: | ---: | ---: |")
    for (case, _, _), (py_ns, c_ns) in zip(pairs, samples):
        py_best, c_best = min(py_ns), min(c_ns)
        print(f"| {case.label} | {py_best:,.0f} | {c_best:,.0f} | {py_best / c_best:.2f}x |")
    # How much the rounds disagree. The best-of cells absorb a busy machine's noise, but with a
    # large spread compare two runs before quoting a ratio.
    spread, label = max(
        ((max(ns) - min(ns)) / statistics.median(ns), f"{case.label}, {twin}")
        for (case, _, _), (py_ns, c_ns) in zip(pairs, samples)
        for twin, ns in (("py", py_ns), ("c", c_ns))
    )
    print()
    print(f"Largest spread (max - min) / median across rounds: {spread:.0%} ({label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
