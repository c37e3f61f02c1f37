"""/healthz and /readyz against a real PostgreSQL and Redis, up and down (down: a closed port)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

import pytest

from covet import Covet
from covet.testing import TestClient

POSTGRES_URL = os.environ.get("COVET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COVET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_check(url: str) -> Any:
    asyncpg = pytest.importorskip("asyncpg")

    async def postgres() -> None:
        connection = await asyncpg.connect(url, timeout=5)
        try:
            assert await connection.fetchval("SELECT 1") == 1
        finally:
            await connection.close()

    return postgres


def redis_check(url: str) -> Any:
    redis = pytest.importorskip("redis.asyncio")

    async def redis_ping() -> bool:
        client = redis.from_url(url, socket_connect_timeout=5)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()

    return redis_ping


@pytest.fixture(scope="module")
def services() -> None:
    async def probe() -> None:
        await postgres_check(POSTGRES_URL)()
        assert await redis_check(REDIS_URL)()

    try:
        asyncio.run(probe())
    except OSError as exc:
        pytest.skip(f"PostgreSQL or Redis is not reachable ({exc}); start them (see .ci/run)")


def health_app(postgres_url: str, redis_url: str, **options: Any) -> Covet:
    app = Covet()
    app.add_health_checks(ready=[postgres_check(postgres_url), redis_check(redis_url)], **options)
    return app


def test_all_up(services: None) -> None:
    with TestClient(health_app(POSTGRES_URL, REDIS_URL)) as client:
        ready = client.get("/readyz")
        live = client.get("/healthz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {"postgres": "ok", "redis_ping": "ok"}
    assert ready.headers["cache-control"] == "no-store"
    assert live.status_code == 200 and live.json() == {"status": "ok", "checks": {}}


def test_postgres_down_names_the_failing_check(services: None) -> None:
    down = f"postgresql://postgres@127.0.0.1:{closed_port()}/test"
    with TestClient(health_app(down, REDIS_URL)) as client:
        ready = client.get("/readyz")
        live = client.get("/healthz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "fail"
    assert body["checks"]["postgres"]["status"] == "fail"
    assert body["checks"]["postgres"]["error"] == "ConnectionRefusedError"
    assert body["checks"]["redis_ping"]["status"] == "ok"
    # A dependency's outage does not make the process look dead.
    assert live.status_code == 200


def test_redis_down_names_the_failing_check(services: None) -> None:
    down = f"redis://127.0.0.1:{closed_port()}/0"
    with TestClient(health_app(POSTGRES_URL, down)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["postgres"]["status"] == "ok"
    assert checks["redis_ping"] == {"status": "fail", "error": "ConnectionError", "duration_ms": checks["redis_ping"]["duration_ms"]}


def test_error_messages_stay_private_unless_debugging(services: None) -> None:
    down = f"postgresql://postgres:hunter2@127.0.0.1:{closed_port()}/test"
    app = health_app(down, REDIS_URL)
    with TestClient(app) as client:
        assert "hunter2" not in client.get("/readyz").text
    app.debug = True
    with TestClient(app) as client:
        assert "ConnectionRefusedError: " in client.get("/readyz").json()["checks"]["postgres"]["error"]


def test_hanging_check_times_out_without_holding_the_others() -> None:
    async def stuck() -> None:
        await asyncio.sleep(60)

    def stuck_in_thread() -> None:
        time.sleep(1.5)

    app = Covet()
    app.add_health_checks(ready={"stuck": stuck, "thread": stuck_in_thread, "fine": lambda: True}, timeout=0.2)
    with TestClient(app) as client:
        started = time.monotonic()
        ready = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["stuck"]["error"] == "timed out after 0.2 s"
    assert checks["thread"]["error"] == "timed out after 0.2 s"
    assert checks["fine"]["status"] == "ok"
    assert elapsed < 1.2


def test_false_result_fails_and_liveness_checks_run() -> None:
    app = Covet()
    app.add_health_checks(live=lambda: False, ready={"sync": lambda: None}, live_path="/live", ready_path="/ready")
    with TestClient(app) as client:
        live = client.get("/live")
        assert client.get("/ready").status_code == 200
        assert client.head("/ready").status_code == 200
    assert live.status_code == 503
    assert live.json()["checks"]["<lambda>"]["error"] == "returned False"
    assert "/live" not in app.openapi()["paths"]


def test_misuse_is_refused_at_setup() -> None:
    app = Covet()
    with pytest.raises(TypeError, match="callables"):
        app.add_health_checks(ready=["postgres"])
    with pytest.raises(ValueError, match="named"):
        app.add_health_checks(ready=[lambda: 1, lambda: 2])
    with pytest.raises(ValueError, match="seconds"):
        app.add_health_checks(timeout=0)


def test_probe_flood_on_a_hung_sync_check_holds_one_thread() -> None:
    # A sync ping stuck on a dead connection cannot be stopped: each probe starting a thread of
    # its own would grow the process without bound. Later probes wait for the run in progress.
    import threading

    release = threading.Event()
    runs = []

    def database() -> None:
        runs.append(1)
        release.wait(30)

    app = Covet()
    app.add_health_checks(ready={"database": database}, timeout=0.05)
    with TestClient(app) as client:
        before = threading.active_count()
        for _ in range(100):
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["database"]["error"] == "timed out after 0.05 s"
        assert threading.active_count() <= before + 1
        assert len(runs) == 1
        release.set()
        # Once the hung run ends, the next probe runs the check again.
        deadline = time.monotonic() + 5
        while len(runs) < 2 and time.monotonic() < deadline:
            assert client.get("/readyz").status_code == 200 or time.sleep(0.05) is None
        assert len(runs) == 2


def test_concurrent_probes_share_one_run_of_a_sync_check() -> None:
    import threading

    calls = []
    gate = threading.Event()

    def cache() -> bool:
        calls.append(1)
        gate.wait(5)
        return True

    app = Covet()
    app.add_health_checks(ready={"cache": cache}, timeout=5)

    async def two_probes() -> list[int]:
        from covet.testing import AsyncTestClient

        async with AsyncTestClient(app) as client:
            first = asyncio.ensure_future(client.get("/readyz"))
            second = asyncio.ensure_future(client.get("/readyz"))
            await asyncio.sleep(0.2)
            gate.set()
            return [(await first).status_code, (await second).status_code]

    assert asyncio.run(two_probes()) == [200, 200]
    assert len(calls) == 1


def test_check_raising_cancelled_error_itself_is_a_failed_check_not_a_500() -> None:
    # A driver's own future cancelled inside the check: no cancellation of the request.
    async def cache() -> None:
        raise asyncio.CancelledError()

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no text")

    async def queue() -> None:
        raise Unprintable()

    app = Covet(debug=True)
    app.add_health_checks(ready={"cache": cache, "queue": queue})
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["status"] == "fail" and checks["cache"]["error"].startswith("CancelledError")
    assert checks["queue"]["error"].endswith("Unprintable: <message could not be read>")


def test_probe_given_up_before_a_thread_took_its_check_does_not_wedge_the_check() -> None:
    # The thread pool full past the probe's timeout (a burst of slow sync handlers): that probe's
    # run never starts. Later probes must run the check again, not wait on a run that never was.
    import anyio
    import anyio.to_thread

    from covet.testing import AsyncTestClient

    runs: list[int] = []

    def database() -> bool:
        runs.append(1)
        return True

    app = Covet()
    app.add_health_checks(ready={"database": database}, timeout=0.1)

    @app.get("/busy")
    async def busy() -> dict:
        limiter = anyio.to_thread.current_default_thread_limiter()
        borrowers = [object() for _ in range(int(limiter.total_tokens))]
        for borrower in borrowers:
            await limiter.acquire_on_behalf_of(borrower)
        await anyio.sleep(0.5)
        for borrower in borrowers:
            limiter.release_on_behalf_of(borrower)
        return {}

    async def probes() -> list[int]:
        async with AsyncTestClient(app) as client:
            occupied = asyncio.ensure_future(client.get("/busy"))
            await asyncio.sleep(0.05)
            starved = (await client.get("/readyz")).status_code
            await occupied
            return [starved] + [(await client.get("/readyz")).status_code for _ in range(3)]

    assert asyncio.run(probes()) == [503, 200, 200, 200]
    assert len(runs) == 3


def test_sync_check_returning_an_awaitable_shared_by_concurrent_probes() -> None:
    # lambda: ping() is a sync callable returning a coroutine: awaited once, its result shared.
    from covet.testing import AsyncTestClient

    async def ping() -> bool:
        await asyncio.sleep(0.05)
        return True

    app = Covet()
    app.add_health_checks(ready={"db": lambda: ping()}, timeout=2)

    async def probes() -> list[int]:
        async with AsyncTestClient(app) as client:
            responses = await asyncio.gather(*(client.get("/readyz") for _ in range(5)))
        return [response.status_code for response in responses]

    assert asyncio.run(probes()) == [200] * 5
