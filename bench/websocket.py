"""WebSocket benchmark: echo round trips per second, and server memory per idle connection.

Run from the repository root, in a venv with covet, starlette, uvicorn, hypercorn and websockets::

    python bench/websocket.py [--duration 3] [--server uvicorn --server hypercorn --server granian] [--connections 1000]

Default servers: uvicorn and hypercorn (granian with ``--server granian``). For each server and app (raw ASGI floor, Starlette, covet) one server worker is started on a free
port (pinned to CPU 0 with taskset when available; the client runs on CPU 1), then:

- ``1 conn``: one connection sends a text message and waits for the echo, for ``--duration`` s;
- ``100 conns``: 100 connections do the same at once; the figure is their total round trips/s;
- ``RSS/conn``: the server's resident memory (its process tree, from /proc) with ``--connections``
  open and idle connections, minus before opening them, divided by their number (KiB).

Ratios to the raw app are taken in the same run; absolute numbers on a shared machine are noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

BENCH = Path(__file__).resolve().parent
APPS = {"raw": "ws_apps:raw_app", "starlette": "ws_apps:starlette_app", "covet": "ws_apps:covet_app"}
FACTORIES = {"starlette"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(server: str, app: str, port: int) -> list[str]:
    target = APPS[app]
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--no-access-log", "--log-level", "warning"]
        if app in FACTORIES:
            command.append("--factory")
        return command
    if server == "hypercorn":
        return [sys.executable, "-m", "hypercorn", f"{target}()" if app in FACTORIES else target, "--bind", f"127.0.0.1:{port}"]
    if server == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port), "--log-level", "warning", target]
        if app in FACTORIES:
            command.insert(-1, "--factory")
        return command
    raise SystemExit(f"unknown server {server!r}")


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, KiB (from /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return total


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


async def round_trips(url: str, duration: float, connections: int) -> float:
    """Total echo round trips per second over ``connections`` connections."""
    counts = [0] * connections
    stop_at = 0.0

    async def one(index: int, ready: asyncio.Event) -> None:
        async with connect(url, compression=None, ping_interval=None, max_queue=None) as ws:
            await ready.wait()
            while time.monotonic() < stop_at:
                await ws.send("hello")
                await ws.recv()
                counts[index] += 1

    ready = asyncio.Event()
    tasks = [asyncio.create_task(one(index, ready)) for index in range(connections)]
    await asyncio.sleep(0.5)  # let every connection open
    start = time.monotonic()
    stop_at = start + duration
    ready.set()
    await asyncio.gather(*tasks)
    return sum(counts) / (time.monotonic() - start)


async def memory_per_connection(url: str, pid: int, connections: int) -> float:
    before = rss_kib(pid)
    sockets = []
    for start in range(0, connections, 100):
        batch = await asyncio.gather(
            *(connect(url, compression=None, ping_interval=None) for _ in range(start, min(connections, start + 100)))
        )
        sockets.extend(batch)
    for ws in sockets[:: max(1, connections // 50)]:  # every socket really works
        await ws.send("x")
        assert await ws.recv() == "x"
    await asyncio.sleep(1.0)
    after = rss_kib(pid)
    await asyncio.gather(*(ws.close() for ws in sockets))
    return (after - before) / connections


def measure(server: str, app: str, duration: float, connections: int) -> tuple[float, float, float]:
    port = free_port()
    command = server_command(server, app, port)
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        command = ["taskset", "-c", "0", *command]
        os.sched_setaffinity(0, {1})
    process = subprocess.Popen(command, cwd=BENCH, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process)
        url = f"ws://127.0.0.1:{port}/echo"
        asyncio.run(round_trips(url, 0.5, 1))  # warm up
        one = asyncio.run(round_trips(url, duration, 1))
        many = asyncio.run(round_trips(url, duration, 100))
        memory = asyncio.run(memory_per_connection(url, process.pid, connections))
        return one, many, memory
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", action="append", choices=["uvicorn", "hypercorn", "granian"])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=1000)
    args = parser.parse_args()
    servers = args.server or ["uvicorn", "hypercorn"]
    print(f"| server | app | 1 conn (round trips/s) | vs raw | 100 conns (round trips/s) | vs raw | RSS per idle connection ({args.connections}) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for server in servers:
        floor: tuple[float, float, float] | None = None
        for app in APPS:
            one, many, memory = measure(server, app, args.duration, args.connections)
            if floor is None:
                floor = (one, many, memory)
            print(
                f"| {server} | {app} | {one:,.0f} | {one / floor[0]:.2f} | {many:,.0f} | {many / floor[1]:.2f} "
                f"| {memory:.1f} KiB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
