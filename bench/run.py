"""The benchmark suite in one command: set up bench/.venv, measure, print markdown tables.

Usage: ``python3 bench/run.py [inprocess|server|all] [--decoy-sweep] [--write] [options]``
(see bench/README.md). Any Python 3.10+ can start it: it creates or reuses ``bench/.venv``,
installs covet from this checkout (``pip install -e``, building the compiled speedups when the
build can) and the peers from ``bench/requirements.txt``, then runs itself again with that venv's
Python. Each framework is measured in a process of its own: covet and covet-pure differ only in
``COVET_NO_EXTENSIONS``, which covet reads once at import.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
REQUIREMENTS = BENCH / "requirements.txt"
DEFAULT_VENV = BENCH / ".venv"
# What the venv was last installed from; a change means installing again.
STAMP = ".bench-requirements"
# The frameworks in report order; the raw floor is timed inside every framework's process.
FRAMEWORKS = ("covet", "covet-pure", "starlette", "fastapi", "blacksheep", "falcon", "litestar")
SCENARIOS = (
    "plaintext", "json", "params", "post_items", "query", "hooked", "deps", "stack", "deps0", "deps3", "std_stack",
)  # fmt: skip
# The same list as scenarios.DEFAULT_SCENARIOS (this part of run.py runs before msgspec is there).
DEFAULT_SCENARIOS = ("plaintext", "json", "params", "post_items", "query", "hooked", "deps", "stack")
# Scenarios served by a variant app built by a factory (hooked_app() ...): timed in-process only;
# the over-server part serves each module's ``app`` and leaves them out.
IN_PROCESS_ONLY = ("hooked", "deps", "stack", "std_stack")
SWEEP = (100, 1_000, 10_000)
PACKAGES = (
    "covet", "msgspec", "starlette", "fastapi", "pydantic", "blacksheep", "falcon", "litestar",
    "uvicorn", "httptools", "uvloop", "hypercorn", "granian", "Cython",
)  # fmt: skip


# -- the venv (standard library only: this part runs under any Python) ------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _inside(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.resolve()


def _pip(python: Path, *args: str) -> None:
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    print(f"bench: {shlex.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True)


def prepare_venv(venv: Path) -> Path:
    """Create or reuse ``venv``: peers when requirements.txt changed, covet itself every time.

    covet goes in without build isolation, next to Cython, so that ``setup.py`` can compile the
    speedups; reinstalling each run rebuilds them when their sources changed.
    """
    python = _venv_python(venv)
    if not python.exists():
        print(f"bench: creating {venv}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / STAMP
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        _pip(python, "cython>=3.0.10", "setuptools>=68", "wheel", "-r", str(REQUIREMENTS))
        stamp.write_text(wanted + "\n")
    _pip(python, "--no-build-isolation", "-e", str(REPO))
    return python


# -- what ran where ---------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _wrk_version() -> str:
    if shutil.which("wrk") is None:
        return "not installed"
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def machine(compiled: bool | None) -> list[str]:
    """The lines that say where and with what a run happened."""
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip() or str(platform.uname())
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    versions = ", ".join(f"{name} {v}" for name in PACKAGES if (v := _version(name)) is not None)
    if compiled is None:
        speedups = "covet speedups: not checked (covet was not measured in-process)"
    elif compiled:
        speedups = "covet speedups: compiled (covet.speedups_enabled() is True in the bench venv)"
    else:
        speedups = (
            "covet speedups: NOT compiled (covet.speedups_enabled() is False in the bench venv), so the "
            "covet row measures the pure-Python code"
        )
    return [
        f"- machine: `{uname}`",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical CPUs; load average at start {' '.join(load)}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- {speedups}",
        f"- packages: {versions}",
        f"- wrk: {_wrk_version()}",
    ]


# -- running the parts ------------------------------------------------------------------


def _inprocess(
    framework: str, args: argparse.Namespace, scenarios: Sequence[str], sweep: Sequence[int] | None = None
) -> dict[str, Any]:
    """Run bench/inprocess.py for one framework in a fresh process and return its JSON."""
    env = dict(os.environ)
    env.pop("COVET_NO_EXTENSIONS", None)  # inprocess.py sets it for covet-pure only
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable, str(BENCH / "inprocess.py"), "--framework", framework,
            "--repeat", str(args.repeat), "--min-time", str(args.min_time), "--json", str(out),
        ]  # fmt: skip
        if sweep:
            command += ["--sweep", ",".join(map(str, sweep)), "--build-timeout", str(args.build_timeout)]
        else:
            command += ["--decoys", str(args.decoys)]
            for name in scenarios:
                command += ["--scenario", name]
        print(f"bench: in-process {framework}{' decoy sweep' if sweep else ''} ...", file=sys.stderr, flush=True)
        result = subprocess.run(command, cwd=BENCH, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not out.exists():
            said = result.stderr.decode(errors="replace").strip().splitlines()
            return {"rows": [{"name": framework, "error": f"the process failed: {said[-1] if said else '?'}"}]}
        data: dict[str, Any] = json.loads(out.read_text())
        return data


def _frameworks(args: argparse.Namespace) -> list[str]:
    return list(args.framework or FRAMEWORKS)


def run_inprocess(args: argparse.Namespace, scenarios: Sequence[str]) -> tuple[str, bool | None, bool]:
    """Every framework in its own process; returns the report, whether covet was compiled, success."""
    from report import Row, inprocess_report, problems_report, spread_line

    rows: list[Row] = []
    compiled: bool | None = None
    harness: list[float] = []
    notes: list[str] = []
    for framework in _frameworks(args):
        if framework == "covet-pure" and compiled is False and not args.framework:
            notes.append("covet-pure is not shown: covet is not compiled here, so the covet row is pure Python")
            continue
        data = _inprocess(framework, args, scenarios)
        harness += [data["harness_us"]] if "harness_us" in data else []
        for raw in data["rows"]:
            row = Row.from_json(raw)
            if row.name == "raw":
                continue
            if row.name == "covet":
                compiled = row.compiled
                if row.compiled is False:
                    row.name = "covet (not compiled)"
            rows.append(row)
    lines = [inprocess_report(rows, scenarios, args.repeat), ""]
    if harness:
        low, high = f"{min(harness):.2f}", f"{max(harness):.2f}"
        cost = low if low == high else f"{low}-{high}"
        lines.append(f"harness cost, included in every number: {cost} µs per request")
    spread = spread_line(rows)
    lines += [spread] if spread else []
    lines += notes
    issues = problems_report(rows)
    if issues:
        lines += ["", "problems (wrong answers are not timed):", *(f"- {i}" for i in issues)]
    return "\n".join(lines), compiled, not issues


def run_sweep(args: argparse.Namespace) -> tuple[str, bool]:
    """params at 100, 1,000 and 10,000 decoys, each framework's three apps in one process."""
    from report import Row, problems_report, sweep_report

    rows: list[Row] = []
    have_floor = False
    for framework in _frameworks(args):
        if framework == "covet-pure" and args.covet_compiled is not True:
            continue  # without compiled speedups it is the covet row again
        data = _inprocess(framework, args, ["params"], SWEEP)
        for raw in data["rows"]:
            row = Row.from_json(raw)
            if row.name == "covet" and row.compiled is False:
                row.name = "covet (not compiled)"
            if row.name != "raw" or not have_floor:
                rows.append(row)
        # Every process times raw too; the first process's raw is shown as the reference.
        have_floor = have_floor or any(r.name == "raw" for r in rows)
    issues = problems_report(rows)
    lines = [sweep_report(rows, SWEEP)]
    if issues:
        lines += ["", "problems:", *(f"- {i}" for i in issues)]
    return "\n".join(lines), not any(row.wrong or row.warnings for row in rows)


def run_server(args: argparse.Namespace, scenarios: Sequence[str]) -> tuple[str, bool]:
    """Every framework under each server, loaded by wrk; returns the report and success."""
    import overserver

    missing = overserver.load_tool_problems(args.server_cpu, args.load_cpu)
    if missing:
        return "over-server benchmark not run: " + "; ".join(missing), False
    skipped = [name for name in scenarios if name in IN_PROCESS_ONLY]
    scenarios = [name for name in scenarios if name not in IN_PROCESS_ONLY]
    if not scenarios:
        return f"over-server benchmark not run: {', '.join(skipped)} are timed in-process only", True
    frameworks = [f for f in _frameworks(args) if f != "covet-pure" or args.covet_compiled is not False]
    runs = overserver.run_servers(
        args.server,
        frameworks,
        scenarios,
        decoys=args.decoys,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        server_cpu=args.server_cpu,
        load_cpu=args.load_cpu,
    )
    if args.covet_compiled is False:
        for run in runs:
            if run.framework == "covet":
                run.framework = "covet (not compiled)"
    labels = {server: overserver.server_label(server) for server in args.server}
    lines = [
        *([f"{', '.join(skipped)}: timed in-process only, not over a server", ""] if skipped else []),
        f"wrk -t1 -c{args.connections} -d{args.duration}s --latency"
        + (f" after a {args.warmup} s warm-up" if args.warmup > 0 else ", no warm-up")
        + f"; server pinned to CPU {args.server_cpu}, wrk to CPU {args.load_cpu}",
        "",
        overserver.server_report(runs, scenarios, labels),
        *overserver.server_targets(runs, scenarios),
    ]
    issues = overserver.server_problems(runs)
    if issues:
        lines += ["", "problems (wrong answers are not loaded):", *(f"- {i}" for i in issues)]
    return "\n".join(lines), not issues


# -- results file -----------------------------------------------------------------------

_INTRO = """# Benchmark results

Each section is one run of `bench/run.py`, newest first, written by `--write`. Compare ratios
within a section; absolute numbers move 10-30% between runs on a shared machine. See
bench/README.md for what each number means.
"""


def write_results(heading: str, body: str) -> None:
    """Put ``## heading`` and ``body`` first in RESULTS.md, replacing a section with that heading."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else _INTRO
    parts = re.split(r"(?m)^(?=## )", text)
    intro, sections = parts[0], [p for p in parts[1:] if p.splitlines()[0] != f"## {heading}"]
    section = f"## {heading}\n\n{body.strip()}\n\n"
    RESULTS.write_text(intro.rstrip() + "\n\n" + section + "".join(sections).rstrip() + "\n", encoding="utf-8")


# -- command line -----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "part",
        nargs="?",
        choices=("inprocess", "server", "all"),
        default="all",
        help="in-process timings, the over-server run with wrk, or both (default all)",
    )
    parser.add_argument("--write", action="store_true", help="put the results first in bench/RESULTS.md")
    parser.add_argument(
        "--label",
        help="with --write, added to the section's heading, e.g. 'before issue 11': a section is replaced "
        "only by a run with the same date, parts and label",
    )
    parser.add_argument(
        "--decoy-sweep",
        action="store_true",
        help="also time params with 100, 1,000 and 10,000 decoys and print the ratios",
    )
    parser.add_argument(
        "--framework",
        action="append",
        choices=FRAMEWORKS,
        help="measure only this framework (raw is always measured); repeat for more (default: all)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=(*SCENARIOS, "all"),
        help=f"run only this scenario; repeat for more; 'all' adds deps0 and deps3 "
        f"(default: {', '.join(DEFAULT_SCENARIOS)})",
    )
    parser.add_argument("--decoys", type=int, default=100, help="dynamic decoy routes (default 100)")
    parser.add_argument("--repeat", type=int, default=7, help="in-process batches per cell; median shown")
    parser.add_argument("--min-time", type=float, default=0.1, help="seconds per in-process batch")
    parser.add_argument(
        "--build-timeout",
        type=float,
        default=240,
        help="seconds an app may take to build its routes in the decoy sweep (default 240)",
    )
    parser.add_argument(
        "--server",
        action="append",
        choices=("uvicorn", "hypercorn", "granian"),
        help="server for the over-server run; repeat for more (default uvicorn and hypercorn)",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk load per cell (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unrecorded load first (default 1)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to (default 0)")
    parser.add_argument("--load-cpu", type=int, default=1, help="CPU wrk is pinned to (default 1)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the venv to use (default bench/.venv)")
    parser.add_argument("--no-install", action="store_true", help="use the venv as it is, install nothing")
    args = parser.parse_args(argv)
    if args.decoys < 58:
        parser.error("--decoys must be at least 58: the checks request /decoy57/...")
    if args.repeat < 1 or args.min_time <= 0 or args.duration < 1 or args.connections < 1:
        parser.error("--repeat, --duration and --connections must be at least 1, --min-time positive")
    args.server = args.server or ["uvicorn", "hypercorn"]
    return args


def _command() -> str:
    # The command as typed, for RESULTS.md; set by the first stage before it re-runs in the venv.
    if "BENCH_COMMAND" in os.environ:
        return os.environ["BENCH_COMMAND"]
    argv = list(getattr(sys, "orig_argv", sys.argv))
    argv[0] = Path(argv[0]).name  # "python3", not the interpreter's install path
    return shlex.join(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not _inside(args.venv):
        python = _venv_python(args.venv) if args.no_install else prepare_venv(args.venv)
        if not python.exists():
            print(f"bench: {python} does not exist; run without --no-install to create it", file=sys.stderr)
            return 2
        env = dict(os.environ, BENCH_COMMAND=_command())
        script = [str(python), str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None else argv)]
        return subprocess.run(script, env=env).returncode

    sys.path.insert(0, str(BENCH))
    chosen = args.scenario or list(DEFAULT_SCENARIOS)
    scenarios = list(SCENARIOS) if "all" in chosen else [s for s in SCENARIOS if s in chosen]
    started = datetime.datetime.now(datetime.timezone.utc)
    sections: list[str] = []
    ok = True
    compiled: bool | None = None
    if args.part in ("inprocess", "all"):
        report, compiled, passed = run_inprocess(args, scenarios)
        ok &= passed
        sections += [
            f"### In-process (µs per request and ratio to raw; {args.decoys} decoys)",
            "",
            "Each framework ran in its own process, timed in interleaved rounds with the raw ASGI floor.",
            "",
            report,
        ]
    args.covet_compiled = compiled
    if args.decoy_sweep:
        report, passed = run_sweep(args)
        ok &= passed
        sections += ["", "### Decoy sweep (in-process, params only)", "", report]
    if args.part in ("server", "all"):
        report, passed = run_server(args, scenarios)
        ok &= passed
        sections += ["", "### Over a server (requests/s, p99, ratio to raw)", "", report]

    header = [f"- date: {started:%Y-%m-%d %H:%M} UTC", f"- command: `{_command()}`", *machine(compiled)]
    body = "\n".join([*header, "", *sections])
    print(body)
    if args.write:
        label = f" ({args.label})" if args.label else ""
        write_results(f"{started:%Y-%m-%d} {args.part}{' + decoy sweep' if args.decoy_sweep else ''}{label}", body)
        print(f"\nbench: wrote {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
