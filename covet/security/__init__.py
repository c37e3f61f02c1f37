"""Authentication and authorization: scheme dependencies, scopes, JWT, password hashing.

Every scheme here is a dependency (use it with ``Depends`` or ``Security``) and documents itself
in OpenAPI (``components.securitySchemes`` and each operation's ``security``). See
docs/authentication.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..params import Security, SecurityScopes
from .api_key import APIKeyCookie, APIKeyHeader, APIKeyQuery
from .base import SecurityBase, secrets_equal
from .http import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from .oauth2 import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from .passwords import hash_password, hash_password_sync, needs_rehash, verify_password, verify_password_sync

if TYPE_CHECKING:
    from .tokens import JWT, InvalidTokenError, JWKSError, JWTBearer

__all__ = [
    "APIKeyCookie",
    "APIKeyHeader",
    "APIKeyQuery",
    "HTTPAuthorizationCredentials",
    "HTTPBasic",
    "HTTPBasicCredentials",
    "HTTPBearer",
    "InvalidTokenError",
    "JWKSError",
    "JWT",
    "JWTBearer",
    "OAuth2PasswordBearer",
    "OAuth2PasswordRequestForm",
    "Security",
    "SecurityBase",
    "SecurityScopes",
    "hash_password",
    "hash_password_sync",
    "needs_rehash",
    "secrets_equal",
    "verify_password",
    "verify_password_sync",
]

_TOKENS = {"JWT", "JWTBearer", "InvalidTokenError", "JWKSError"}


def __getattr__(name: str) -> Any:
    # The JWT names load on first use: importing covet.security must not need PyJWT.
    if name in _TOKENS:
        from . import tokens

        return getattr(tokens, name)
    raise AttributeError(f"module 'covet.security' has no attribute {name!r}")
