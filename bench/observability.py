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


def json_app(observed: bool) -> Any:
    from prometheus_client import CollectorRegistry

    from covet.observability import AccessLogMiddleware, PrometheusMiddleware, RequestIdMiddleware

    app = Covet(openapi_url=None, docs_url=None)

    @app.get("/json")
    async def json_route() -> dict[str, str]:
        return {"message": "Hello, World!"}

    if observed:
        app.add_middleware(PrometheusMiddleware, registry=CollectorRegistry())
        app.add_middleware(AccessLogMiddleware)
        app.add_middleware(RequestIdMiddleware)
    return app


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
    sys.exit(asyncio.run(main(parser.parse_args().repeat)))
