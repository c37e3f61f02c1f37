"""In-process benchmark: call each framework's ASGI app directly, no server, no sockets.

Usage: ``python bench/inprocess.py [--repeat N] [--number N] [--scenario NAME ...]
[--framework NAME ...]`` (see bench/README.md).

This isolates what a framework adds per request (routing, request and response objects,
parameter conversion, encoding) from what a server adds. Every app runs on one asyncio
event loop with the same prebuilt scope, the same trivial ``receive`` and ``send``, and the
same loop around it, so the harness costs the same for all of them; the raw ASGI app is
the floor and every number is also shown as a ratio to it, taken in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from apps import FRAMEWORKS
from scenarios import CHECKS, SCENARIOS, Answer, Scenario, problems

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FLOOR = "raw"
COVET_PURE = "covet-pure"
DEFAULT_REPEAT = 7
DEFAULT_MIN_TIME = 0.1  # seconds per timed batch when --number is not given
LIFESPAN_TIMEOUT = 10.0
# The dependency-injection issue's target: covet's deps3 costs at most this times its deps0.
DEPS_TARGET = 1.5

_HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"covet-bench"),
    (b"accept", b"*/*"),
]


def scope_for(scenario: Scenario) -> Scope:
    """Build the scope a server would send for ``scenario``; timed runs copy it per request."""
    headers = _HEADERS
    if scenario.body is not None:
        headers = [
            *_HEADERS,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(scenario.body)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": scenario.method,
        "scheme": "http",
        "path": scenario.path,
        "raw_path": scenario.path.encode(),
        "root_path": "",
        "query_string": scenario.query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def receiver(scenario: Scenario) -> Receive:
    """Return a ``receive`` that hands over the scenario's whole body in one ``http.request``.

    It answers every call with the same message, so it costs the same on every request and
    needs no per-request state; the apps read the body once and do not call it again.
    """
    request: Message = {"type": "http.request", "body": scenario.body or b"", "more_body": False}

    async def receive() -> Message:
        return request

    return receive


_NULL = Scenario("null", "/", "", "")


async def _discard(message: Message) -> None:
    return None


async def _null_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Does nothing: timing it measures the harness itself."""


@dataclass
class Contender:
    """A framework's app and what happened to it: why it cannot run, and its timings."""

    name: str
    app: ASGIApp | None = None
    version: str = ""
    error: str | None = None
    wrong: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    number: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)  # µs per request

    def median(self, scenario: str) -> float | None:
        runs = self.samples.get(scenario)
        return statistics.median(runs) if runs else None


# -- loading ---------------------------------------------------------------------------


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _covet_version() -> str:
    covet = sys.modules["covet"]
    speedups = "compiled" if covet_is_compiled() else "pure"
    return f"{getattr(covet, '__version__', '?')}, speedups {speedups}"


def load(name: str) -> Contender:
    """Import one framework's app; an import failure is recorded, not raised."""
    contender = Contender(name)
    try:
        if name == COVET_PURE:
            contender.app, contender.version = _load_pure_covet()
        else:
            contender.app = importlib.import_module(FRAMEWORKS[name]).app
            if name == "covet":
                contender.version = _covet_version()
            elif name != FLOOR:
                contender.version = _dist_version(name)
    except Exception as exc:  # any failure to build the app is a result to report
        contender.error = f"cannot import: {type(exc).__name__}: {exc}"
    return contender


@contextmanager
def _covet_modules_set_aside() -> Iterator[None]:
    # The speedups flag is read once, at import, so a second, pure copy of covet needs its
    # own fresh import; the compiled copy is put back afterwards for everything else.
    def ours(key: str) -> bool:
        return key == "covet" or key.startswith("covet.") or key == FRAMEWORKS["covet"]

    saved = {key: module for key, module in sys.modules.items() if ours(key)}
    for key in saved:
        del sys.modules[key]
    previous = os.environ.get("COVET_NO_EXTENSIONS")
    os.environ["COVET_NO_EXTENSIONS"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["COVET_NO_EXTENSIONS"]
        else:
            os.environ["COVET_NO_EXTENSIONS"] = previous
        for key in [key for key in sys.modules if ours(key)]:
            del sys.modules[key]
        sys.modules.update(saved)


def _load_pure_covet() -> tuple[ASGIApp, str]:
    with _covet_modules_set_aside():
        module = importlib.import_module(FRAMEWORKS["covet"])
        if covet_is_compiled():
            raise RuntimeError("COVET_NO_EXTENSIONS=1 did not turn the speedups off")
        return module.app, _covet_version()


def covet_is_compiled() -> bool:
    """Say whether the covet already imported uses its compiled speedups."""
    enabled = getattr(sys.modules.get("covet"), "speedups_enabled", None)
    return bool(enabled is not None and enabled())


# -- lifespan --------------------------------------------------------------------------


class Lifespan:
    """Run an app's ASGI lifespan as a server would, so startup work is done before timing.

    An app that raises on the lifespan scope does not support it; servers carry on without
    it, and so does this. ``lifespan.startup.failed`` is an error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": {},
        }
        try:
            await self._app(scope, self._inbox.get, self._outbox.put)
        except Exception:
            pass  # lifespan not supported: ignore, as servers do
        finally:
            await self._outbox.put(None)

    async def _step(self, message: str) -> str | None:
        await self._inbox.put({"type": message})
        try:
            reply = await asyncio.wait_for(self._outbox.get(), LIFESPAN_TIMEOUT)
        except TimeoutError:
            return f"no reply to {message} within {LIFESPAN_TIMEOUT:g} s"
        if reply is not None and reply["type"].endswith(".failed"):
            return f"{reply['type']}: {reply.get('message', '')}"
        return None

    async def startup(self) -> str | None:
        """Start the app; return an error message if startup failed."""
        self._task = asyncio.create_task(self._run())
        return await self._step("lifespan.startup")

    async def shutdown(self) -> str | None:
        """Stop the app if it is still running its lifespan; return an error message if any."""
        if self._task is None or self._task.done():
            return None
        failure = await self._step("lifespan.shutdown")
        self._task.cancel()  # a well-behaved app has returned already; don't wait on others
        return failure


# -- verification ----------------------------------------------------------------------


async def ask(app: ASGIApp, scenario: Scenario) -> Answer:
    """Send the scenario's request to ``app`` and gather the answer, checking message order."""
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    done = False

    async def collect(message: Message) -> None:
        nonlocal status, headers, done
        kind = message["type"]
        if kind == "http.response.start" and status is None:
            status, headers = message["status"], list(message.get("headers", []))
        elif kind == "http.response.body" and status is not None and not done:
            chunks.append(bytes(message.get("body", b"")))
            done = not message.get("more_body", False)
        else:
            raise RuntimeError(f"unexpected ASGI message {message!r} after status={status!r}")

    await app(scope_for(scenario), receiver(scenario), collect)
    if status is not None and not done:
        raise RuntimeError("the response body never finished (more_body stayed true)")
    return Answer(status, headers, b"".join(chunks))


async def verify(contender: Contender, scenarios: Sequence[Scenario]) -> None:
    """Record wrong answers per scenario (those are not timed) and failed decoy checks."""
    assert contender.app is not None
    for scenario in (*scenarios, *CHECKS):
        try:
            found = list(problems(scenario, await ask(contender.app, scenario)))
        except Exception as exc:
            found = [f"raised {type(exc).__name__}: {exc}"]
        if not found:
            continue
        if scenario in CHECKS:
            contender.warnings.append(
                f"{scenario.name} check {scenario.target} failed: " + "; ".join(found)
            )
        else:
            contender.wrong[scenario.name] = found


# -- timing ----------------------------------------------------------------------------


async def time_batch(app: ASGIApp, scenario: Scenario, number: int) -> float:
    """Return seconds for ``number`` sequential requests, each on a fresh copy of the scope."""
    # Frameworks may add keys to the scope, so each request gets its own copy.
    copy = scope_for(scenario).copy
    receive, send = receiver(scenario), _discard
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        await app(copy(), receive, send)
    return time.perf_counter() - start


async def calibrate(app: ASGIApp, scenario: Scenario, min_time: float) -> int:
    """Pick a request count whose batch takes about ``min_time`` (and warm the app up)."""
    number = 16
    while True:
        elapsed = await time_batch(app, scenario, number)
        if elapsed >= min_time / 10 or number >= 1 << 24:
            return max(1, math.ceil(number * min_time / max(elapsed, 1e-9)))
        number *= 4


async def measure(
    contenders: Sequence[Contender],
    scenarios: Sequence[Scenario],
    repeat: int,
    number: int,
    min_time: float,
) -> float:
    """Time every correct (app, scenario) pair; return the harness overhead in µs/request.

    Repeats are interleaved (one batch of every pair per round) so that a noisy neighbour on
    the shared machine hurts all frameworks alike instead of whichever was running.
    """
    live = [c for c in contenders if c.app is not None and c.error is None]
    for contender in live:
        for scenario in scenarios:
            if scenario.name in contender.wrong:
                continue
            assert contender.app is not None
            try:
                contender.number[scenario.name] = number or await calibrate(
                    contender.app, scenario, min_time
                )
            except Exception as exc:
                contender.wrong[scenario.name] = [
                    f"raised {type(exc).__name__}: {exc} while warming up"
                ]
                continue
            contender.samples[scenario.name] = []
    null_number = number or await calibrate(_null_app, _NULL, min_time)
    overhead: list[float] = []
    for _ in range(repeat):
        overhead.append(await time_batch(_null_app, _NULL, null_number) / null_number)
        for scenario in scenarios:
            for contender in live:
                if scenario.name in contender.samples:
                    assert contender.app is not None
                    count = contender.number[scenario.name]
                    try:
                        elapsed = await time_batch(contender.app, scenario, count)
                    except Exception as exc:
                        contender.wrong[scenario.name] = [
                            f"raised {type(exc).__name__}: {exc} while timed"
                        ]
                        del contender.samples[scenario.name]
                        continue
                    contender.samples[scenario.name].append(elapsed / count * 1e6)
    return statistics.median(overhead) * 1e6


# -- report ----------------------------------------------------------------------------


def geo_mean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    # Markdown, so a run can be pasted into an issue; numbers right-aligned.
    rule = (
        "|"
        + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def report(
    contenders: Sequence[Contender], scenarios: Sequence[Scenario], overhead: float, repeat: int
) -> str:
    """Render µs/request and ratio-to-raw tables, then every problem seen."""
    names = [s.name for s in scenarios]
    floor = next((c for c in contenders if c.name == FLOOR and c.samples), None)
    header = ["framework", *names, "geo-mean"]
    us_rows: list[list[str]] = []
    ratio_rows: list[list[str]] = []
    for contender in contenders:
        if contender.error is not None:
            continue
        medians = [contender.median(n) for n in names]
        us_cells = [f"{m:.2f}" if m is not None else "WRONG" for m in medians]
        complete = [m for m in medians if m is not None]
        us_geo = f"{geo_mean(complete):.2f}" if len(complete) == len(names) else "n/a"
        us_rows.append([contender.name, *us_cells, us_geo])
        if floor is None:
            continue
        ratios: list[float | None] = []
        for n, m in zip(names, medians, strict=True):
            base = floor.median(n)
            ratios.append(m / base if m is not None and base is not None else None)
        ratio_cells = [f"{r:.2f}x" if r is not None else "WRONG" for r in ratios]
        done = [r for r in ratios if r is not None]
        ratio_geo = f"{geo_mean(done):.2f}x" if len(done) == len(names) else "n/a"
        ratio_rows.append([contender.name, *ratio_cells, ratio_geo])

    out = [
        f"µs per request (median of {repeat} runs; lower is better; "
        f"includes {overhead:.2f} µs of harness per request)",
        "",
        _table(header, us_rows),
    ]
    if ratio_rows:
        out += [
            "",
            f"ratio to the {FLOOR} ASGI floor (same run; lower is better)",
            "",
            _table(header, ratio_rows),
        ]

    if {"deps0", "deps3"} <= set(names):
        out += _deps_report(contenders)

    spreads = [
        ((max(v) - min(v)) / statistics.median(v), f"{c.name}/{n}")
        for c in contenders
        for n, v in c.samples.items()
        if len(v) > 1
    ]
    if spreads:
        worst, where = max(spreads)
        out += ["", f"largest spread across runs, (max-min)/median: {worst:.0%} ({where})"]

    issues: list[str] = []
    for contender in contenders:
        if contender.error is not None:
            issues.append(f"{contender.name}: {contender.error}")
        for scenario, found in contender.wrong.items():
            issues += [f"{contender.name} {scenario}: WRONG, {p}" for p in found]
        issues += [f"{contender.name}: {w}" for w in contender.warnings]
    if issues:
        out += ["", "problems (wrong answers are not timed):", *(f"  - {i}" for i in issues)]
    return "\n".join(out)


def _deps_report(contenders: Sequence[Contender]) -> list[str]:
    """Compare each framework's deps3 with its own deps0: what three dependencies cost it."""
    rows: list[list[str]] = []
    verdicts: list[str] = []
    for contender in contenders:
        if contender.error is not None:
            continue
        deps0, deps3 = contender.median("deps0"), contender.median("deps3")
        if deps0 is None or deps3 is None:
            rows.append([contender.name, "n/a", "n/a", "n/a", "n/a"])  # one of them is WRONG
            continue
        ratio = deps3 / deps0
        rows.append(
            [contender.name, f"{deps0:.2f}", f"{deps3:.2f}", f"{deps3 - deps0:.2f}", f"{ratio:.2f}x"]
        )
        if contender.name.startswith("covet"):
            verdict = "meets" if ratio <= DEPS_TARGET else "misses"
            verdicts.append(
                f"{contender.name} deps3/deps0 = {ratio:.2f}x: {verdict} the target of "
                f"at most {DEPS_TARGET:.2f}x"
            )
    header = ["framework", "deps0 µs", "deps3 µs", "deps3 - deps0 µs", "deps3/deps0"]
    return [
        "",
        "three nested dependencies against none, per framework (same run; lower is better)",
        "",
        _table(header, rows),
        *([""] + verdicts if verdicts else []),
    ]


def describe(contenders: Sequence[Contender]) -> str:
    versions = ", ".join(f"{c.name} {c.version}" for c in contenders if c.version)
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}) on "
        f"{platform.machine()}, {os.cpu_count()} CPUs; asyncio loop "
        f"{type(asyncio.get_event_loop_policy()).__name__}\n{versions}"
    )


# -- command line ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"timed batches per app and scenario; the median is reported "
        f"(default {DEFAULT_REPEAT})",
    )
    parser.add_argument(
        "--number",
        type=int,
        default=0,
        help="requests per batch, the same for every app (default: calibrated "
        "per app so one batch takes about --min-time)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=DEFAULT_MIN_TIME,
        help=f"seconds per batch when calibrating (default {DEFAULT_MIN_TIME})",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario; repeat the option for more (default: all)",
    )
    parser.add_argument(
        "--framework",
        action="append",
        choices=[*FRAMEWORKS, COVET_PURE],
        help=f"run only this framework ({FLOOR} is always included); repeat for "
        f"more (default: all, plus {COVET_PURE} when covet is compiled)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.number < 0 or args.min_time <= 0:
        parser.error("--repeat must be at least 1, --number and --min-time not negative")
    return args


async def run(args: argparse.Namespace) -> int:
    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    chosen = args.framework or list(FRAMEWORKS)
    names = [FLOOR, *(n for n in chosen if n not in (FLOOR, COVET_PURE))]
    contenders = [load(name) for name in names]
    if COVET_PURE in chosen or (not args.framework and covet_is_compiled()):
        contenders.append(load(COVET_PURE))

    lifespans: list[tuple[Contender, Lifespan]] = []
    for contender in contenders:
        if contender.app is None:
            continue
        lifespan = Lifespan(contender.app)
        failure = await lifespan.startup()
        if failure is not None:
            contender.error = f"lifespan startup failed: {failure}"
            continue
        lifespans.append((contender, lifespan))
        await verify(contender, scenarios)

    print(describe(contenders), flush=True)
    print(
        "scenarios: " + "; ".join(f"{s.name} = {s.target} ({s.summary})" for s in scenarios),
        flush=True,
    )
    overhead = await measure(contenders, scenarios, args.repeat, args.number, args.min_time)
    for contender, lifespan in lifespans:
        failure = await lifespan.shutdown()
        if failure is not None:
            contender.warnings.append(f"lifespan shutdown: {failure}")
    print()
    print(report(contenders, scenarios, overhead, args.repeat))
    failed = any(c.error or c.wrong or c.warnings for c in contenders)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; exit 1 if any app could not run or answered wrongly."""
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
