"""Rate limits: the limit syntax, the GCRA token bucket, in-memory and Redis backends, the dependency.

One algorithm everywhere: GCRA (the generic cell rate algorithm), a token bucket kept as a single
number per client, the "theoretical arrival time". ``"10/minute"`` allows a burst of 10 and then
one request every 6 seconds; a client that waits a minute has its 10 back. One number per key
makes the Redis backend a single atomic Lua script and keeps the in-memory backend small.

Responses follow the IETF httpapi draft "RateLimit header fields for HTTP"
(draft-ietf-httpapi-ratelimit-headers-09): ``RateLimit-Policy: "default";q=10;w=60`` and
``RateLimit: "default";r=3;t=42``; a refused request is ``429`` with ``Retry-After`` in whole
seconds (RFC 9110 §10.2.3, RFC 6585 §4).

The default key is the client address from the ASGI scope (``scope["client"]``), which
``ProxyHeadersMiddleware`` rewrites only for requests from trusted proxies: an
``X-Forwarded-For`` sent by anyone else never changes whose budget a request spends.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .exceptions import HTTPException
from .requests import Request

__all__ = [
    "Rate",
    "RateLimitResult",
    "MemoryBackend",
    "RedisBackend",
    "RateLimit",
    "parse_rate",
    "make_backend",
    "client_key",
    "header_key",
    "rate_limit_headers",
]

logger = logging.getLogger("covet.ratelimit")

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_UNIT_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day"}
_RATE_RE = re.compile(r"\s*(\d{1,9})\s*(?:/|per)\s*(\d{1,6})?\s*([a-z]{1,8})\s*", re.IGNORECASE)


def _unit(word: str) -> str | None:
    """``"minutes"``, ``"minute"``, ``"min"`` and ``"m"`` → ``"minute"``; None for anything else."""
    word = word.lower()
    if word in _UNIT_ALIASES:
        return _UNIT_ALIASES[word]
    if word in _UNITS:
        return word
    if word.endswith("s") and word[:-1] in _UNITS:
        return word[:-1]
    return None


class Rate:
    """A parsed limit: ``limit`` requests per ``period`` seconds (``parse_rate("10/minute")``)."""

    __slots__ = ("limit", "period", "text")

    def __init__(self, limit: int, period: int, text: str = "") -> None:
        self.limit = limit
        self.period = period
        self.text = text or f"{limit}/{period}s"

    def __repr__(self) -> str:
        return f"Rate({self.text!r})"


def parse_rate(text: str | Rate) -> Rate:
    """``"10/minute"``, ``"100 per hour"``, ``"5/10 seconds"``, ``"1000/day"`` as a :class:`Rate`.

    Raises ``ValueError`` saying how to write it, at startup, for anything else.
    """
    if isinstance(text, Rate):
        return text
    match = _RATE_RE.fullmatch(text) if isinstance(text, str) else None
    unit = _unit(match[3]) if match else None
    if match is None or unit is None or int(match[1]) < 1 or (match[2] is not None and int(match[2]) < 1):
        raise ValueError(
            f"Cannot read the rate limit {text!r}; write '<count>/<unit>' such as '10/minute', '100/hour', "
            "'5/10 seconds' or '1000/day' (units: second, minute, hour, day)."
        )
    count = int(match[2]) if match[2] else 1
    return Rate(int(match[1]), count * _UNITS[str(unit)], text.strip())


class RateLimitResult:
    """One request's outcome: ``allowed``, ``remaining`` (requests), ``reset`` and ``retry_after`` (whole seconds).

    ``reset`` is when the whole quota is back; ``retry_after`` (0 when allowed) when the next
    request will be.
    """

    __slots__ = ("allowed", "limit", "remaining", "reset", "retry_after")

    def __init__(self, allowed: bool, limit: int, remaining: int, reset: int, retry_after: int) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"RateLimitResult(allowed={self.allowed}, remaining={self.remaining}, retry_after={self.retry_after})"


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _gcra(tat: int | None, now_ms: int, rate: Rate) -> tuple[bool, int, RateLimitResult]:
    """GCRA step: (allowed, new theoretical arrival time, result), exactly. Same rules as the Lua
    script below.

    Times count in units of 1/limit millisecond, in which the emission interval (period/limit)
    is a whole number: nothing is rounded, so a burst of exactly ``limit`` requests is allowed
    whatever the limit and the clock. Float milliseconds refused a fresh client's very first
    request near a power of two milliseconds; whole milliseconds with the time rounded up refused
    the last request of a burst when the interval was not whole ("3/second").
    """
    limit = rate.limit
    period = rate.period * 1000  # ms; also the interval in these units
    window = period * limit  # the period in these units
    second = 1000 * limit
    now = now_ms * limit
    if tat is None or tat < now:
        tat = now
    new_tat = tat + period
    allow_at = new_tat - window
    if now < allow_at:
        remaining = max(0, (window - (tat - now)) // period)
        return False, tat, RateLimitResult(False, limit, remaining, _ceil_div(tat - now, second), max(1, _ceil_div(allow_at - now, second)))
    remaining = max(0, (window - (new_tat - now)) // period)
    return True, new_tat, RateLimitResult(True, limit, remaining, _ceil_div(new_tat - now, second), 0)


class MemoryBackend:
    """Limits kept in this process (the default): right for one worker, wrong for several.

    Memory is bounded: at most ``max_keys`` clients are tracked; past that the least recently
    seen are forgotten (first those whose budget is full again, which lose nothing). A flood of
    spoofed keys therefore costs a fixed amount of memory, at worst giving forgotten clients a
    fresh budget.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError(f"MemoryBackend(max_keys=...) must be at least 1, got {max_keys!r}.")
        self.max_keys = max_keys
        # key -> (theoretical arrival time in 1/limit ms, limit): see _gcra.
        self._tats: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, rate: Rate) -> RateLimitResult:
        """Spend one request of ``key``'s budget under ``rate``."""
        now = int(time.monotonic() * 1000)
        tats = self._tats
        stored = tats.pop(key, None)
        tat = None
        if stored is not None:
            # Another rate's units (the same key under two limits) are converted, rounding up.
            tat = stored[0] if stored[1] == rate.limit else _ceil_div(stored[0] * rate.limit, stored[1])
        allowed, tat, result = _gcra(tat, now, rate)
        tats[key] = (tat, rate.limit)  # re-inserted last: the dict's order is least recently seen first
        if len(tats) > self.max_keys:
            self._evict(now)
        return result

    def _evict(self, now: int) -> None:
        # Down to 90% in one pass, so a flood of new keys pays for a scan once per tenth of
        # max_keys insertions, not on every request.
        tats = self._tats
        expired = [key for key, (tat, limit) in tats.items() if tat <= now * limit]
        for key in expired:
            del tats[key]
        target = self.max_keys - self.max_keys // 10
        while len(tats) > target:
            del tats[next(iter(tats))]

    async def aclose(self) -> None:
        self._tats.clear()


# KEYS[1]: the client's key. ARGV: period (ms), limit. Time is the Redis server's, so every worker
# and machine uses one clock. The theoretical arrival time is kept exactly, as "ms:rem" (whole
# milliseconds, plus rem/limit of one), as _gcra keeps it in 1/limit ms: Lua numbers are doubles,
# and milliseconds since 1970 times the limit would not stay exact in one. A plain number (what
# an earlier version stored) reads as whole milliseconds. Returns {allowed, remaining, ahead,
# wait}: how far the arrival time is ahead of now and, when refused, how long until the next
# request is allowed, both in 1/limit ms.
_GCRA_LUA = """
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local step = math.floor(period / limit)
local step_rem = period % limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat, tat_rem = now, 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local ms, rem = string.match(stored, '^(%d+):?(%d*)$')
  ms = tonumber(ms)
  if ms and ms >= now then
    tat, tat_rem = ms, tonumber(rem) or 0
  end
end
local new_tat = tat + step
local new_rem = tat_rem + step_rem
if new_rem >= limit then
  new_tat = new_tat + 1
  new_rem = new_rem - limit
end
local allow_at = new_tat - period
local ahead = (tat - now) * limit + tat_rem
if now < allow_at or (now == allow_at and new_rem > 0) then
  local remaining = math.floor((period * limit - ahead) / period)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, ahead, (allow_at - now) * limit + new_rem}
end
redis.call('SET', KEYS[1], string.format('%d:%d', new_tat, new_rem), 'PX', math.max(1, new_tat - now + 1))
local new_ahead = (new_tat - now) * limit + new_rem
local remaining = math.floor((period * limit - new_ahead) / period)
if remaining < 0 then remaining = 0 end
return {1, remaining, new_ahead, 0}
"""


class RedisBackend:
    """Limits kept in Redis, shared by every worker and machine using the same ``url`` and ``prefix``.

    Each request is one atomic ``EVALSHA`` of a GCRA script; keys expire by themselves when a
    client's budget is full again. Needs ``covet[redis]``. Close with ``await backend.aclose()``
    (``RateLimitMiddleware`` does at shutdown).
    """

    def __init__(self, url: str, *, prefix: str = "covet:ratelimit:") -> None:
        try:
            import redis.asyncio  # noqa: F401 - checked here so a missing extra fails at startup
        except ImportError:
            raise ImportError("A redis:// rate-limit backend needs redis-py: pip install 'covet[redis]'.") from None
        self.url = url
        self.prefix = prefix
        self._client: Any = None
        self._script: Any = None
        self._loop: Any = None

    def _connection(self) -> Any:
        import asyncio

        import redis.asyncio

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            # redis-py's pool belongs to one event loop (tests run several, one after another).
            self._client = redis.asyncio.Redis.from_url(self.url)
            self._script = self._client.register_script(_GCRA_LUA)
            self._loop = loop
        return self._script

    async def hit(self, key: str, rate: Rate) -> RateLimitResult:
        script = self._connection()
        allowed, remaining, ahead, wait = await script(keys=[self.prefix + key], args=[rate.period * 1000, rate.limit])
        second = 1000 * rate.limit  # the script's times are in 1/limit ms
        return RateLimitResult(
            bool(allowed), rate.limit, int(remaining), _ceil_div(int(ahead), second), max(1, _ceil_div(int(wait), second)) if not allowed else 0
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


Backend = MemoryBackend | RedisBackend


def make_backend(backend: Any) -> Any:
    """``None`` → a new :class:`MemoryBackend`; ``"redis://..."`` → :class:`RedisBackend`; an object with ``hit`` as is."""
    if backend is None:
        return MemoryBackend()
    if isinstance(backend, str):
        if backend.startswith(("redis://", "rediss://", "unix://")):
            return RedisBackend(backend)
        raise ValueError(f"Rate-limit backend {backend!r} is not a redis:// URL; give None (in memory) or 'redis://host:6379/0'.")
    if not callable(getattr(backend, "hit", None)):
        raise TypeError(f"A rate-limit backend is None, a redis:// URL or an object with async hit(key, rate); got {backend!r}.")
    return backend


# --- keys ------------------------------------------------------------------------------------------

KeyFunc = Callable[[Request], "str | None | Awaitable[str | None]"]


def client_key(request: Request) -> str:
    """The client's address from the ASGI scope (proxy-aware only through ProxyHeadersMiddleware).

    An IPv6 address counts by its /64 network: one subscriber usually holds a whole /64 and
    could otherwise take a fresh address, and a fresh budget, for every request.
    """
    client = request.scope.get("client")
    if not client:
        return "ip:unknown"
    host = client[0]
    if ":" in host:
        return _ipv6_key(host)
    return f"ip:{host}"


@functools.lru_cache(maxsize=4096)
def _ipv6_key(host: str) -> str:
    try:
        return f"ip6:{ipaddress.IPv6Network((host.split('%', 1)[0], 64), strict=False).network_address}"
    except ValueError:
        return f"ip:{host[:64]}"


def header_key(name: str) -> Callable[[Request], str | None]:
    """A key function reading a header (an API key, a tenant id); None (client address) when absent.

    Example: ``RateLimitMiddleware(app, limit="1000/hour", key=header_key("X-API-Key"))``. The
    value is hashed, so keys of any length cost the same memory.
    """
    lowered = name.lower()

    def key(request: Request) -> str | None:
        value = request.headers.get(lowered)
        return f"h:{lowered}:{_digest(value)}" if value else None

    return key


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def rate_limit_headers(result: RateLimitResult, policy: str, rate: Rate) -> list[tuple[bytes, bytes]]:
    """The ``RateLimit-Policy`` and ``RateLimit`` fields (and ``Retry-After`` when refused), as raw headers."""
    headers = [
        (b"ratelimit-policy", f'"{policy}";q={rate.limit};w={rate.period}'.encode()),
        (b"ratelimit", f'"{policy}";r={result.remaining};t={result.reset}'.encode()),
    ]
    if not result.allowed:
        headers.append((b"retry-after", str(result.retry_after).encode()))
    return headers


class Limiter:
    """A rate, a backend and a key function together; shared by the middleware and the dependency."""

    def __init__(self, limit: str | Rate, *, key: KeyFunc | None = None, backend: Any = None, policy: str = "default") -> None:
        self.rate = parse_rate(limit)
        self.backend = make_backend(backend)
        if key is not None and not callable(key):
            raise TypeError(f"key= is a function of the request returning a str (or None), got {key!r}.")
        self.key = key
        self._key_is_async = key is not None and inspect.iscoroutinefunction(key)
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", policy):
            raise ValueError(f"A rate-limit policy name is 1-64 letters, digits or _.:-, got {policy!r}.")
        self.policy = policy

    async def key_of(self, request: Request) -> str:
        """The budget ``request`` spends: the key function's answer, else the client address."""
        if self.key is None:
            return client_key(request)
        value: Any = self.key(request)
        if self._key_is_async:
            value = await value
        if value is None:
            return client_key(request)
        value = str(value)
        # Prefixed, so a value a client controls (an API key header) can never equal a built-in
        # key ("ip:...", "d:...") and spend someone else's budget.
        return "k:" + value if len(value) <= 128 else "d:" + _digest(value)

    async def hit(self, request: Request, scope_name: str) -> RateLimitResult:
        """Spend one request; a backend that fails (Redis down) lets the request through, logged.

        Failing open keeps the site up during a Redis outage; the log says limits are off.
        """
        key = f"{scope_name}|{await self.key_of(request)}"
        try:
            result: RateLimitResult = await self.backend.hit(key, self.rate)
        except (OSError, ConnectionError) as exc:
            return self._backend_down(exc)
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):
                return self._backend_down(exc)
            raise
        return result

    def _backend_down(self, exc: BaseException) -> RateLimitResult:
        logger.warning("Rate-limit backend unavailable, request let through: %s", exc)
        return RateLimitResult(True, self.rate.limit, self.rate.limit, 0, 0)


def too_many_requests(result: RateLimitResult, limiter: Limiter) -> HTTPException:
    headers = {name.decode(): value.decode() for name, value in rate_limit_headers(result, limiter.policy, limiter.rate)}
    return HTTPException(429, f"Rate limit exceeded ({limiter.rate.text}); retry in {result.retry_after} s.", headers=headers)


class RateLimit:
    """A per-route rate limit as a dependency: ``dependencies=[Depends(RateLimit("10/minute"))]``.

    The option ``rate_limit="10/minute"`` on a route, or on a ``Blueprint`` (one budget for all
    its routes), makes one of these. Over the limit it raises ``429`` with ``Retry-After`` and the
    ``RateLimit`` / ``RateLimit-Policy`` headers (successful responses carry no such headers; use
    :class:`~covet.middleware.ratelimit.RateLimitMiddleware` for that).

    - ``key``: ``None`` (client address), :func:`header_key`, or a function (sync or async) of the
      request returning a str; None from it falls back to the address.
    - ``backend``: ``None`` (in this process), ``"redis://..."`` (shared by every worker), or a
      backend object. A shared backend needs ``name=``: the budget's name in Redis, the same in
      every process, different for each limit.
    """

    def __init__(self, limit: str | Rate, *, key: KeyFunc | None = None, backend: Any = None, name: str | None = None) -> None:
        self.limiter = Limiter(limit, key=key, backend=backend)
        if name is None and not isinstance(self.limiter.backend, MemoryBackend):
            raise ValueError(
                f"RateLimit({self.limiter.rate.text!r}) with a shared backend needs name='...': the key its budget "
                "has in the backend, the same in every worker and different for each limit (e.g. name='login')."
            )
        self.name = name or "route"

    def __repr__(self) -> str:
        return f"RateLimit({self.limiter.rate.text!r})"

    async def __call__(self, request: Request) -> RateLimitResult:
        result = await self.limiter.hit(request, self.name)
        if not result.allowed:
            raise too_many_requests(result, self.limiter)
        return result

    async def aclose(self) -> None:
        """Close the backend's connections (a Redis backend); call it at shutdown."""
        await self.limiter.backend.aclose()


def as_dependency(option: Any) -> Any:
    """The ``Depends`` for a ``rate_limit=`` option: a limit string or a :class:`RateLimit`."""
    from .params import Depends

    limit = option if isinstance(option, RateLimit) else RateLimit(option)
    # Cached like any dependency: one limit object spends one request per request, even when a
    # blueprint and its route both name it.
    return Depends(limit)
