"""Server-Timing headers: present with debug=True, with the handler's share; absent otherwise."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated

from covet import Covet, Depends
from covet.observability.server_timing import timing
from covet.testing import TestClient


def entries(header: str) -> dict[str, float]:
    found = {}
    for part in header.split(", "):
        match = re.fullmatch(r"([\w.-]+);dur=(\d+\.\d{3})", part)
        assert match, header
        found[match.group(1)] = float(match.group(2))
    return found


async def slow_dependency() -> int:
    await asyncio.sleep(0.03)
    return 1


def make_app(debug: bool) -> Covet:
    app = Covet(debug=debug)

    @app.get("/async")
    async def handler(value: Annotated[int, Depends(slow_dependency)]) -> dict:
        await asyncio.sleep(0.02)
        with timing("render"):
            await asyncio.sleep(0.005)
        return {"value": value}

    @app.get("/sync")
    def sync_handler() -> dict:
        time.sleep(0.01)
        return {}

    return app


def test_debug_responses_carry_server_timing() -> None:
    with TestClient(make_app(debug=True)) as client:
        response = client.get("/async")
        sync = client.get("/sync")
        missing = client.get("/nowhere")
    assert response.json() == {"value": 1}
    timings = entries(response.headers["server-timing"])
    assert list(timings) == ["render", "handler", "app"]
    assert 5 <= timings["render"] < timings["handler"]
    assert timings["handler"] >= 25
    # The dependency ran before the handler: in app, not in handler.
    assert timings["app"] >= timings["handler"] + 25
    assert entries(sync.headers["server-timing"])["handler"] >= 10
    assert list(entries(missing.headers["server-timing"])) == ["app"]


def test_no_server_timing_without_debug() -> None:
    with TestClient(make_app(debug=False)) as client:
        response = client.get("/async")
    assert response.status_code == 200
    assert "server-timing" not in response.headers


def test_timing_outside_debug_is_a_no_op() -> None:
    with timing("anything"):
        pass
