"""Over-the-wire benchmark: each app under one server worker, loaded by wrk over loopback.

For every server (uvicorn with httptools, hypercorn) and every framework, the app is started in
a server process pinned to one CPU, its answers are checked over HTTP with the same checks as
the in-process run (a wrong answer is not loaded), and then wrk, pinned to another CPU, drives
each scenario for a fixed time with 64 connections. The numbers are requests per second, the
99th percentile latency wrk reports with ``--latency``, and requests per second as a ratio to
the raw ASGI app served by the same server in the same run.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from apps import FRAMEWORKS
from report import FLOOR, table
from scenarios import CHECKS, SCENARIOS, Answer, Scenario, last_decoy_check, problems

__all__ = [
    "SERVERS",
    "ServerRun",
    "load_tool_problems",
    "run_servers",
    "server_label",
    "server_problems",
    "server_report",
    "server_targets",
]

BENCH = Path(__file__).resolve().parent
SERVERS = ("uvicorn", "hypercorn", "granian")
COVET_PURE = "covet-pure"
STARTUP_TIMEOUT = 120.0  # seconds; an app with 10,000 decoys can take a while to build
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class ServerRun:
    """One framework under one server: its check results and, per scenario, wrk's figures."""

    server: str
    framework: str
    error: str | None = None
    wrong: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rps: dict[str, float] = field(default_factory=dict)
    p99_ms: dict[str, float] = field(default_factory=dict)
    #: raw's requests/s, loaded right before this framework on each scenario: the ratio's floor.
    floor_rps: dict[str, float] = field(default_factory=dict)


def load_tool_problems(server_cpu: int, load_cpu: int) -> list[str]:
    """What stops the over-server run here: a missing wrk, taskset or CPU; empty when all is there."""
    found = []
    if shutil.which("wrk") is None:
        found.append("wrk is not installed (Debian: apt-get install -y wrk)")
    if shutil.which("taskset") is None:
        found.append("taskset is not installed (Debian: apt-get install -y util-linux)")
    available = os.sched_getaffinity(0)
    for cpu in (server_cpu, load_cpu):
        if cpu not in available:
            found.append(f"CPU {cpu} is not available to this process (have {sorted(available)})")
    if server_cpu == load_cpu:
        found.append("the server and wrk need separate CPUs; give --server-cpu and --load-cpu")
    return found


def _uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def server_command(server: str, module: str, port: int) -> list[str]:
    """The command that serves ``module:app`` with one worker of ``server`` on ``port``."""
    if server == "uvicorn":
        loop = "uvloop" if _uvloop_available() else "asyncio"
        return [
            sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(BENCH),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--http", "httptools", "--loop", loop, "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    if server == "hypercorn":
        return [
            sys.executable, "-m", "hypercorn", f"{module}:app",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning",
        ]  # fmt: skip
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-access-log", "--log-level", "warning", "--working-dir", str(BENCH),
            f"{module}:app",
        ]  # fmt: skip
    raise ValueError(f"unknown server {server!r}; choose from {SERVERS}")


def server_label(server: str) -> str:
    """How the report names the server's configuration."""
    if server == "uvicorn":
        return f"uvicorn (httptools, {'uvloop' if _uvloop_available() else 'asyncio'} loop, 1 worker)"
    if server == "granian":
        return "granian (ASGI interface, auto loop, 1 worker)"
    return "hypercorn (asyncio worker, 1 worker)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> str | None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"the server exited with status {process.returncode} before listening"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return None
        except OSError:
            time.sleep(0.1)
    return f"the server did not listen on port {port} within {STARTUP_TIMEOUT:g} s"


def ask_http(port: int, scenario: Scenario) -> Answer:
    """Send the scenario's request over HTTP/1.1 and gather the answer for the shared checks."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        target = scenario.path + (f"?{scenario.query}" if scenario.query else "")
        headers = {"Content-Type": "application/json"} if scenario.body is not None else {}
        connection.request(scenario.method, target, body=scenario.body, headers=headers)
        response = connection.getresponse()
        body = response.read()
        pairs = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.getheaders()]
        return Answer(response.status, pairs, body)
    finally:
        connection.close()


def parse_wrk(output: str) -> tuple[float, float, list[str]]:
    """Requests per second, p99 latency in ms and any errors wrk reported."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rps is None or p99 is None:
        raise ValueError(f"cannot read requests/s and p99 from wrk's output: {output!r}")
    errors = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Non-2xx or 3xx responses", "Socket errors"))
    ]
    return float(rps.group(1)), float(p99.group(1)) * _UNIT[p99.group(2)], errors


def run_wrk(port: int, scenario: Scenario, duration: int, connections: int, load_cpu: int) -> str:
    """Drive ``scenario`` for ``duration`` whole seconds (wrk takes no fractions) and return its report."""
    url = f"http://127.0.0.1:{port}{scenario.path}" + (f"?{scenario.query}" if scenario.query else "")
    command = ["taskset", "-c", str(load_cpu), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    env = dict(os.environ)
    if scenario.body is not None:
        command += ["-s", str(BENCH / "wrk.lua")]
        env.update(WRK_METHOD=scenario.method, WRK_BODY=scenario.body.decode(), WRK_CONTENT_TYPE="application/json")
    result = subprocess.run([*command, url], capture_output=True, text=True, env=env, timeout=duration + 60)
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip() or "nothing").splitlines()[0]
        raise RuntimeError(f"wrk {' '.join(command[3:])} exited with {result.returncode}: {said}")
    return result.stdout


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr.decode(errors="replace")


class _Served:
    """One app under one server process, pinned to the server CPU, with its answers checked."""

    def __init__(self, server: str, framework: str, scenarios: Sequence[Scenario], decoys: int, cpu: int) -> None:
        self.run = ServerRun(server, framework)
        self.port = _free_port()
        module = FRAMEWORKS["covet" if framework == COVET_PURE else framework]
        env = dict(os.environ, BENCH_DECOYS=str(decoys), PYTHONPATH=str(BENCH))
        env.pop("COVET_NO_EXTENSIONS", None)
        if framework == COVET_PURE:
            env["COVET_NO_EXTENSIONS"] = "1"
        command = ["taskset", "-c", str(cpu), *server_command(server, module, self.port)]
        self.process = subprocess.Popen(command, cwd=BENCH, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.run.error = _wait_for_port(self.port, self.process)
        if self.run.error is None:
            self._check(scenarios, decoys)

    def _check(self, scenarios: Sequence[Scenario], decoys: int) -> None:
        for scenario in (*scenarios, *CHECKS, last_decoy_check(decoys)):
            try:
                found = list(problems(scenario, ask_http(self.port, scenario)))
            except Exception as exc:
                found = [f"raised {type(exc).__name__}: {exc}"]
            if found and scenario in scenarios:
                self.run.wrong[scenario.name] = found
            elif found:
                self.run.warnings.append(f"{scenario.name} check {scenario.target} failed: " + "; ".join(found))

    def ready_for(self, scenario: Scenario) -> bool:
        return self.run.error is None and scenario.name not in self.run.wrong

    def load(self, scenario: Scenario, duration: int, warmup: int, connections: int, cpu: int) -> tuple[float, float] | None:
        """wrk's requests/s and p99 for ``scenario``, or None (recorded as wrong) if loading failed."""
        try:
            if warmup > 0:
                run_wrk(self.port, scenario, warmup, connections, cpu)
            rps, p99, errors = parse_wrk(run_wrk(self.port, scenario, duration, connections, cpu))
        except Exception as exc:
            self.run.wrong[scenario.name] = [f"load failed: {type(exc).__name__}: {exc}"]
            return None
        if any(e.startswith("Non-2xx") for e in errors):
            self.run.wrong[scenario.name] = [f"under load: {'; '.join(errors)}"]
            return None
        self.run.warnings += [f"{scenario.name} under load: {e}" for e in errors]
        return rps, p99

    def stop(self) -> None:
        stderr = _stop(self.process)
        if "Traceback" in stderr:
            self.run.warnings.append("the server logged a traceback: " + stderr.strip().splitlines()[-1])


def run_servers(
    servers: Sequence[str],
    frameworks: Sequence[str],
    scenario_names: Sequence[str],
    *,
    decoys: int = 100,
    duration: int = 5,
    warmup: int = 1,
    connections: int = 64,
    server_cpu: int = 0,
    load_cpu: int = 1,
    progress: bool = True,
) -> list[ServerRun]:
    """Every framework under every server, each scenario loaded right after raw's, in pairs.

    The raw app's server stays up for the whole server pass, and raw is loaded again immediately
    before every framework on every scenario, so each ratio compares two loads seconds apart. A
    noisy neighbour that comes and goes over the minutes a pass takes then shifts both sides of a
    ratio instead of one. raw's own row shows the median of its loads.
    """
    scenarios = [s for s in SCENARIOS if s.name in scenario_names]
    runs: list[ServerRun] = []
    for server in servers:
        first = len(runs)  # where raw's row goes, once its loads are all in
        if progress:
            print(f"  {server}: {FLOOR} ...", file=sys.stderr, flush=True)
        floor = _Served(server, FLOOR, scenarios, decoys, server_cpu)
        loads: dict[str, list[tuple[float, float]]] = {s.name: [] for s in scenarios}
        try:
            for framework in (f for f in frameworks if f != FLOOR):
                if progress:
                    print(f"  {server}: {framework} (paired with {FLOOR}) ...", file=sys.stderr, flush=True)
                served = _Served(server, framework, scenarios, decoys, server_cpu)
                try:
                    for scenario in scenarios:
                        if not (floor.ready_for(scenario) and served.ready_for(scenario)):
                            continue
                        base = floor.load(scenario, duration, warmup, connections, load_cpu)
                        mine = served.load(scenario, duration, warmup, connections, load_cpu)
                        if base is None or mine is None:
                            continue
                        loads[scenario.name].append(base)
                        served.run.floor_rps[scenario.name] = base[0]
                        served.run.rps[scenario.name], served.run.p99_ms[scenario.name] = mine
                finally:
                    served.stop()
                runs.append(served.run)
        finally:
            floor.stop()
        for name, measured in loads.items():
            if measured:
                floor.run.rps[name] = statistics.median(rps for rps, _ in measured)
                floor.run.p99_ms[name] = statistics.median(p99 for _, p99 in measured)
                floor.run.floor_rps[name] = floor.run.rps[name]
        runs.insert(first, floor.run)
    return runs


def server_report(runs: Sequence[ServerRun], scenario_names: Sequence[str], labels: dict[str, str]) -> str:
    """Per server: requests/s with the ratio to raw, and p99 latency, one row per framework."""
    out: list[str] = []
    for server in dict.fromkeys(run.server for run in runs):
        mine = [run for run in runs if run.server == server and run.error is None]
        rps_rows: list[list[str]] = []
        p99_rows: list[list[str]] = []
        for run in mine:
            rps_cells, ratios, p99_cells = [], [], []
            for name in scenario_names:
                rps = run.rps.get(name)
                base = run.floor_rps.get(name)
                if rps is None:
                    rps_cells.append("WRONG" if name in run.wrong else "n/a")
                    p99_cells.append("WRONG" if name in run.wrong else "n/a")
                    continue
                ratio = rps / base if base else None
                if ratio is not None:
                    ratios.append(ratio)
                rps_cells.append(f"{rps:,.0f} ({ratio:.2f}x)" if ratio is not None else f"{rps:,.0f}")
                p99_cells.append(f"{run.p99_ms[name]:.2f}")
            geo = statistics.geometric_mean(ratios) if len(ratios) == len(scenario_names) else None
            rps_rows.append([run.framework, *rps_cells, f"{geo:.2f}x" if geo is not None else "n/a"])
            p99_rows.append([run.framework, *p99_cells])
        out += [
            f"{labels.get(server, server)}: requests/s (ratio to raw loaded just before, same server; higher is better)",
            "",
            table(["framework", *scenario_names, "geo-mean ratio"], rps_rows),
            "",
            f"{labels.get(server, server)}: p99 latency in ms (lower is better)",
            "",
            table(["framework", *scenario_names], p99_rows),
            "",
        ]
    return "\n".join(out).rstrip()


# The performance issue's over-server target: covet at least this share of raw's requests/s.
SERVER_TARGET = 0.9


def server_targets(runs: Sequence[ServerRun], scenario_names: Sequence[str]) -> list[str]:
    """covet's requests/s as a share of raw's on plaintext and JSON under uvicorn, against 0.9x."""
    lines = []
    for run in runs:
        if run.server != "uvicorn" or not run.framework.startswith("covet"):
            continue
        for name in ("plaintext", "json"):
            if name not in scenario_names:
                continue
            rps, base = run.rps.get(name), run.floor_rps.get(name)
            if rps is None or not base:
                lines.append(f"- {run.framework} {name} under uvicorn: n/a")
                continue
            verdict = "meets" if rps / base >= SERVER_TARGET else "misses"
            lines.append(
                f"- {run.framework} {name} under uvicorn: {rps / base:.2f}x of raw, {verdict} the target of "
                f"at least {SERVER_TARGET:.1f}x"
            )
    return ["", "targets:", *lines] if lines else []


def server_problems(runs: Sequence[ServerRun]) -> list[str]:
    """Every failure to start, wrong answer and failed check, one per line."""
    issues: list[str] = []
    for run in runs:
        label = f"{run.server}/{run.framework}"
        if run.error is not None:
            issues.append(f"{label}: {run.error}")
        for scenario, found in run.wrong.items():
            issues += [f"{label} {scenario}: WRONG, {p}" for p in found]
        issues += [f"{label}: {w}" for w in run.warnings]
    return issues
