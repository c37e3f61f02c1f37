"""Instructions per request, counted by valgrind: the steady measure for hot-path work.

Usage (inside the bench venv, from ``bench/``, with ``valgrind`` installed)::

    python instructions.py [--framework NAME ...] [--scenario NAME ...] [--requests N]

The default scenarios are run.py's (``DEFAULT_SCENARIOS``: the five base ones and ``hooked``,
``deps`` and ``stack``, which run on the app module's ``hooked_app()``, ``deps_app()`` and
``stack_app()`` variants).

Wall-clock time on a shared machine swings by 20-30% between runs; the number of instructions
executed does not. For each (framework, scenario) pair this runs the in-process harness twice
under ``valgrind --tool=callgrind``, once with no timed requests and once with ``N``, and prints
the difference divided by ``N``: what one request costs, imports and warm-up excluded. Use it to
decide whether a change to the request path pays; use ``run.py`` for the figures you publish.

``COVET_NO_EXTENSIONS=1`` in the environment measures covet's pure-Python twins.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from apps import FRAMEWORKS
from inprocess import Lifespan, load, receiver, scope_for
from scenarios import DEFAULT_SCENARIOS, SCENARIOS

DEFAULT_REQUESTS = 2000
WARMUP = 200


async def _discard(message: dict[str, object]) -> None:
    return None


async def _serve(framework: str, scenario_name: str, requests: int) -> None:
    scenario = next(s for s in SCENARIOS if s.name == scenario_name)
    contender = load(framework, 100, factories=() if scenario.app == "app" else (scenario.app,))
    app = contender.app_for(scenario)
    if contender.error is not None or app is None:
        raise SystemExit(f"{framework}: {contender.error}")
    lifespan = Lifespan(app)
    failure = await lifespan.startup()
    if failure:
        raise SystemExit(f"{framework}: {failure}")
    copy, receive = scope_for(scenario).copy, receiver(scenario)
    for _ in range(WARMUP + requests):
        await app(copy(), receive, _discard)
    await lifespan.shutdown()


def callgrind_count(argv: Sequence[str], label: str) -> int:
    """The instructions valgrind's callgrind counts while ``argv`` (a command line) runs."""
    with tempfile.TemporaryDirectory() as tmp:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *argv]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{label}: valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def _count(framework: str, scenario: str, requests: int) -> int:
    argv = [sys.executable, __file__, "--serve", framework, scenario, str(requests)]
    return callgrind_count(argv, f"{framework}/{scenario}")


def per_request(framework: str, scenario: str, requests: int) -> float:
    """Instructions one request of ``scenario`` costs ``framework``."""
    return (_count(framework, scenario, requests) - _count(framework, scenario, 0)) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--framework", action="append", choices=sorted(FRAMEWORKS))
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)  # the process valgrind runs
    args = parser.parse_args(argv)
    if args.serve:
        framework, scenario, requests = args.serve
        asyncio.run(_serve(framework, scenario, int(requests)))
        return 0
    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind (Debian: apt-get install -y valgrind)", file=sys.stderr)
        return 1
    frameworks = args.framework or ["raw", "covet"]
    scenarios = args.scenario or list(DEFAULT_SCENARIOS)
    pure = " (pure Python)" if os.environ.get("COVET_NO_EXTENSIONS") else ""
    print(f"instructions per request, {args.requests} requests after {WARMUP} warm-up{pure}\n")
    print("| framework | " + " | ".join(scenarios) + " |")
    print("|---|" + "---:|" * len(scenarios))
    for framework in frameworks:
        cells = [f"{per_request(framework, name, args.requests) / 1000:.1f}k" for name in scenarios]
        print(f"| {framework} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
