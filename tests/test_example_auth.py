"""examples/auth.py end to end: register, log in with the password form, call scoped endpoints."""

import importlib.util
import itertools
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from covet.testing import TestClient

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "auth.py"
_counter = itertools.count()


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = f"_covet_example_auth_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(example: ModuleType) -> Iterator[TestClient]:
    with TestClient(example.app) as c:
        yield c


def _login(client: TestClient, scope: str = "", password: str = "correct horse") -> dict[str, str]:
    r = client.post("/token", data={"username": "alice", "password": password, "scope": scope})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_register_login_and_read_yourself(client: TestClient) -> None:
    r = client.post("/register", json={"username": "alice", "password": "correct horse"})
    assert r.status_code == 201
    assert r.json() == {"username": "alice", "scopes": ["me", "items:read"]}
    token = client.post("/token", data={"username": "alice", "password": "correct horse"}).json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 900
    r = client.get("/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.json() == {"username": "alice", "scopes": ["me"]}


def test_register_refuses_taken_names_and_weak_passwords(client: TestClient) -> None:
    assert (
        client.post("/register", json={"username": "alice", "password": "correct horse"}).status_code == 201
    )
    assert client.post("/register", json={"username": "alice", "password": "another one"}).status_code == 409
    r = client.post("/register", json={"username": "bob", "password": "short"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "password"]


def test_stored_password_is_a_hash(client: TestClient, example: ModuleType) -> None:
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    stored = example.accounts["alice"].password_hash
    assert "correct horse" not in stored and stored.startswith("$argon2id$")


def test_wrong_password_and_unknown_user_get_the_same_400(client: TestClient) -> None:
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    wrong = client.post("/token", data={"username": "alice", "password": "wrong horse"})
    unknown = client.post("/token", data={"username": "mallory", "password": "wrong horse"})
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json() == {"detail": "Incorrect username or password"}


def test_scopes_are_granted_only_if_the_account_holds_them(client: TestClient, example: ModuleType) -> None:
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    headers = _login(client, "me items:read items:write")
    assert client.get("/items", headers=headers).json() == [{"name": "pen"}, {"name": "paper"}]
    r = client.post("/items", json={"name": "ink"}, headers=headers)
    assert r.status_code == 403
    assert "'items:write'" in r.json()["detail"]
    example.grant("alice", "items:write")
    headers = _login(client, "items:write")
    assert client.post("/items", json={"name": "ink"}, headers=headers).status_code == 201
    # That token was not given "me" (not requested), so /users/me refuses it.
    assert client.get("/users/me", headers=headers).status_code == 403


def test_missing_forged_and_expired_tokens_get_401(client: TestClient, example: ModuleType) -> None:
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    assert client.get("/users/me").status_code == 401
    assert client.get("/users/me", headers={"Authorization": "Bearer not.a.token"}).status_code == 401
    expired = example.tokens.encode({"sub": "alice", "scope": "me"}, expires_in=-60)
    r = client.get("/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.headers["www-authenticate"]
    del example.accounts["alice"]
    fresh = example.tokens.encode({"sub": "alice", "scope": "me"})
    assert client.get("/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_login_is_rate_limited(client: TestClient) -> None:
    statuses = [client.post("/token", data={"username": "x", "password": "y"}).status_code for _ in range(11)]
    assert statuses == [400] * 10 + [429]


def test_openapi_shows_the_password_flow_and_scopes(example: ModuleType) -> None:
    from openapi_spec_validator import validate

    doc = example.app.openapi()
    validate(doc)
    flow = doc["components"]["securitySchemes"]["JWTBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/token" and set(flow["scopes"]) == {"me", "items:read", "items:write"}
    assert doc["paths"]["/items"]["post"]["security"] == [{"JWTBearer": ["items:write"]}]
    assert "security" not in doc["paths"]["/token"]["post"]


def test_generated_client_accepts_the_document_without_warnings(example: ModuleType, tmp_path: Path) -> None:
    import subprocess

    import msgspec

    source = tmp_path / "openapi.json"
    source.write_bytes(msgspec.json.encode(example.app.openapi()))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(source),
            "--output-path",
            str(tmp_path / "client"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output and "will not be generated" not in output, (
        output
    )


# -- the server-rendered site: session-cookie login -------------------------------------------------


def _csrf_field(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def test_session_login_page_logs_in_and_out(client: TestClient) -> None:
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    assert client.get("/account", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/login")
    token = _csrf_field(page.text)
    before = client.cookies.get("session")
    r = client.post(
        "/login",
        data={"username": "alice", "password": "correct horse", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # A new session at login: whatever id the browser held before is not the one logged in.
    assert client.cookies.get("session") != before
    account = client.get("/account")
    assert "Logged in as alice." in account.text
    out = client.post("/logout", data={"csrf_token": _csrf_field(account.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_session_login_with_a_wrong_password_shows_the_form_again(client: TestClient) -> None:
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    token = _csrf_field(client.get("/login").text)
    r = client.post("/login", data={"username": "alice", "password": "wrong one!", "csrf_token": token})
    assert r.status_code == 400 and "Incorrect username or password." in r.text
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_cross_site_login_post_is_refused_by_csrf(client: TestClient) -> None:
    # Login CSRF: another site posting the form (no token, foreign Origin) to log the victim in.
    client.post("/register", json={"username": "alice", "password": "correct horse"})
    r = client.post(
        "/login",
        data={"username": "alice", "password": "correct horse"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    no_token = client.post(
        "/login", data={"username": "alice", "password": "correct horse"}, follow_redirects=False
    )
    assert no_token.status_code == 403
    assert client.get("/account", follow_redirects=False).status_code == 303
