"""Security scheme dependencies: Basic, Bearer, API keys, OAuth2 password flow, scopes, OpenAPI."""

import base64
import hmac
from typing import Annotated, Any

import pytest

from covet import Blueprint, Covet, Depends, HTTPException
from covet.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    OAuth2PasswordRequestForm,
    Security,
    SecurityScopes,
    secrets_equal,
)
from covet.testing import TestClient

# Plain, behind a no-op before_request hook and behind a no-op middleware (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("serving_mode")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_http_basic_gives_credentials_and_401_with_basic_challenge() -> None:
    app = Covet()
    basic = HTTPBasic(realm="admin area")

    @app.get("/me")
    async def me(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> dict[str, str]:
        return {"user": credentials.username, "password": credentials.password}

    client = TestClient(app)
    assert client.get("/me", headers=_basic("alice", "pa:ss wörd")).json() == {"user": "alice", "password": "pa:ss wörd"}
    r = client.get("/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="admin area", charset="UTF-8"'


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer abc", "Basic " + "A" * 20000],
)
def test_http_basic_hostile_headers_get_401_not_500(header: str) -> None:
    app = Covet()

    @app.get("/me")
    async def me(credentials: Annotated[HTTPBasicCredentials, Depends(HTTPBasic())]) -> str:
        return credentials.username

    r = TestClient(app).get("/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")


def test_http_basic_realm_with_quote_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="realm"):
        HTTPBasic(realm='x", evil="1')


def test_basic_password_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    app = Covet()
    basic = HTTPBasic()

    @app.get("/admin")
    async def admin(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> str:
        if not secrets_equal(credentials.password, "s3cret-ü"):
            raise HTTPException(401, "Wrong password", headers={"WWW-Authenticate": basic.challenge})
        return "ok"

    client = TestClient(app)
    assert client.get("/admin", headers=_basic("root", "s3cret-ü")).text == "ok"
    assert client.get("/admin", headers=_basic("root", "s3cret-x")).status_code == 401
    assert calls == [("s3cret-ü".encode(), "s3cret-ü".encode()), (b"s3cret-x", "s3cret-ü".encode())]


def test_secrets_equal_handles_non_ascii_and_bytes() -> None:
    assert secrets_equal("ключ", "ключ")
    assert not secrets_equal("ключ", "ключи")
    assert secrets_equal(b"k", b"k")


def test_http_bearer_returns_credentials_and_401_with_bearer_challenge() -> None:
    app = Covet()

    @app.get("/t")
    async def t(creds: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]) -> dict[str, str]:
        return {"scheme": creds.scheme, "credentials": creds.credentials}

    client = TestClient(app)
    assert client.get("/t", headers={"Authorization": "Bearer abc.def"}).json() == {"scheme": "Bearer", "credentials": "abc.def"}
    assert client.get("/t", headers={"Authorization": "bearer xyz"}).json()["credentials"] == "xyz"
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "}):
        r = client.get("/t", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"


def test_auto_error_false_gives_none() -> None:
    app = Covet()
    bearer = HTTPBearer(auto_error=False)
    basic = HTTPBasic(auto_error=False)
    key = APIKeyHeader(name="X-Key", auto_error=False)
    oauth2 = OAuth2PasswordBearer(token_url="/token", auto_error=False)

    @app.get("/maybe")
    async def maybe(
        b: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        c: Annotated[HTTPBasicCredentials | None, Depends(basic)],
        k: Annotated[str | None, Depends(key)],
        o: Annotated[str | None, Depends(oauth2)],
    ) -> list[Any]:
        return [b, c, k, o]

    client = TestClient(app)
    assert client.get("/maybe").json() == [None, None, None, None]
    assert client.get("/maybe", headers={"X-Key": "k1"}).json() == [None, None, "k1", None]
    operation = app.openapi()["paths"]["/maybe"]["get"]
    assert operation["security"] == [{"HTTPBearer": [], "HTTPBasic": [], "APIKeyHeader": [], "OAuth2PasswordBearer": []}, {}]


def test_api_keys_from_header_cookie_and_query() -> None:
    app = Covet()

    @app.get("/h")
    async def h(key: Annotated[str, Depends(APIKeyHeader(name="X-API-Key"))]) -> str:
        return key

    @app.get("/c")
    async def c(key: Annotated[str, Depends(APIKeyCookie(name="api_key"))]) -> str:
        return key

    @app.get("/q")
    async def q(key: Annotated[str, Depends(APIKeyQuery(name="api_key"))]) -> str:
        return key

    client = TestClient(app)
    assert client.get("/h", headers={"x-api-key": "k1"}).text == "k1"
    assert client.get("/c", cookies={"api_key": "k2"}).text == "k2"
    assert client.get("/q", params={"api_key": "k3"}).text == "k3"
    for path in ("/h", "/c", "/q"):
        r = TestClient(app).get(path)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "APIKey"
        assert "missing API key" in r.json()["detail"]
    schemes = app.openapi()["components"]["securitySchemes"]
    assert schemes == {
        "APIKeyCookie": {"type": "apiKey", "name": "api_key", "in": "cookie"},
        "APIKeyHeader": {"type": "apiKey", "name": "X-API-Key", "in": "header"},
        "APIKeyQuery": {"type": "apiKey", "name": "api_key", "in": "query"},
    }


def test_api_key_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    app = Covet()

    async def valid_key(key: Annotated[str, Depends(APIKeyHeader(name="X-API-Key"))]) -> str:
        if not secrets_equal(key, "the-real-key"):
            raise HTTPException(401, "Invalid API key", headers={"WWW-Authenticate": "APIKey"})
        return key

    @app.get("/data", dependencies=[Depends(valid_key)])
    async def data() -> str:
        return "data"

    client = TestClient(app)
    assert client.get("/data", headers={"X-API-Key": "the-real-kex"}).status_code == 401
    assert client.get("/data", headers={"X-API-Key": "the-real-key"}).text == "data"
    assert seen == [(b"the-real-kex", b"the-real-key"), (b"the-real-key", b"the-real-key")]


# --- OAuth2 password flow and scopes ---------------------------------------------------------------

oauth2 = OAuth2PasswordBearer(token_url="/token", scopes={"me": "Read yourself", "items": "Read items"})
# A toy token format for these tests: "user:scope1,scope2".


async def current_user(security_scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> str:
    user, _, scopes = token.partition(":")
    for scope in security_scopes.scopes:
        if scope not in scopes.split(","):
            raise HTTPException(403, f"Missing scope {scope!r}", headers={"WWW-Authenticate": f'Bearer scope="{security_scopes.scope_str}"'})
    return user


async def active_user(user: Annotated[str, Security(current_user, scopes=["me"])]) -> str:
    return user


def _scoped_app() -> Covet:
    app = Covet()

    @app.post("/token")
    async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, Any]:
        if not (secrets_equal(form.username, "alice") and secrets_equal(form.password, "wonderland")):
            raise HTTPException(400, "Incorrect username or password")
        return {"access_token": f"{form.username}:{','.join(form.scopes)}", "token_type": "bearer"}

    @app.get("/users/me")
    async def me(user: Annotated[str, Depends(active_user)]) -> str:
        return user

    @app.get("/items")
    async def items(user: Annotated[str, Security(active_user, scopes=["items"])]) -> list[str]:
        return [user]

    @app.get("/public")
    async def public() -> str:
        return "hi"

    return app


def test_security_scopes_accumulate_along_the_chain() -> None:
    client = TestClient(_scoped_app())
    token = client.post("/token", data={"username": "alice", "password": "wonderland", "scope": "me items"}).json()
    assert token["token_type"] == "bearer"
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/users/me", headers=auth).text == "alice"
    assert client.get("/items", headers=auth).json() == ["alice"]
    only_me = {"Authorization": "Bearer alice:me"}
    assert client.get("/users/me", headers=only_me).text == "alice"
    r = client.get("/items", headers=only_me)
    assert r.status_code == 403
    assert r.json()["detail"] == "Missing scope 'items'"
    assert r.headers["www-authenticate"] == 'Bearer scope="items me"'
    assert client.get("/items").status_code == 401


def test_password_form_rejects_wrong_grant_type_and_missing_fields() -> None:
    client = TestClient(_scoped_app())
    r = client.post("/token", data={"username": "alice", "password": "wonderland", "grant_type": "client_credentials"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "grant_type"]
    r = client.post("/token", data={"username": "alice"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
    assert client.post("/token", data={"username": "alice", "password": "x", "grant_type": "password"}).status_code == 400


def test_openapi_documents_schemes_and_scopes() -> None:
    doc = _scoped_app().openapi()
    assert doc["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"tokenUrl": "/token", "scopes": {"me": "Read yourself", "items": "Read items"}}},
        }
    }
    assert doc["paths"]["/items"]["get"]["security"] == [{"OAuth2PasswordBearer": ["items", "me"]}]
    assert doc["paths"]["/users/me"]["get"]["security"] == [{"OAuth2PasswordBearer": ["me"]}]
    assert "security" not in doc["paths"]["/public"]["get"]
    assert set(doc["paths"]["/items"]["get"]["responses"]) >= {"200", "401", "403"}
    token_op = doc["paths"]["/token"]["post"]
    form = token_op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["username", "password"]
    assert "security" not in token_op


def test_openapi_document_with_security_is_valid() -> None:
    from openapi_spec_validator import validate

    validate(_scoped_app().openapi())


def test_a_check_with_more_scopes_is_not_skipped_by_the_cache() -> None:
    # The same dependency demanded twice in one request with different scopes must check both.
    app = Covet()

    @app.get("/admin", dependencies=[Depends(current_user)])
    async def admin(user: Annotated[str, Security(current_user, scopes=["admin"])]) -> str:
        return user

    client = TestClient(app)
    r = client.get("/admin", headers={"Authorization": "Bearer alice:me"})
    assert r.status_code == 403
    assert client.get("/admin", headers={"Authorization": "Bearer alice:admin"}).text == "alice"


def test_blueprint_dependencies_demand_scopes_on_every_route() -> None:
    app = Covet()
    admin = Blueprint("admin", url_prefix="/admin", dependencies=[Security(current_user, scopes=["admin"])])

    @admin.get("/stats")
    async def stats() -> str:
        return "stats"

    app.register_blueprint(admin)
    client = TestClient(app)
    r = client.get("/admin/stats", headers={"Authorization": "Bearer bob:me"})
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert client.get("/admin/stats", headers={"Authorization": "Bearer bob:admin"}).text == "stats"
    assert app.openapi()["paths"]["/admin/stats"]["get"]["security"] == [{"OAuth2PasswordBearer": ["admin"]}]


def test_security_marker_checks_scope_names_at_registration() -> None:
    with pytest.raises(ValueError, match="RFC 6749"):
        Security(current_user, scopes=["two words"])
    assert repr(Security(current_user, scopes=["a"])) == "Security(current_user, scopes=['a'])"


def test_two_different_schemes_with_one_name_fail_with_a_fix() -> None:
    app = Covet()

    @app.get("/a")
    async def a(k: Annotated[str, Depends(APIKeyHeader(name="X-A", scheme_name="key"))]) -> str:
        return k

    @app.get("/b")
    async def b(k: Annotated[str, Depends(APIKeyHeader(name="X-B", scheme_name="key"))]) -> str:
        return k

    with pytest.raises(ValueError, match="scheme_name="):
        app.openapi()
