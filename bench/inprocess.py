"""In-process benchmark: call ASGI apps directly, no server, no sockets.

Usage: ``python bench/inprocess.py [--framework NAME ...] [--scenario NAME ...] [--repeat N]
[--decoys N | --sweep 100,1000,10000] [--json]``. ``bench/run.py`` runs it once per framework,
each in a fresh process, and merges the results; run it by hand to look at one framework.

This isolates what a framework adds per request (routing, request and response objects,
parameter conversion, encoding) from what a server adds. The raw ASGI app (the floor) is always
measured in the same process, in interleaved rounds with the others, on one asyncio event loop
with the same prebuilt scope, the same trivial ``receive`` and ``send`` and the same loop around
it; every ratio is taken against that floor.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import importlib.util
import json
import math
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from apps import FRAMEWORKS
from apps._shared import LEDGER
from report import FLOOR, Row, inprocess_report, problems_report, spread_line, sweep_report
from scenarios import (
    CHECKS,
    SCENARIOS,
    Answer,
    Scenario,
    SessionCount,
    last_decoy_check,
    problems,
    session_problems,
)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COVET_PURE = "covet-pure"
DEFAULT_REPEAT = 7
DEFAULT_MIN_TIME = 0.1  # seconds per timed batch when --number is not given
LIFESPAN_TIMEOUT = 10.0

_HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"covet-bench"),
    (b"accept", b"*/*"),
]


def scope_for(scenario: Scenario) -> Scope:
    """Build the scope a server would send for ``scenario``; timed runs copy it per request."""
    headers = [*_HEADERS, *scenario.headers]
    if scenario.body is not None:
        headers += [
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
    """One app (a framework at a decoy count) and what happened to it."""

    name: str
    decoys: int
    app: ASGIApp | None = None
    #: the variant apps built by the module's factories (hooked_app, ...), by factory name
    variants: dict[str, ASGIApp] = field(default_factory=dict)
    version: str = ""
    compiled: bool | None = None
    error: str | None = None
    wrong: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    number: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)  # µs per request

    def median(self, scenario: str) -> float | None:
        runs = self.samples.get(scenario)
        return statistics.median(runs) if runs else None

    def app_for(self, scenario: Scenario) -> ASGIApp | None:
        """The app that serves ``scenario``: ``app`` or the variant its factory built."""
        return self.app if scenario.app == "app" else self.variants.get(scenario.app)

    def all_apps(self) -> list[ASGIApp]:
        return [app for app in (self.app, *self.variants.values()) if app is not None]


# -- loading ---------------------------------------------------------------------------


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def covet_is_compiled() -> bool:
    """Say whether the covet already imported uses its compiled speedups."""
    enabled = getattr(sys.modules.get("covet"), "speedups_enabled", None)
    return bool(enabled is not None and enabled())


def _fresh_module(module_name: str, decoys: int) -> Any:
    # Each decoy count needs its own copy of the app, so the module is executed again after the
    # shared count changes; the framework itself is imported once.
    shared = importlib.import_module("apps._shared")
    shared.DYNAMIC_DECOYS = decoys
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot find {module_name!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class BuildTimeout(Exception):
    """An app took longer to build than ``--build-timeout`` allows."""


def _give_up(signum: int, frame: object) -> None:
    raise BuildTimeout


def load(name: str, decoys: int, timeout: float = 0, factories: Sequence[str] = ()) -> Contender:
    """Build one framework's app with ``decoys`` dynamic decoys; a failure is recorded, not raised.

    ``factories`` names the module's functions that build the variant apps some scenarios need
    (``hooked_app`` ...); each is called once. Some routers take minutes to compile 10,000 routes;
    with ``timeout`` a build that runs longer is interrupted (SIGALRM) and recorded as an error,
    so the other decoy counts still get timed.
    """
    contender = Contender(name, decoys)
    framework = "covet" if name == COVET_PURE else name
    previous = signal.signal(signal.SIGALRM, _give_up)
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 0))
    try:
        module = _fresh_module(FRAMEWORKS[framework], decoys)
        contender.app = module.app
        # A framework without a factory (no such middleware, say) simply has no cell for its scenario.
        contender.variants = {factory: getattr(module, factory)() for factory in factories if hasattr(module, factory)}
        signal.setitimer(signal.ITIMER_REAL, 0)
        if framework == "covet":
            contender.compiled = covet_is_compiled()
            covet = sys.modules["covet"]
            speedups = "compiled" if contender.compiled else "pure"
            contender.version = f"{getattr(covet, '__version__', '?')}, speedups {speedups}"
            if name == COVET_PURE and contender.compiled:
                raise RuntimeError("COVET_NO_EXTENSIONS=1 did not turn the speedups off")
        elif name != FLOOR:
            contender.version = _dist_version(name)
    except BuildTimeout:
        contender.error = f"building the app with {decoys:,} decoys took more than {timeout:g} s"
    except Exception as exc:  # any failure to build the app is a result to report
        contender.error = f"cannot import: {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return contender


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

    before = SessionCount.now()
    LEDGER.last = None
    await app(scope_for(scenario), receiver(scenario), collect)
    if scenario.session:
        missing = session_problems(before)
        if missing:
            raise SessionProblem("; ".join(missing))
    if status is not None and not done:
        raise RuntimeError("the response body never finished (more_body stayed true)")
    return Answer(status, headers, b"".join(chunks))


class SessionProblem(Exception):
    """The ``deps`` request did not open, use and close its ``Session`` as it should."""


async def verify(contender: Contender, scenarios: Sequence[Scenario]) -> None:
    """Record wrong answers per scenario (those are not timed) and failed untimed checks.

    A check runs on the app it names when that app was built (the hooked app's check only when a
    scenario needed the hooked app).
    """
    assert contender.app is not None
    checks = (*CHECKS, last_decoy_check(contender.decoys))
    for scenario in (*scenarios, *checks):
        app = contender.app_for(scenario)
        if app is None:
            continue
        try:
            found = list(problems(scenario, await ask(app, scenario)))
        except SessionProblem as exc:
            found = [f"wrong session work: {exc}"]
        except Exception as exc:
            found = [f"raised {type(exc).__name__}: {exc}"]
        if not found:
            continue
        if scenario in checks:
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
            app = contender.app_for(scenario)
            if scenario.name in contender.wrong or app is None:
                continue
            try:
                contender.number[scenario.name] = number or await calibrate(app, scenario, min_time)
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
                app = contender.app_for(scenario)
                if scenario.name in contender.samples and app is not None:
                    count = contender.number[scenario.name]
                    try:
                        elapsed = await time_batch(app, scenario, count)
                    except Exception as exc:
                        contender.wrong[scenario.name] = [
                            f"raised {type(exc).__name__}: {exc} while timed"
                        ]
                        del contender.samples[scenario.name]
                        continue
                    contender.samples[scenario.name].append(elapsed / count * 1e6)
    return statistics.median(overhead) * 1e6


# -- results ---------------------------------------------------------------------------


def to_rows(contenders: Sequence[Contender]) -> list[Row]:
    """Plain rows for the report, each carrying the raw floor timed with it (same decoy count)."""
    floors = {c.decoys: c.samples for c in contenders if c.name == FLOOR}
    return [
        Row(
            name=c.name,
            version=c.version,
            error=c.error,
            compiled=c.compiled,
            decoys=c.decoys,
            wrong=c.wrong,
            warnings=c.warnings,
            samples=c.samples,
            floor=floors.get(c.decoys, {}),
        )
        for c in contenders
    ]


def describe(contenders: Sequence[Contender]) -> str:
    versions = ", ".join(sorted({f"{c.name} {c.version}" for c in contenders if c.version}))
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}) on "
        f"{platform.machine()}, {os.cpu_count()} CPUs; asyncio loop "
        f"{type(asyncio.get_event_loop_policy()).__name__}\n{versions}"
    )


# -- command line ----------------------------------------------------------------------


def _counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if len(counts) < 2 or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give two or more positive counts, e.g. 100,1000,10000")
    return counts


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--framework",
        action="append",
        choices=[name for name in (*FRAMEWORKS, COVET_PURE) if name != FLOOR],
        help=f"measure this framework ({FLOOR} is always included); repeat for more (default: all "
        f"but {COVET_PURE}, which needs a process of its own)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario; repeat the option for more (default: all)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"timed batches per app and scenario; the median is reported (default {DEFAULT_REPEAT})",
    )
    parser.add_argument(
        "--number",
        type=int,
        default=0,
        help="requests per batch, the same for every app (default: calibrated per app so one batch "
        "takes about --min-time)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=DEFAULT_MIN_TIME,
        help=f"seconds per batch when calibrating (default {DEFAULT_MIN_TIME})",
    )
    parser.add_argument(
        "--decoys",
        type=int,
        default=100,
        help="dynamic decoy routes registered before the params route (default 100)",
    )
    parser.add_argument(
        "--sweep",
        type=_counts,
        metavar="N,N,...",
        help="time only params, once per decoy count, each app built once per count",
    )
    parser.add_argument(
        "--build-timeout",
        type=float,
        default=0,
        metavar="SECONDS",
        help="give up on an app that takes longer than this to build (default: wait)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH (for bench/run.py)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.number < 0 or args.min_time <= 0 or args.decoys < 1:
        parser.error("--repeat and --decoys must be at least 1, --number and --min-time not negative")
    chosen = args.framework or [name for name in FRAMEWORKS if name != FLOOR]
    if COVET_PURE in chosen and "covet" in chosen:
        parser.error(
            f"covet and {COVET_PURE} differ only in COVET_NO_EXTENSIONS, read once at import: "
            "measure them in separate processes (bench/run.py does)"
        )
    args.framework = chosen
    return args


async def run(args: argparse.Namespace) -> tuple[list[Contender], list[str], float]:
    """Load, verify and time every (framework, decoy count).

    Returns the contenders, the scenario names and the harness's own cost in µs per request.
    """
    if COVET_PURE in args.framework:
        os.environ["COVET_NO_EXTENSIONS"] = "1"  # before covet is first imported
    if args.sweep:
        names, counts = ["params"], args.sweep
    else:
        names = [s.name for s in SCENARIOS if not args.scenario or s.name in args.scenario]
        counts = [args.decoys]
    scenarios = [s for s in SCENARIOS if s.name in names]
    factories = sorted({s.app for s in scenarios if s.app != "app"})
    contenders = [
        load(name, n, args.build_timeout, factories) for n in counts for name in (FLOOR, *args.framework)
    ]

    lifespans: list[tuple[Contender, Lifespan]] = []
    for contender in contenders:
        if contender.app is None:
            continue
        for app in contender.all_apps():
            lifespan = Lifespan(app)
            failure = await lifespan.startup()
            if failure is not None:
                contender.error = f"lifespan startup failed: {failure}"
                break
            lifespans.append((contender, lifespan))
        else:
            await verify(contender, scenarios)

    if not args.json:
        print(describe(contenders), flush=True)
    overhead = await measure(contenders, scenarios, args.repeat, args.number, args.min_time)
    for contender, lifespan in lifespans:
        failure = await lifespan.shutdown()
        if failure is not None:
            contender.warnings.append(f"lifespan shutdown: {failure}")
    return contenders, names, overhead


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any app could not run or answered wrongly."""
    args = parse_args(argv)
    contenders, names, overhead = asyncio.run(run(args))
    rows = to_rows(contenders)
    if args.json:
        result = {"describe": describe(contenders), "harness_us": overhead, "rows": [vars(r) for r in rows]}
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out)
    else:
        report = sweep_report(rows, args.sweep) if args.sweep else inprocess_report(rows, names, args.repeat)
        lines = ["", report, "", f"harness cost, included in every number: {overhead:.2f} µs per request"]
        spread = spread_line(rows)
        lines += [spread] if spread else []
        issues = problems_report(rows)
        if issues:
            lines += ["", "problems (wrong answers are not timed):", *(f"  - {i}" for i in issues)]
        print("\n".join(lines))
    failed = any(c.error or c.wrong or c.warnings for c in contenders)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
