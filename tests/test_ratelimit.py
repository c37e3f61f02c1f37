"""Rate limits: parsing, GCRA, the middleware, the route/blueprint option, Redis shared by processes."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx
import pytest
from server_processes import start_server

from covet import Blueprint, Covet, Depends, HTTPException
from covet import ratelimit as rl
from covet.middleware.ratelimit import RateLimitMiddleware
from covet.ratelimit import MemoryBackend, RateLimit, RedisBackend, header_key, parse_rate
from covet.security import APIKeyHeader
from covet.testing import TestClient

REDIS_URL = os.environ.get("COVET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Clock:
    """Stands in for time.monotonic in covet.ratelimit, so refill is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(rl.time, "monotonic", fake)
    return fake


@pytest.mark.parametrize(
    "text, limit, period",
    [
        ("10/minute", 10, 60),
        ("100 per hour", 100, 3600),
        ("5/10 seconds", 5, 10),
        ("1000/day", 1000, 86400),
        ("3/s", 3, 1),
        ("7/2minutes", 7, 120),
        ("2/min", 2, 60),
        ("4 per hours", 4, 3600),
    ],
)
def test_parse_rate(text: str, limit: int, period: int) -> None:
    rate = parse_rate(text)
    assert (rate.limit, rate.period) == (limit, period)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10",
        "ten/minute",
        "10/fortnight",
        "0/minute",
        "10/0 seconds",
        "1" * 50 + "/s",
        "10/minute;drop",
        "10/ms",
        "10/mins2",
    ],
)
def test_bad_rate_fails_at_registration_with_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="10/minute"):
        parse_rate(text)
    app = Covet()
    with pytest.raises(ValueError, match="10/minute"):

        @app.get("/x", rate_limit=text)
        async def x() -> str:
            return "x"


def test_middleware_allows_the_burst_then_429_with_retry_after_and_ietf_headers(clock: Clock) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    app.add_middleware(RateLimitMiddleware, limit="3/minute")
    client = TestClient(app)
    remaining = []
    for _ in range(3):
        r = client.get("/")
        assert r.status_code == 200
        assert r.headers["ratelimit-policy"] == '"default";q=3;w=60'
        remaining.append(r.headers["ratelimit"])
    assert remaining == ['"default";r=2;t=20', '"default";r=1;t=40', '"default";r=0;t=60']
    r = client.get("/")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "20"
    assert r.headers["ratelimit"] == '"default";r=0;t=60'
    assert r.json()["detail"] == "Rate limit exceeded (3/minute); retry in 20 s."
    clock.now += 19.5
    assert client.get("/").status_code == 429
    assert client.get("/").headers["retry-after"] == "1"  # an integer, rounded up
    clock.now += 0.5
    assert client.get("/").status_code == 200
    clock.now += 60
    assert client.get("/").headers["ratelimit"] == '"default";r=2;t=20'  # the full budget is back


@pytest.mark.parametrize("limit, reset", [("1/minute", 60), ("2/minute", 30), ("7/minute", 9)])
def test_float_rounding_near_a_power_of_two_never_refuses_a_fresh_client(clock: Clock, limit: str, reset: int) -> None:
    # (now + period) - period is not always now in floating point: close below a power of two
    # milliseconds, where the sum needs one bit more, the old float arithmetic refused a client's
    # very first request (and said t=31 for t=30) about every other time.
    backend = MemoryBackend()
    rate = parse_rate(limit)
    for exponent in (20, 22, 31, 40):
        for step in range(200):
            clock.now = (2**exponent - 30_000) / 1000 + step * 0.0001237
            result = anyio.run(backend.hit, f"fresh-{exponent}-{step}", rate)
            assert result.allowed, (limit, clock.now)
            assert result.reset == reset, (limit, clock.now)


def test_burst_of_exactly_limit_requests_whatever_the_interval(clock: Clock) -> None:
    # The emission interval (period / limit) is rarely a whole number of milliseconds ("3/second",
    # "7/day"): rounding it, even by a millisecond per request, refused the last request of a burst
    # and counted `remaining` one short. The arithmetic is exact, so a burst is always `limit`.
    for unit in ("second", "minute", "hour", "day"):
        for limit in range(1, 61):
            backend = MemoryBackend()
            rate = parse_rate(f"{limit}/{unit}")
            clock.now = 5000.0 + limit * 0.0001234
            results = [anyio.run(backend.hit, "k", rate) for _ in range(limit + 1)]
            assert [r.allowed for r in results] == [True] * limit + [False], rate
            assert [r.remaining for r in results] == [*range(limit - 1, -1, -1), 0], rate
            assert results[-1].retry_after == max(1, -(-rate.period // limit)), rate


def test_x_forwarded_for_from_an_untrusted_client_cannot_spoof_the_key(clock: Clock) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    app.add_middleware(RateLimitMiddleware, limit="2/minute")
    attacker = TestClient(app, client=("203.0.113.9", 4000))
    for n in range(2):
        assert (
            attacker.get(
                "/", headers={"X-Forwarded-For": f"10.0.0.{n}", "Forwarded": f"for=10.1.0.{n}"}
            ).status_code
            == 200
        )
    for n in range(5):
        r = attacker.get("/", headers={"X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": f"198.51.100.{n}"})
        assert r.status_code == 429
    # Another address (what ProxyHeadersMiddleware writes into scope["client"] for a trusted proxy) has its own budget.
    assert TestClient(app, client=("198.51.100.7", 4000)).get("/").status_code == 200


def test_ipv6_clients_count_by_their_64_network(clock: Clock) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    app.add_middleware(RateLimitMiddleware, limit="2/minute")
    hosts = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2::abcd"]
    assert [TestClient(app, client=(h, 1)).get("/").status_code for h in hosts] == [200, 200, 429]
    assert TestClient(app, client=("2001:db8:1:3::1", 1)).get("/").status_code == 200


def test_key_by_api_key_header(clock: Clock) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    app.add_middleware(RateLimitMiddleware, limit="1/minute", key=header_key("X-API-Key"))
    client = TestClient(app)
    assert client.get("/", headers={"X-API-Key": "a"}).status_code == 200
    assert client.get("/", headers={"X-API-Key": "a"}).status_code == 429
    assert client.get("/", headers={"X-API-Key": "b" * 100_000}).status_code == 200
    assert client.get("/").status_code == 200  # no key: the client address's budget
    assert client.get("/").status_code == 429


def test_async_custom_key_function(clock: Clock) -> None:
    async def user(request: Any) -> str | None:
        return request.headers.get("x-user")

    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    app.add_middleware(RateLimitMiddleware, limit="1/hour", key=user)
    client = TestClient(app)
    assert [client.get("/", headers={"x-user": u}).status_code for u in ("ann", "bob", "ann")] == [
        200,
        200,
        429,
    ]


def test_route_option_limits_that_route_only(clock: Clock) -> None:
    app = Covet()

    @app.post("/login", rate_limit="2/minute")
    async def login() -> str:
        return "token"

    @app.get("/other")
    async def other() -> str:
        return "other"

    client = TestClient(app)
    assert [client.post("/login").status_code for _ in range(3)] == [200, 200, 429]
    r = client.post("/login")
    assert r.headers["retry-after"] == "30" and r.headers["ratelimit-policy"] == '"default";q=2;w=60'
    assert client.get("/other").status_code == 200
    assert "429" in app.openapi()["paths"]["/login"]["post"]["responses"]
    assert "429" not in app.openapi()["paths"]["/other"]["get"]["responses"]


def test_failed_authentication_still_spends_the_budget(clock: Clock) -> None:
    # Brute force against a dependency-based check: the limit runs before the other dependencies.
    async def valid(key: Annotated[str, Depends(APIKeyHeader(name="X-Key"))]) -> None:
        if key != "right":
            raise HTTPException(401, "wrong key", headers={"WWW-Authenticate": "APIKey"})

    app = Covet()

    @app.get("/secret", rate_limit="3/minute", dependencies=[Depends(valid)])
    async def secret() -> str:
        return "s"

    client = TestClient(app)
    assert [client.get("/secret", headers={"X-Key": f"guess{n}"}).status_code for n in range(3)] == [
        401,
        401,
        401,
    ]
    assert client.get("/secret", headers={"X-Key": "right"}).status_code == 429


def test_blueprint_rate_limit_is_one_budget_for_its_routes(clock: Clock) -> None:
    app = Covet()
    api = Blueprint("api", url_prefix="/api", rate_limit="3/minute")

    @api.get("/a")
    async def a() -> str:
        return "a"

    @api.get("/b", rate_limit="1/minute")
    async def b() -> str:
        return "b"

    @app.get("/free")
    async def free() -> str:
        return "free"

    app.register_blueprint(api)
    client = TestClient(app)
    # /api/b's own limit refuses its second request; that request still spent the blueprint's
    # budget (each limit counts independently), which is then gone for /api/a as well.
    assert [client.get(p).status_code for p in ("/api/a", "/api/b", "/api/b", "/api/a")] == [
        200,
        200,
        429,
        429,
    ]
    assert client.get("/free").status_code == 200


def test_shared_backend_needs_a_name() -> None:
    with pytest.raises(ValueError, match="name="):
        RateLimit("1/minute", backend=REDIS_URL)
    with pytest.raises(ValueError, match="redis://"):
        RateLimit("1/minute", backend="memcached://x")


def test_memory_backend_is_bounded_under_a_flood_of_keys(clock: Clock) -> None:
    backend = MemoryBackend(max_keys=100)
    rate = parse_rate("5/minute")

    async def flood() -> None:
        for n in range(5000):
            await backend.hit(f"spoofed-{n}", rate)

    anyio.run(flood)
    assert 90 <= len(backend._tats) <= 100
    assert "spoofed-4999" in backend._tats  # the newest are kept


# --- Redis ------------------------------------------------------------------------------------------


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    _redis_or_skip()
    import redis

    prefix = f"covet-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


def test_redis_backend_is_atomic_under_concurrency(redis_prefix: str) -> None:
    async def main() -> tuple[list[bool], Any]:
        backend = RedisBackend(REDIS_URL, prefix=redis_prefix)
        rate = parse_rate("10/minute")
        results: list[bool] = []

        async def one() -> None:
            results.append((await backend.hit("k", rate)).allowed)

        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(one)
        refused = await backend.hit("k", rate)
        await backend.aclose()
        return results, refused

    results, refused = anyio.run(main)
    assert results.count(True) == 10 and results.count(False) == 30
    assert not refused.allowed and 1 <= refused.retry_after <= 6


@pytest.mark.parametrize("text", ["3/minute", "7/hour", "13/hour", "1/minute"])
def test_redis_burst_of_exactly_limit_requests(redis_prefix: str, text: str) -> None:
    # As test_burst_of_exactly_limit_requests_whatever_the_interval, through the Lua script
    # (intervals of 20 s or more: the few milliseconds the burst takes refill nothing).
    async def main() -> list[Any]:
        backend = RedisBackend(REDIS_URL, prefix=redis_prefix)
        rate = parse_rate(text)
        results = [await backend.hit("k", rate) for _ in range(rate.limit + 1)]
        await backend.aclose()
        return results

    results = anyio.run(main)
    limit = len(results) - 1
    assert [r.allowed for r in results] == [True] * limit + [False]
    assert [r.remaining for r in results] == [*range(limit - 1, -1, -1), 0]
    rate = parse_rate(text)
    assert results[0].reset == -(-rate.period // limit)
    assert 1 <= results[-1].retry_after <= -(-rate.period // limit)


def test_redis_keys_expire_when_the_budget_is_full_again(redis_prefix: str) -> None:
    import redis

    async def main() -> None:
        backend = RedisBackend(REDIS_URL, prefix=redis_prefix)
        await backend.hit("k", parse_rate("10/minute"))
        await backend.aclose()

    anyio.run(main)
    ttl = redis.Redis.from_url(REDIS_URL).pttl(redis_prefix + "k")
    # One step of 10/minute (6 s), plus the millisecond the script rounds up by (the key must not
    # expire before the arrival time's fraction of a millisecond): read in that same millisecond,
    # 6001.
    assert 0 < ttl <= 6001


def test_redis_down_fails_open_with_a_log(caplog: pytest.LogCaptureFixture) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    app.add_middleware(RateLimitMiddleware, limit="1/minute", backend="redis://127.0.0.1:1/0")
    client = TestClient(app)
    assert [client.get("/").status_code for _ in range(2)] == [200, 200]
    assert "Rate-limit backend unavailable" in caplog.text


APP_SOURCE = """
from covet import Covet
from covet.middleware.ratelimit import RateLimitMiddleware

app = Covet()

@app.get("/")
async def index() -> dict:
    return {{"pid": __import__("os").getpid()}}

app.add_middleware(RateLimitMiddleware, limit="5/minute", backend={url!r}, prefix={prefix!r})
"""


def test_two_app_processes_share_one_limit_through_redis(redis_prefix: str, tmp_path: Path) -> None:
    from test_cli import free_port, stop, wait_for_port

    (tmp_path / "limited_app.py").write_text(APP_SOURCE.format(url=REDIS_URL, prefix=redis_prefix))
    covet = Path(sys.executable).parent / "covet"
    ports = [free_port(), free_port()]
    processes = [
        start_server(
            [str(covet), "run", "limited_app.py", "--port", str(port), "--no-access-log"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes):
            wait_for_port(port, process)
        statuses: list[int] = []
        pids = set()
        with httpx.Client(timeout=10) as http:
            for n in range(8):
                r = http.get(f"http://127.0.0.1:{ports[n % 2]}/")
                statuses.append(r.status_code)
                if r.status_code == 200:
                    pids.add(r.json()["pid"])
        assert statuses == [200] * 5 + [429] * 3
        assert len(pids) == 2  # both processes served, and they counted together
        assert r.headers["ratelimit-policy"] == '"default";q=5;w=60'
    finally:
        for process in processes:
            stderr = stop(process)
            assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def test_middleware_with_redis_closes_its_connection_at_shutdown(redis_prefix: str) -> None:
    app = Covet()

    @app.get("/")
    async def index() -> str:
        return "ok"

    limited = RateLimitMiddleware(app, limit="2/minute", backend=REDIS_URL, prefix=redis_prefix)
    backend = limited.limiter.backend
    with TestClient(limited) as client:
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
        assert backend._client is not None
    assert backend._client is None


def test_route_limit_shared_through_redis_by_two_apps(redis_prefix: str) -> None:
    # Two app objects stand for two workers: the same name and Redis give one budget.
    def make() -> tuple[Covet, RateLimit]:
        limit = RateLimit("3/minute", backend=REDIS_URL, name=f"{redis_prefix}login")
        app = Covet()

        @app.post("/login", rate_limit=limit)
        async def login() -> str:
            return "ok"

        app.on_shutdown(limit.aclose)
        return app, limit

    (app1, _), (app2, _) = make(), make()
    with TestClient(app1) as one, TestClient(app2) as two:
        statuses = [c.post("/login").status_code for c in (one, two, one, two)]
    assert statuses == [200, 200, 200, 429]


def test_add_route_takes_rate_limit_too_and_none_means_no_limit(clock: Clock) -> None:
    async def handler() -> str:
        return "ok"

    app = Covet()
    bp = Blueprint("bp", url_prefix="/bp")
    app.add_route("/direct", handler, methods=["GET"], name="direct", rate_limit="1/minute")
    bp.add_route("/deferred", handler, methods=["GET"], rate_limit="1/minute")
    app.add_route("/free", handler, methods=["GET"], name="free", rate_limit=None)
    app.register_blueprint(bp)
    client = TestClient(app)
    for path in ("/direct", "/bp/deferred"):
        assert [client.get(path).status_code for _ in range(2)] == [200, 429], path
    assert [client.get("/free").status_code for _ in range(3)] == [200, 200, 200]


def test_custom_key_value_cannot_impersonate_a_client_address_key() -> None:
    # A client-controlled key ("ip:<victim>") must not spend the victim's address budget.
    from covet import Covet
    from covet.middleware import RateLimitMiddleware
    from covet.testing import TestClient

    app = Covet()
    app.add_middleware(
        RateLimitMiddleware, limit="3/minute", key=lambda request: request.headers.get("x-api-key")
    )

    @app.get("/")
    async def home() -> dict[str, str]:
        return {}

    attacker = TestClient(app, client=("198.51.100.9", 1))
    victim = TestClient(app, client=("203.0.113.5", 1))
    for _ in range(3):
        attacker.get("/", headers={"x-api-key": "ip:203.0.113.5"})
    assert victim.get("/").status_code == 200
