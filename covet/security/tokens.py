"""JSON Web Tokens (RFC 7519) on PyJWT, behind ``covet[jwt]``, with JWKS key sets (RFC 7517).

covet adds no cryptography of its own: signing and verifying are PyJWT's. What covet adds is
the configuration that cannot be got wrong quietly:

- an explicit algorithm allow-list from one family (HMAC, RSA, ECDSA or EdDSA), so a token can
  never pick its own verification method: ``alg: none`` and RS256/HS256 key confusion (a public
  key used as an HMAC secret) are refused at construction or at decoding (RFC 8725 §2.1, §3.1);
- HMAC secrets at least as long as the hash (RFC 7518 §3.2), asymmetric keys of the right type;
- ``exp`` required by default; ``iss`` and ``aud`` compared exactly (RFC 7519 §4.1.1, §4.1.3);
- a ``crit`` header is refused, since covet understands no JWS extension (RFC 7515 §4.1.11);
- JWKS fetched in a worker thread, cached, and refetched for an unknown ``kid`` at most once per
  ``jwks_min_refresh`` seconds, so random ``kid`` values cannot flood the key server.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import anyio.to_thread

from ..exceptions import HTTPException
from ..params import SecurityScopes
from ..requests import HTTPConnection
from .base import SecurityBase, unauthorized
from .http import authorization_parts

__all__ = ["JWT", "JWTBearer", "InvalidTokenError", "JWKSError", "ALGORITHM_FAMILIES"]

#: The algorithms covet accepts, by family; one JWT object uses algorithms of one family only.
ALGORITHM_FAMILIES: dict[str, frozenset[str]] = {
    "HMAC": frozenset({"HS256", "HS384", "HS512"}),
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
    "OKP": frozenset({"EdDSA"}),
}
_HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
#: Longest token decoded (a header line is bounded by the server as well).
MAX_TOKEN_LENGTH = 16384
#: Largest JWKS document read.
MAX_JWKS_BYTES = 1024 * 1024


class InvalidTokenError(ValueError):
    """The token is malformed, forged, expired, not yet valid, or for another issuer or audience."""


class JWKSError(RuntimeError):
    """The JWKS could not be fetched or holds no usable key (a server-side problem, not the client's)."""


def _pyjwt() -> Any:
    try:
        import jwt
    except ImportError:
        raise ImportError("covet.security.JWT needs PyJWT with cryptography: pip install 'covet[jwt]'.") from None
    return jwt


def _family(algorithms: Sequence[str]) -> str:
    if isinstance(algorithms, str):
        raise TypeError(f"JWT(algorithms=...) is a list, got the string {algorithms!r}; write algorithms=[{algorithms!r}].")
    if not algorithms:
        raise ValueError("JWT(algorithms=...) needs at least one algorithm, e.g. ['HS256'] or ['RS256'].")
    families = set()
    for alg in algorithms:
        if alg.lower() == "none":
            raise ValueError("JWT(algorithms=...) may not contain 'none': unsigned tokens prove nothing (RFC 8725 §3.1).")
        found = [name for name, algs in ALGORITHM_FAMILIES.items() if alg in algs]
        if not found:
            known = sorted(set().union(*ALGORITHM_FAMILIES.values()))
            raise ValueError(f"JWT does not support the algorithm {alg!r}; choose from {known}.")
        families.add(found[0])
    if len(families) > 1:
        raise ValueError(
            f"JWT(algorithms={list(algorithms)!r}) mixes key types ({sorted(families)}); a token could then choose "
            "how it is checked (RS256/HS256 key confusion). Use algorithms of one family per JWT object."
        )
    return families.pop()


def _load_asymmetric(key: Any, family: str) -> tuple[Any, Any]:
    """``(signing_key or None, verifying_key)`` from a PEM string/bytes or a cryptography key."""
    _pyjwt()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    private: Any = None
    if isinstance(key, (str, bytes)):
        data = key.encode() if isinstance(key, str) else key
        try:
            private = serialization.load_pem_private_key(data, password=None)
            public = private.public_key()
        except (ValueError, TypeError):
            try:
                public = serialization.load_pem_public_key(data)
            except (ValueError, TypeError):
                raise ValueError(f"JWT: the {family} key is not a PEM private or public key.") from None
    elif hasattr(key, "public_key"):
        private, public = key, key.public_key()
    else:
        public = key
    types = {
        "RSA": (rsa.RSAPublicKey,),
        "EC": (ec.EllipticCurvePublicKey,),
        "OKP": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
    }[family]
    if not isinstance(public, types):
        raise ValueError(f"JWT: the algorithms are {family} but the key is a {type(public).__name__}.")
    return private, public


class JWT:
    """Sign and verify JSON Web Tokens with one fixed configuration.

    Example::

        tokens = JWT(os.environ["JWT_SECRET"], algorithms=["HS256"], issuer="https://api.example",
                     audience="api", expires_in=900)
        token = tokens.encode({"sub": "alice", "scope": "items:read"})
        claims = tokens.decode(token)      # raises InvalidTokenError

    - ``key``: the HMAC secret (str or bytes, at least 32/48/64 bytes for HS256/384/512), or a
      PEM private key (signs and verifies) or public key (verifies only) for RS*/PS*/ES*/EdDSA.
      Leave it None and give ``jwks_url`` to verify with the keys an identity provider publishes.
    - ``algorithms``: the allow-list, all of one family. The token's ``alg`` must be in it.
    - ``issuer`` / ``audience``: when given, the ``iss`` / ``aud`` claim must equal them exactly
      (an ``aud`` list must contain it); ``encode`` fills them in.
    - ``leeway``: seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
    - ``expires_in``: seconds; ``encode`` sets ``exp`` that far ahead (and always ``iat``).
    - ``require``: claims a token must carry; ``exp`` by default (tokens that never expire are
      rarely meant).
    - ``jwks_url``: an ``https://`` (or ``http://``) URL of a JWK Set; keys are cached
      ``jwks_cache_ttl`` seconds. Decode such tokens with ``await decode_async(token)``.
    """

    def __init__(
        self,
        key: Any = None,
        algorithms: Sequence[str] = ("HS256",),
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: float = 0,
        expires_in: float | None = None,
        require: Sequence[str] = ("exp",),
        jwks_url: str | None = None,
        jwks_cache_ttl: float = 300,
        jwks_min_refresh: float = 30,
        jwks_timeout: float = 5,
    ) -> None:
        self._jwt = _pyjwt()
        self.family = _family(algorithms)
        self.algorithms = list(algorithms)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.expires_in = expires_in
        self.require = list(require)
        self._signing_key: Any = None
        self._verifying_key: Any = None
        self._jwks: _JWKSCache | None = None
        if (key is None) == (jwks_url is None):
            raise TypeError("JWT needs exactly one of key=... (a secret or PEM key) and jwks_url=... .")
        if jwks_url is not None:
            if self.family == "HMAC":
                raise ValueError("JWT(jwks_url=...) verifies public-key signatures; list RS256/ES256/EdDSA algorithms.")
            self._jwks = _JWKSCache(jwks_url, self.algorithms, jwks_cache_ttl, jwks_min_refresh, jwks_timeout)
        elif self.family == "HMAC":
            secret = key.encode("utf-8") if isinstance(key, str) else key
            if not isinstance(secret, bytes):
                raise TypeError(f"JWT: an HMAC secret is str or bytes, got {type(key).__name__}.")
            if secret.lstrip().startswith((b"-----BEGIN", b"ssh-", b"ecdsa-")):
                raise ValueError("JWT: the HMAC secret looks like a public key; for RS256/ES256 keys list those algorithms.")
            shortest = max(_HMAC_MIN_BYTES[alg] for alg in self.algorithms)
            if len(secret) < shortest:
                raise ValueError(
                    f"JWT: the HMAC secret is {len(secret)} bytes; {self.algorithms} need at least {shortest} "
                    "(RFC 7518 §3.2). Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
                )
            self._signing_key = self._verifying_key = secret
        else:
            self._signing_key, self._verifying_key = _load_asymmetric(key, self.family)

    def __repr__(self) -> str:
        return f"JWT(algorithms={self.algorithms!r}, issuer={self.issuer!r}, audience={self.audience!r})"

    def encode(self, claims: Mapping[str, Any], *, expires_in: float | None = None, headers: Mapping[str, Any] | None = None) -> str:
        """A signed token holding ``claims`` plus ``iat``, and ``exp``/``iss``/``aud`` when configured.

        Signs with the first of ``algorithms``. Raises ``TypeError`` when this JWT only has a
        public key (or a JWKS URL) and so cannot sign.
        """
        if self._signing_key is None:
            raise TypeError("This JWT has no private key or secret, so it can only verify tokens; give JWT(private_pem, ...).")
        payload = dict(claims)
        now = int(time.time())
        payload.setdefault("iat", now)
        lifetime = self.expires_in if expires_in is None else expires_in
        if lifetime is not None:
            payload.setdefault("exp", now + int(lifetime))
        if self.issuer is not None:
            payload.setdefault("iss", self.issuer)
        if self.audience is not None:
            payload.setdefault("aud", self.audience)
        return str(self._jwt.encode(payload, self._signing_key, algorithm=self.algorithms[0], headers=dict(headers or {}) or None))

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; raises :class:`InvalidTokenError` saying why not."""
        if self._jwks is not None:
            raise TypeError("This JWT verifies with a JWKS URL, which may need fetching: use await jwt.decode_async(token).")
        return self._decode(token, self._verifying_key)

    async def decode_async(self, token: str) -> dict[str, Any]:
        """:meth:`decode` for any configuration, fetching JWKS keys in a worker thread when needed.

        Raises :class:`InvalidTokenError`, or :class:`JWKSError` when no key can be fetched.
        """
        if self._jwks is None:
            return self._decode(token, self._verifying_key)
        header = self._header(token)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidTokenError("The token's 'kid' header is not a string.")
        key = self._jwks.cached(kid)
        if key is None:
            key = await anyio.to_thread.run_sync(self._jwks.fetch_for, kid)
        return self._decode(token, key)

    def _header(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError(f"The token is not a string of at most {MAX_TOKEN_LENGTH} characters.")
        try:
            header: dict[str, Any] = self._jwt.get_unverified_header(token)
        except self._jwt.PyJWTError as exc:
            raise InvalidTokenError(f"Malformed token: {exc}") from None
        if "crit" in header:
            raise InvalidTokenError("The token has a 'crit' header naming extensions covet does not understand.")
        if header.get("alg") not in self.algorithms:
            raise InvalidTokenError(f"The token's algorithm {header.get('alg')!r} is not allowed.")
        return header

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        self._header(token)
        jwt = self._jwt
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": self.require, "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("The token is not valid yet.") from None
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"Invalid token: {exc}") from None
        # Belt and braces over PyJWT (which has had a substring-match bug, CVE-2024-53861).
        if self.issuer is not None and claims.get("iss") != self.issuer:
            raise InvalidTokenError("Invalid token: Invalid issuer")
        return claims


class _JWKSCache:
    """The signing keys of a JWK Set URL, fetched in worker threads and kept ``ttl`` seconds."""

    def __init__(self, url: str, algorithms: list[str], ttl: float, min_refresh: float, timeout: float) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
            raise ValueError(f"JWT(jwks_url=...) must be an https:// URL, got {url!r}.")
        self.url = url
        self.algorithms = algorithms
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.timeout = timeout
        self.keys: dict[str | None, Any] = {}
        self.fetched_at = float("-inf")
        self.fetches = 0  # how many times the URL was fetched (for tests and metrics)
        self._lock = threading.Lock()

    def cached(self, kid: str | None) -> Any:
        if time.monotonic() - self.fetched_at > self.ttl:
            return None
        return self._pick(kid, missing_ok=True)

    def _pick(self, kid: str | None, missing_ok: bool = False) -> Any:
        if kid is None:
            if len(self.keys) == 1:
                return next(iter(self.keys.values()))
            if missing_ok:
                return None
            raise InvalidTokenError("The token has no 'kid' header, and the JWKS holds several keys.")
        key = self.keys.get(kid)
        if key is None and not missing_ok:
            raise InvalidTokenError(f"No key with kid {kid[:64]!r} in the JWKS.")
        return key

    def fetch_for(self, kid: str | None) -> Any:
        """(In a worker thread.) The key for ``kid``, fetching the set when stale or kid unknown."""
        with self._lock:
            age = time.monotonic() - self.fetched_at
            if age > self.ttl or (self._pick(kid, missing_ok=True) is None and age > self.min_refresh):
                self._fetch(stale_ok=bool(self.keys))
            return self._pick(kid)

    def _fetch(self, stale_ok: bool) -> None:
        jwt = _pyjwt()
        self.fetches += 1
        try:
            request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked
                data = response.read(MAX_JWKS_BYTES + 1)
            if len(data) > MAX_JWKS_BYTES:
                raise JWKSError(f"The JWKS at {self.url} is larger than {MAX_JWKS_BYTES} bytes.")
            keyset = jwt.PyJWKSet.from_dict(json.loads(data))
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            if stale_ok:
                # Keep serving with the keys we have; try again after min_refresh.
                self.fetched_at = time.monotonic() - self.ttl + self.min_refresh
                return
            raise JWKSError(f"Cannot fetch the JWKS at {self.url}: {exc}") from None
        keys: dict[str | None, Any] = {}
        for jwk in keyset.keys:
            if jwk.algorithm_name in self.algorithms and getattr(jwk, "public_key_use", None) in (None, "sig"):
                keys[jwk.key_id] = jwk
        if not keys:
            raise JWKSError(f"The JWKS at {self.url} holds no signing key for {self.algorithms}.")
        self.keys = keys
        self.fetched_at = time.monotonic()


def _quoted(text: str) -> str:
    # A quoted-string of WWW-Authenticate (RFC 9110 §5.6.4) without the characters needing escapes.
    return "".join(ch for ch in text if ch.isprintable() and ch not in '"\\')[:200]


class JWTBearer(SecurityBase):
    """A dependency that verifies the bearer JWT and gives its claims (a dict).

    Example::

        tokens = JWT(SECRET, algorithms=["HS256"], expires_in=900)
        bearer = JWTBearer(tokens, token_url="/token", scopes={"items:write": "Change items"})

        @app.post("/items", dependencies=[Security(bearer, scopes=["items:write"])])
        async def create(...): ...

    - no ``Authorization: Bearer`` token: ``401`` ``WWW-Authenticate: Bearer`` (None with
      ``auto_error=False``);
    - an invalid token (any :class:`InvalidTokenError`): ``401`` with ``error="invalid_token"``
      and the reason in ``error_description`` (RFC 6750 §3.1), also with ``auto_error=False``;
    - a valid token lacking a scope demanded through ``Security(..., scopes=[...])``: ``403`` naming
      the missing scope, ``error="insufficient_scope"``. Granted scopes are read from the ``scope``
      claim (space-separated, RFC 8693 §4.2) or a ``scopes`` list;
    - JWKS unavailable: ``503``.

    With ``token_url`` OpenAPI documents OAuth2's password flow (the docs page can log in);
    without, an HTTP bearer scheme with ``bearerFormat: JWT``.
    """

    def __init__(
        self,
        jwt: JWT,
        *,
        token_url: str | None = None,
        scopes: dict[str, str] | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        if not isinstance(jwt, JWT):
            raise TypeError(f"JWTBearer takes a covet.security.JWT, got {jwt!r}.")
        self.jwt = jwt
        model: dict[str, Any]
        if token_url is not None:
            model = {"type": "oauth2", "flows": {"password": {"tokenUrl": token_url, "scopes": dict(scopes or {})}}}
        else:
            model = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        self._init_base(model, scheme_name, description, auto_error)

    async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> dict[str, Any] | None:
        parts = authorization_parts(request)
        scope_part = f', scope="{security_scopes.scope_str}"' if security_scopes.scopes else ""
        if parts is None or parts[0].lower() != "bearer":
            if self.auto_error:
                raise unauthorized("Bearer" + (f" {scope_part[2:]}" if scope_part else ""))
            return None
        try:
            claims = await self.jwt.decode_async(parts[1])
        except InvalidTokenError as exc:
            challenge = f'Bearer error="invalid_token", error_description="{_quoted(str(exc))}"{scope_part}'
            raise unauthorized(challenge, str(exc)) from None
        except JWKSError:
            raise HTTPException(503, "The token signing keys are unavailable; try again later.") from None
        if security_scopes.scopes:
            granted = claims.get("scope")
            granted_set = set(granted.split()) if isinstance(granted, str) else set()
            listed = claims.get("scopes")
            if isinstance(listed, list):
                granted_set.update(item for item in listed if isinstance(item, str))
            missing = [item for item in security_scopes.scopes if item not in granted_set]
            if missing:
                raise HTTPException(
                    403,
                    f"Not enough permissions: the token lacks the scope{'s' if len(missing) > 1 else ''} "
                    + ", ".join(repr(item) for item in missing),
                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope"{scope_part}'},
                )
        return claims
