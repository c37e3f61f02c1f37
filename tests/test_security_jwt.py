"""JWT on PyJWT: every hostile token the issue lists, the bearer dependency, JWKS over real HTTP."""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from covet import Covet, Depends
from covet.security import JWT, InvalidTokenError, JWKSError, JWTBearer, Security
from covet.testing import TestClient

SECRET = "s" * 32 + "-test-secret-only"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(signature)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_public(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _pem_private(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _hs256(claims: dict[str, Any]) -> str:
    """A correctly signed HS256 token with any claims (PyJWT refuses to encode some hostile ones)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(hmac.new(SECRET.encode(), head.encode(), hashlib.sha256).digest())


def test_round_trip_fills_iat_exp_iss_aud() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"], issuer="https://id.example", audience="api", expires_in=60)
    claims = tokens.decode(tokens.encode({"sub": "alice"}))
    assert claims["sub"] == "alice" and claims["iss"] == "https://id.example" and claims["aud"] == "api"
    assert claims["exp"] - claims["iat"] == 60


def test_alg_none_token_is_rejected() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"])
    forged = _unsigned({"alg": "none", "typ": "JWT"}, {"sub": "admin", "exp": int(time.time()) + 60})
    with pytest.raises(InvalidTokenError, match="algorithm 'none' is not allowed"):
        tokens.decode(forged)
    for spelling in ("None", "NONE", "nOnE"):
        with pytest.raises(InvalidTokenError):
            tokens.decode(_unsigned({"alg": spelling}, {"sub": "admin", "exp": int(time.time()) + 60}))


def test_alg_none_cannot_be_allowed() -> None:
    with pytest.raises(ValueError, match="none"):
        JWT(SECRET, algorithms=["none"])


def test_rs_hs_key_confusion_is_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    public_pem = _pem_public(rsa_key)
    verifier = JWT(public_pem, algorithms=["RS256"])
    # The attack: sign with HS256 using the server's public key as the HMAC secret.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"sub": "admin", "exp": int(time.time()) + 60}).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidTokenError, match="'HS256' is not allowed"):
        verifier.decode(f"{header}.{payload}.{_b64(signature)}")
    # And the configurations that would allow it are refused up front.
    with pytest.raises(ValueError, match="key confusion"):
        JWT(public_pem, algorithms=["RS256", "HS256"])
    with pytest.raises(ValueError, match="looks like a public key"):
        JWT(public_pem, algorithms=["HS256"])


def test_expired_token_is_rejected_and_leeway_applies() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"])
    expired = tokens.encode({"sub": "a", "exp": int(time.time()) - 30})
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.decode(expired)
    assert JWT(SECRET, algorithms=["HS256"], leeway=60).decode(expired)["sub"] == "a"


def test_not_yet_valid_token_is_rejected() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"], expires_in=600)
    with pytest.raises(InvalidTokenError, match="not valid yet"):
        tokens.decode(tokens.encode({"sub": "a", "nbf": int(time.time()) + 300}))
    with pytest.raises(InvalidTokenError, match="not valid yet"):
        tokens.decode(tokens.encode({"sub": "a", "iat": int(time.time()) + 300}))


def test_token_without_exp_is_rejected_by_default() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"])
    with pytest.raises(InvalidTokenError, match="exp"):
        tokens.decode(tokens.encode({"sub": "a"}))
    assert JWT(SECRET, algorithms=["HS256"], require=()).decode(tokens.encode({"sub": "a"}))["sub"] == "a"


@pytest.mark.parametrize("iss", ["https://id.example.evil", "https://id.exampl", "id.example", "https://ID.example", "", ["https://id.example"]])
def test_iss_substring_prefix_or_case_variant_is_rejected(iss: Any) -> None:
    signer = JWT(SECRET, algorithms=["HS256"], expires_in=60)
    verifier = JWT(SECRET, algorithms=["HS256"], issuer="https://id.example")
    with pytest.raises(InvalidTokenError, match="(?i)iss"):
        verifier.decode(_hs256({"sub": "a", "iss": iss, "exp": int(time.time()) + 60}))
    assert verifier.decode(_hs256({"sub": "a", "iss": "https://id.example", "exp": int(time.time()) + 60}))["sub"] == "a"
    with pytest.raises(InvalidTokenError, match="iss"):
        verifier.decode(signer.encode({"sub": "a"}))


def test_wrong_aud_is_rejected_and_a_list_must_contain_it() -> None:
    signer = JWT(SECRET, algorithms=["HS256"], expires_in=60)
    verifier = JWT(SECRET, algorithms=["HS256"], audience="api")
    for aud in ("other", "api2", "ap", ["other", "api-x"]):
        with pytest.raises(InvalidTokenError, match="(?i)audience"):
            verifier.decode(signer.encode({"sub": "a", "aud": aud}))
    assert verifier.decode(signer.encode({"sub": "a", "aud": ["other", "api"]}))["sub"] == "a"
    # A token meant for some audience is not accepted by a service that names none.
    with pytest.raises(InvalidTokenError):
        signer.decode(signer.encode({"sub": "a", "aud": "api"}))


def test_unknown_crit_header_is_rejected() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"], expires_in=60)
    token = pyjwt.encode({"sub": "a", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256", headers={"crit": ["exp-ext"], "exp-ext": 1})
    with pytest.raises(InvalidTokenError, match="crit"):
        tokens.decode(token)


def test_tampered_payload_and_signature_are_rejected() -> None:
    tokens = JWT(SECRET, algorithms=["HS256"], expires_in=60)
    head, payload, sig = tokens.encode({"sub": "alice"}).split(".")
    evil = _b64(json.dumps({"sub": "admin", "exp": int(time.time()) + 60}).encode())
    with pytest.raises(InvalidTokenError, match="Signature"):
        tokens.decode(f"{head}.{evil}.{sig}")
    with pytest.raises(InvalidTokenError):
        tokens.decode(f"{head}.{payload}.{sig[:-2]}AA")
    other = JWT("o" * 40, algorithms=["HS256"], expires_in=60)
    with pytest.raises(InvalidTokenError):
        tokens.decode(other.encode({"sub": "alice"}))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "...", "x" * 20000, "eyJhbGciOiJIUzI1NiJ9." + "A" * 5000 + ".sig"])
def test_garbage_tokens_raise_invalid_token(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        JWT(SECRET, algorithms=["HS256"]).decode(token)


def test_weak_hmac_secret_and_mixed_configuration_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        JWT("short", algorithms=["HS256"])
    with pytest.raises(ValueError, match="at least 64"):
        JWT("x" * 40, algorithms=["HS512"])
    with pytest.raises(ValueError, match="does not support"):
        JWT(SECRET, algorithms=["HS1"])
    with pytest.raises(TypeError, match="list"):
        JWT(SECRET, algorithms="HS256")
    with pytest.raises(TypeError, match="exactly one"):
        JWT(algorithms=["RS256"])


@pytest.mark.parametrize("make, alg", [(lambda: ec.generate_private_key(ec.SECP256R1()), "ES256"), (ed25519.Ed25519PrivateKey.generate, "EdDSA")])
def test_asymmetric_round_trip_and_public_key_only_verifies(make: Any, alg: str) -> None:
    key = make()
    signer = JWT(_pem_private(key), algorithms=[alg], expires_in=60)
    token = signer.encode({"sub": "a"})
    verifier = JWT(_pem_public(key), algorithms=[alg])
    assert verifier.decode(token)["sub"] == "a"
    with pytest.raises(TypeError, match="only verify"):
        verifier.encode({"sub": "a"})


def test_key_of_the_wrong_type_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="ES256|EC"):
        JWT(_pem_public(rsa_key), algorithms=["ES256"])


# --- the bearer dependency ---------------------------------------------------------------------------

tokens = JWT(SECRET, algorithms=["HS256"], expires_in=300)
bearer = JWTBearer(tokens, token_url="/token", scopes={"items:read": "Read", "items:write": "Write"})


def _app() -> Covet:
    app = Covet()

    @app.get("/me")
    async def me(claims: Annotated[dict[str, Any], Depends(bearer)]) -> str:
        return str(claims["sub"])

    @app.post("/items", dependencies=[Security(bearer, scopes=["items:read", "items:write"])])
    async def create() -> str:
        return "created"

    return app


def test_bearer_yields_claims_and_401s_name_the_problem() -> None:
    client = TestClient(_app())
    assert client.get("/me", headers={"Authorization": f"Bearer {tokens.encode({'sub': 'alice'})}"}).text == "alice"
    r = client.get("/me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.get("/me", headers={"Authorization": f"Bearer {tokens.encode({'sub': 'a', 'exp': 1})}"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="The token has expired."'
    r = client.get("/me", headers={"Authorization": "Bearer " + _unsigned({"alg": "none"}, {"sub": "x"})})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_missing_scope_is_403_naming_the_scope() -> None:
    client = TestClient(_app())
    reader = tokens.encode({"sub": "alice", "scope": "items:read"})
    r = client.post("/items", headers={"Authorization": f"Bearer {reader}"})
    assert r.status_code == 403
    assert r.json()["detail"] == "Not enough permissions: the token lacks the scope 'items:write'"
    assert r.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="items:read items:write"'
    # "items:write" as a substring of another scope does not count.
    sneaky = tokens.encode({"sub": "a", "scope": "items:read items:write-all"})
    assert client.post("/items", headers={"Authorization": f"Bearer {sneaky}"}).status_code == 403
    writer = tokens.encode({"sub": "alice", "scopes": ["items:read", "items:write"]})
    assert client.post("/items", headers={"Authorization": f"Bearer {writer}"}).text == "created"
    r = client.post("/items")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer scope="items:read items:write"'


def test_bearer_openapi_uses_password_flow_with_scopes() -> None:
    doc = _app().openapi()
    assert doc["components"]["securitySchemes"]["JWTBearer"]["flows"]["password"]["tokenUrl"] == "/token"
    assert doc["paths"]["/items"]["post"]["security"] == [{"JWTBearer": ["items:read", "items:write"]}]
    plain = JWTBearer(tokens, scheme_name="jwt")
    assert plain.model == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


# --- JWKS over a real local HTTP server ---------------------------------------------------------------


class _JWKSServer:
    def __init__(self) -> None:
        self.body = b"{}"
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, keys: dict[str, Any]) -> None:
        jwks = []
        for kid, key in keys.items():
            jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            jwks.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        self.body = json.dumps({"keys": jwks}).encode()


@pytest.fixture
def jwks_server() -> Iterator[_JWKSServer]:
    server = _JWKSServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _signed(key: Any, kid: str, claims: dict[str, Any] | None = None) -> str:
    return pyjwt.encode({"sub": "alice", "exp": int(time.time()) + 60, **(claims or {})}, key, algorithm="RS256", headers={"kid": kid})


def test_jwks_keys_are_fetched_once_and_cached(jwks_server: _JWKSServer, rsa_key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish({"k1": rsa_key, "k2": other})
    verifier = JWT(jwks_url=jwks_server.url, algorithms=["RS256"])
    app = Covet()
    jwks_bearer = JWTBearer(verifier)

    @app.get("/me")
    async def me(claims: Annotated[dict[str, Any], Depends(jwks_bearer)]) -> str:
        return str(claims["sub"])

    client = TestClient(app)
    for kid, key in (("k1", rsa_key), ("k2", other), ("k1", rsa_key)):
        assert client.get("/me", headers={"Authorization": f"Bearer {_signed(key, kid)}"}).text == "alice"
    assert jwks_server.hits == 1
    # A token signed with k2's key but claiming kid k1 fails.
    assert client.get("/me", headers={"Authorization": f"Bearer {_signed(other, 'k1')}"}).status_code == 401
    with pytest.raises(TypeError, match="decode_async"):
        verifier.decode(_signed(rsa_key, "k1"))


def test_unknown_kid_refetches_at_most_once_per_min_refresh(jwks_server: _JWKSServer, rsa_key: rsa.RSAPrivateKey) -> None:
    import anyio

    jwks_server.publish({"k1": rsa_key})
    verifier = JWT(jwks_url=jwks_server.url, algorithms=["RS256"], jwks_min_refresh=60)
    assert anyio.run(verifier.decode_async, _signed(rsa_key, "k1"))["sub"] == "alice"
    for n in range(20):  # an attacker's random kids
        with pytest.raises(InvalidTokenError, match="No key"):
            anyio.run(verifier.decode_async, _signed(rsa_key, f"random-{n}"))
    assert jwks_server.hits == 1


def test_rotated_key_is_picked_up(jwks_server: _JWKSServer, rsa_key: rsa.RSAPrivateKey) -> None:
    import anyio

    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish({"k1": rsa_key})
    verifier = JWT(jwks_url=jwks_server.url, algorithms=["RS256"], jwks_min_refresh=0)
    assert anyio.run(verifier.decode_async, _signed(rsa_key, "k1"))["sub"] == "alice"
    jwks_server.publish({"k1": rsa_key, "k2": new})
    assert anyio.run(verifier.decode_async, _signed(new, "k2"))["sub"] == "alice"
    assert jwks_server.hits == 2


def test_unreachable_jwks_is_503_not_401(jwks_server: _JWKSServer) -> None:
    url = jwks_server.url
    jwks_server.server.shutdown()
    jwks_server.server.server_close()
    verifier = JWT(jwks_url=url, algorithms=["RS256"], jwks_timeout=2)
    app = Covet()

    @app.get("/me")
    async def me(claims: Annotated[dict[str, Any], Depends(JWTBearer(verifier))]) -> str:
        return "never"

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = TestClient(app).get("/me", headers={"Authorization": f"Bearer {_signed(key, 'k1')}"})
    assert r.status_code == 503
    import anyio

    with pytest.raises(JWKSError, match="Cannot fetch"):
        anyio.run(verifier.decode_async, _signed(key, "k1"))


def test_jwks_url_must_be_http_or_https() -> None:
    with pytest.raises(ValueError, match="https"):
        JWT(jwks_url="file:///etc/passwd", algorithms=["RS256"])
    with pytest.raises(ValueError, match="public-key"):
        JWT(jwks_url="https://id.example/jwks", algorithms=["HS256"])
