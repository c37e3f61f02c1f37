"""What covet.observability costs per request: request id + access log + Prometheus metrics.

Usage: ``python bench/observability.py [--repeat N]``. Times the ``json`` scenario in-process
(bench/inprocess.py's harness: direct ASGI calls, a fresh scope copy per request, interleaved
rounds, medians) on three covet apps with the same route:

- ``bare``: no middleware;
- ``observed, log off``: RequestIdMiddleware + AccessLogMiddleware + PrometheusMiddleware, with the
  ``covet.access`` logger below INFO (the access log then costs one level check);
- ``observed, log on``: the same with the access logger at INFO into a handler that formats each
  record and drops it (the cost of making and formatting the JSON line, without disk I/O).

The figure asked of issue 18 is the difference between the first two (≤ 2 µs).

``--instructions`` counts instead of timing (valgrind's callgrind, as bench/instructions.py): the
instructions one request costs on ``bare`` and ``observed, log off``, and on the json app behind
each observer alone, so that a change to one of them can be weighed without the machine's noise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from typing import Any

from inprocess import calibrate, time_batch
from scenarios import SCENARIOS

import covet
from covet import Covet


class Formatting(logging.Handler):
    """Formats every record (as a real handler would) and writes it nowhere."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


#: The observers an app of --instructions may have, by letter (outermost last added, as below).
OBSERVERS = {"P": "PrometheusMiddleware", "A": "AccessLogMiddleware", "R": "RequestIdMiddleware"}


def json_app(observed: bool, which: str = "PAR") -> Any:
    from prometheus_client import CollectorRegistry

    import covet.observability

    app = Covet(openapi_url=None, docs_url=None)

    @app.get("/json")
    async def json_route() -> dict[str, str]:
        return {"message": "Hello, World!"}

    if observed:
        for letter in which:
            cls = getattr(covet.observability, OBSERVERS[letter])
            app.add_middleware(cls, **({"registry": CollectorRegistry()} if letter == "P" else {}))
    return app


async def _serve(which: str, requests: int) -> None:
    """The process valgrind runs: ``requests`` json requests (after a warm-up) on one app."""
    from inprocess import receiver, scope_for

    logging.getLogger("covet.access").setLevel(logging.WARNING)
    scenario = next(s for s in SCENARIOS if s.name == "json")
    app = json_app(which != "-", which)
    copy, receive = scope_for(scenario).copy, receiver(scenario)

    async def discard(message: Any) -> None:
        return None

    for _ in range(200 + requests):
        await app(copy(), receive, discard)


def _instructions(which: str, requests: int) -> float:
    from instructions import callgrind_count

    def count(n: int) -> int:
        return callgrind_count([sys.executable, __file__, "--serve", which, str(n)], f"observability {which}")

    return (count(requests) - count(0)) / requests


def instructions(requests: int) -> int:
    rows = {"bare": "-", "observed (request id + access log + metrics)": "PAR"}
    rows.update({f"{name} alone": letter for letter, name in OBSERVERS.items()})
    counts = {name: _instructions(which, requests) for name, which in rows.items()}
    print(f"instructions per json request, {requests} requests after 200 warm-up, access log off")
    print(f"{'app':<48}{'instructions':>14}{'added':>10}")
    for name, value in counts.items():
        print(f"{name:<48}{value / 1000:>13.1f}k{(value - counts['bare']) / 1000:>9.1f}k")
    return 0


async def main(repeat: int) -> int:
    scenario = next(s for s in SCENARIOS if s.name == "json")
    logger = logging.getLogger("covet.access")
    logger.propagate = False
    logger.addHandler(Formatting())
    apps = {"bare": json_app(False), "observed, log off": json_app(True), "observed, log on": json_app(True)}
    levels = {"bare": logging.WARNING, "observed, log off": logging.WARNING, "observed, log on": logging.INFO}
    numbers = {}
    for name, app in apps.items():
        logger.setLevel(levels[name])
        numbers[name] = await calibrate(app, scenario, 0.1)
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repeat):
        for name, app in apps.items():
            logger.setLevel(levels[name])
            samples[name].append(await time_batch(app, scenario, numbers[name]) / numbers[name] * 1e6)
    bare = statistics.median(samples["bare"])
    speedups = "compiled" if covet.speedups_enabled() else "pure"
    print(f"covet {covet.__version__} ({speedups}), Python {sys.version.split()[0]}, json scenario, {repeat} rounds")
    print(f"{'app':<20}{'µs/request':>12}{'added µs':>10}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<20}{median:>12.2f}{median - bare:>10.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--instructions", type=int, metavar="N", help="count N requests under callgrind instead")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)  # the process valgrind runs
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve[0], int(args.serve[1])))
        sys.exit(0)
    if args.instructions:
        sys.exit(instructions(args.instructions))
    sys.exit(asyncio.run(main(args.repeat)))
