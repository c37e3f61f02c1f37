"""What each of covet's standard middleware adds to the ``std_stack`` request, one at a time.

Usage: ``python bench/middleware_cost.py [--repeat N] [--min-time SECONDS]`` from the repository
root (covet installed; no peers needed). Times ``GET /json`` (the session read, the ``Origin`` and
``Accept-Encoding`` headers of the ``std_stack`` scenario) on covet's bench app behind: nothing,
each of ``CORSMiddleware``, ``GZipMiddleware`` (body too small: passed through) and
``SessionMiddleware`` (signed cookie, a first visit, the handler reading it) alone, then all
three. Rounds are interleaved
and each cell is the median, as in ``inprocess.py``; the number to quote is the difference to
"none", taken in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apps._shared import STD_ORIGIN, STD_SECRET  # noqa: E402
from apps.covet_app import build, json, json_session  # noqa: E402
from inprocess import ask, calibrate, time_batch  # noqa: E402
from scenarios import SCENARIOS, problems  # noqa: E402

from covet.middleware import CORSMiddleware, GZipMiddleware, SessionMiddleware  # noqa: E402

CORS = (CORSMiddleware, {"allow_origins": [STD_ORIGIN]})
SESSION = (SessionMiddleware, {"secret_key": STD_SECRET})
VARIANTS: dict[str, list[Any]] = {
    "none": [],
    "CORS": [CORS],
    "GZip": [GZipMiddleware],
    "Session": [SESSION],
    "all three": [CORS, GZipMiddleware, SESSION],
}


async def main(repeat: int, min_time: float) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "std_stack")
    # The handler reads the session only where there is one (the "Session" cost includes the read).
    apps = {
        name: build(json_handler=json_session if SESSION in entries else json, middleware=entries)
        for name, entries in VARIANTS.items()
    }
    for name, app in apps.items():
        found = list(problems(scenario, await ask(app, scenario)))
        # Without CORS the allow-origin header is rightly absent; anything else is a wrong answer.
        found = [p for p in found if "access-control-allow-origin" not in p]
        if found:
            raise SystemExit(f"{name}: wrong answer: {found}")
    numbers = {name: await calibrate(app, scenario, min_time) for name, app in apps.items()}
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repeat):
        for name, app in apps.items():
            samples[name].append(await time_batch(app, scenario, numbers[name]) / numbers[name] * 1e6)
    base = statistics.median(samples["none"])
    print("| covet /json behind | µs per request | added |")
    print("|---|---:|---:|")
    for name, runs in samples.items():
        median = statistics.median(runs)
        print(f"| {name} | {median:.2f} | {median - base:+.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--min-time", type=float, default=0.1)
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.min_time))
