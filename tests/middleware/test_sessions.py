"""SessionMiddleware: signed cookies (rotation, forgery, size, Vary) and the real Redis backend."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from covet import Covet, Request
from covet.middleware import RedisSessionBackend, SessionMiddleware, SessionTooLarge
from covet.middleware._signing import b64encode
from covet.testing import TestClient

KEY = "k" * 32
OLD_KEY = "o" * 32
REDIS_URL = os.environ.get("COVET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def session_app(**options: Any) -> Covet:
    app = Covet()

    @app.get("/read")
    async def read(request: Request) -> dict[str, Any]:
        return dict(request.session)

    @app.get("/nothing")
    async def nothing() -> dict[str, Any]:
        return {}

    @app.post("/set/<key>/<value>")
    async def set_value(request: Request, key: str, value: str) -> dict[str, Any]:
        request.session[key] = value
        return dict(request.session)

    @app.post("/login")
    async def login(request: Request) -> dict[str, Any]:
        request.session.regenerate()
        request.session["user"] = "ada"
        return {}

    @app.post("/logout")
    async def logout(request: Request) -> dict[str, Any]:
        request.session.clear()
        return {}

    @app.post("/big")
    async def big(request: Request) -> dict[str, Any]:
        request.session["blob"] = "x" * 5000
        return {}

    @app.get("/sync")
    def sync_read(request: Request) -> dict[str, Any]:
        request.session["seen_by_sync"] = True
        return {"same": request.session is request.scope["session"]}

    app.add_middleware(SessionMiddleware, **{"secret_key": KEY, **options})
    return app


def test_cookie_round_trip_httponly_samesite() -> None:
    client = TestClient(session_app())
    r = client.post("/set/a/1")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Max-Age=1209600" in cookie
    assert client.get("/read").json() == {"a": "1"}


def test_secure_flag_default_on_https() -> None:
    client = TestClient(session_app(), base_url="https://shop.example")
    assert "Secure" in client.post("/set/a/1").headers["set-cookie"]


def test_no_set_cookie_when_unchanged_and_vary_cookie_when_read() -> None:
    client = TestClient(session_app())
    client.post("/set/a/1")
    r = client.get("/read")
    assert "set-cookie" not in r.headers
    assert r.headers["vary"] == "Cookie"


def test_session_cookie_cached_without_vary_is_prevented() -> None:
    # A page that read the session must say so to caches, even for a visitor without a cookie.
    r = TestClient(session_app()).get("/read")
    assert r.headers["vary"] == "Cookie"


def test_untouched_session_costs_no_headers() -> None:
    client = TestClient(session_app())
    client.post("/set/a/1")
    r = client.get("/nothing")
    assert "vary" not in r.headers and "set-cookie" not in r.headers


@pytest.mark.parametrize(
    "mangle", [lambda v: v[:-3], lambda v: v[:10], lambda v: ("y" if v[0] == "x" else "x") + v[1:], lambda v: v + "x", lambda v: ""]
)
def test_forged_or_truncated_session_cookie_is_an_empty_session(mangle: Any) -> None:
    client = TestClient(session_app())
    value = client.post("/set/user/ada").cookies["session"]
    client.cookies.clear()
    client.cookies.set("session", mangle(value))
    assert client.get("/read").json() == {}


def test_payload_from_another_key_is_refused() -> None:
    other = TestClient(session_app(secret_key="z" * 32))
    forged = other.post("/set/user/admin").cookies["session"]
    client = TestClient(session_app())
    client.cookies.set("session", forged)
    assert client.get("/read").json() == {}


def test_key_rotation_old_key_accepted_and_resigned() -> None:
    old = TestClient(session_app(secret_key=OLD_KEY))
    value = old.post("/set/a/1").cookies["session"]
    rotated = TestClient(session_app(secret_key=[KEY, OLD_KEY]))
    rotated.cookies.set("session", value)
    r = rotated.get("/read")
    assert r.json() == {"a": "1"}
    assert "set-cookie" in r.headers  # re-signed with the newest key
    new_value = r.cookies["session"]
    only_new = TestClient(session_app(secret_key=KEY))
    only_new.cookies.set("session", new_value)
    assert only_new.get("/read").json() == {"a": "1"}


def test_old_key_not_accepted_after_rotation_drops_it() -> None:
    old = TestClient(session_app(secret_key=OLD_KEY))
    value = old.post("/set/a/1").cookies["session"]
    client = TestClient(session_app(secret_key=[KEY]))
    client.cookies.set("session", value)
    assert client.get("/read").json() == {}


def test_expired_signature_is_refused() -> None:
    # The browser is told Max-Age, but the server checks the signed timestamp itself.
    signer = SessionMiddleware(Covet(), secret_key=KEY).signer
    payload = b64encode(b'{"a":"1"}')
    client = TestClient(session_app(max_age=60))
    client.cookies.set("session", signer.sign(payload, now=time.time() - 61))
    assert client.get("/read").json() == {}
    client.cookies.clear()
    client.cookies.set("session", signer.sign(payload, now=time.time() - 30))
    assert client.get("/read").json() == {"a": "1"}


def test_oversized_cookie_raises_a_clear_error() -> None:
    with pytest.raises(SessionTooLarge, match="4096 bytes"):
        TestClient(session_app()).post("/big")


def test_clear_expires_cookie() -> None:
    client = TestClient(session_app())
    client.post("/set/a/1")
    r = client.post("/logout")
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert client.get("/read").json() == {}


def test_sync_handlers_see_same_session() -> None:
    client = TestClient(session_app())
    assert client.get("/sync").json() == {"same": True}
    assert client.get("/read").json() == {"seen_by_sync": True}


def test_weak_secret_refused() -> None:
    with pytest.raises(ValueError, match="token_urlsafe"):
        SessionMiddleware(Covet(), secret_key="secret")


def test_session_without_middleware_says_what_to_add() -> None:
    app = Covet()

    @app.get("/")
    async def index(request: Request) -> Any:
        return request.session

    with pytest.raises(RuntimeError, match="SessionMiddleware"):
        TestClient(app).get("/")


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (COVET_TEST_REDIS_URL)")
    prefix = f"covet-test:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def redis_keys(prefix: str) -> dict[str, bytes]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        return {key.decode()[len(prefix) :]: client.get(key) for key in client.scan_iter(prefix + "*")}
    finally:
        client.close()


def test_redis_sessions_keep_only_an_id_in_the_cookie(redis_prefix: str) -> None:
    app = session_app(backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix))
    with TestClient(app) as client:
        r = client.post("/set/user/ada")
        assert "ada" not in r.cookies["session"]
        assert client.get("/read").json() == {"user": "ada"}
        stored = redis_keys(redis_prefix)
        assert list(stored.values()) == [b'{"user":"ada"}']
        assert list(stored)[0] in r.cookies["session"]


def test_redis_fixation_regenerate_deletes_old_id(redis_prefix: str) -> None:
    app = session_app(backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix))
    with TestClient(app) as client:
        client.post("/set/cart/1")
        (before,) = redis_keys(redis_prefix)
        planted = client.cookies["session"]
        client.post("/login")
        (after,) = redis_keys(redis_prefix)
        assert after != before
        assert client.get("/read").json() == {"cart": "1", "user": "ada"}
        # The attacker who planted the pre-login id holds nothing now.
        client.cookies.clear()
        client.cookies.set("session", planted)
        assert client.get("/read").json() == {}


def test_redis_made_up_id_is_never_adopted(redis_prefix: str) -> None:
    backend = RedisSessionBackend(REDIS_URL, prefix=redis_prefix)
    middleware = SessionMiddleware(Covet(), secret_key=KEY, backend=backend)
    app = session_app(backend=backend)
    with TestClient(app) as client:
        # Even a correctly signed id the server never issued gets a fresh id when data is stored.
        client.cookies.set("session", middleware.signer.sign("attacker-chosen-id"))
        client.post("/set/a/1")
        assert "attacker-chosen-id" not in redis_keys(redis_prefix)
        assert len(redis_keys(redis_prefix)) == 1


def test_redis_clear_deletes_server_side_data(redis_prefix: str) -> None:
    app = session_app(backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix))
    with TestClient(app) as client:
        client.post("/set/a/1")
        assert len(redis_keys(redis_prefix)) == 1
        r = client.post("/logout")
        assert "Max-Age=0" in r.headers["set-cookie"]
        assert redis_keys(redis_prefix) == {}


def test_redis_url_backend_and_expiry(redis_prefix: str) -> None:
    import redis

    app = session_app(backend=REDIS_URL, max_age=120)
    with TestClient(app) as client:
        r = client.post("/set/a/1")
        # Only this session's key: other sessions in the same Redis (other tests) are not ours.
        session_id = r.cookies["session"].rsplit(".", 2)[0]
        sync = redis.Redis.from_url(REDIS_URL)
        try:
            key = f"covet:session:{session_id}"
            assert 0 < sync.ttl(key) <= 120
            sync.delete(key)
        finally:
            sync.close()


def test_non_ascii_byte_in_a_forged_cookie_mac_is_an_empty_session_not_a_500() -> None:
    # hmac.compare_digest raises TypeError on non-ASCII str: a planted cookie made every page 500.
    app = session_app()
    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/read", headers={"cookie": "session=a.b.\xe9".encode("latin-1")})
    assert r.status_code == 200 and r.json() == {}


def test_redis_session_signed_with_an_old_key_is_re_signed(redis_prefix: str) -> None:
    old_app = session_app(backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix), secret_key=["o" * 32])
    with TestClient(old_app) as client:
        client.post("/set/user/ada")
        old_cookie = client.cookies["session"]
    rotated = session_app(
        backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix), secret_key=["n" * 32, "o" * 32]
    )
    with TestClient(rotated) as client:
        r = client.get("/read", headers={"cookie": f"session={old_cookie}"})
        assert r.json() == {"user": "ada"}
        new_cookie = r.cookies["session"]
        assert new_cookie != old_cookie
    # Once the old key is retired, the re-signed cookie still works.
    retired = session_app(backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix), secret_key=["n" * 32])
    with TestClient(retired) as client:
        assert client.get("/read", headers={"cookie": f"session={new_cookie}"}).json() == {"user": "ada"}


def test_anonymous_form_views_do_not_grow_redis_through_the_csrf_secret(redis_prefix: str) -> None:
    # Redis sessions outside CSRF: a form page for a visitor with no session used to store the
    # CSRF secret in a new 14-day session, one Redis key per anonymous page view.
    from covet.middleware import CSRFMiddleware, csrf_token

    app = Covet()

    @app.get("/form")
    async def form(request: Request) -> dict[str, Any]:
        return {"token": csrf_token(request)}

    @app.post("/form")
    async def post_form(request: Request) -> dict[str, Any]:
        return {"ok": True}

    app.add_middleware(CSRFMiddleware, secret_key="c" * 32)
    app.add_middleware(SessionMiddleware, secret_key=KEY, backend=RedisSessionBackend(REDIS_URL, prefix=redis_prefix))
    with TestClient(app) as client:
        for _ in range(20):
            client.cookies.clear()
            token = client.get("/form").json()["token"]
        assert redis_keys(redis_prefix) == {}
        # The token still works: its secret is in the signed CSRF cookie.
        assert client.post("/form", headers={"x-csrf-token": token}).json() == {"ok": True}
