"""HTTP authentication schemes: Basic (RFC 7617) and Bearer (RFC 6750), as dependencies."""

from __future__ import annotations

import base64
import binascii

import msgspec

from ..requests import HTTPConnection
from .base import SecurityBase, unauthorized

__all__ = ["HTTPBasic", "HTTPBasicCredentials", "HTTPBearer", "HTTPAuthorizationCredentials", "authorization_parts"]

#: Longest ``Authorization`` value read (the server bounds headers too; this bounds the decoding).
MAX_AUTHORIZATION = 8192


class HTTPBasicCredentials(msgspec.Struct, frozen=True):
    """The user name and password of a Basic ``Authorization`` header (RFC 7617 §2)."""

    username: str
    password: str


class HTTPAuthorizationCredentials(msgspec.Struct, frozen=True):
    """An ``Authorization`` header split into its scheme and its credentials (RFC 9110 §11.4)."""

    scheme: str
    credentials: str


def authorization_parts(request: HTTPConnection) -> tuple[str, str] | None:
    """``(scheme, credentials)`` of the ``Authorization`` header, or None if absent or shapeless."""
    value = request.headers.get("authorization")
    if not value or len(value) > MAX_AUTHORIZATION:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if not scheme or not credentials:
        return None
    return scheme, credentials


class HTTPBasic(SecurityBase):
    """Basic authentication: the dependency gives :class:`HTTPBasicCredentials`.

    Example::

        basic = HTTPBasic(realm="admin")

        @app.get("/admin")
        async def admin(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]):
            if not (secrets_equal(credentials.username, "root") and secrets_equal(credentials.password, PASSWORD)):
                raise HTTPException(401, "Wrong user or password", headers={"WWW-Authenticate": basic.challenge})

    Missing or undecodable credentials give ``401`` with ``WWW-Authenticate: Basic realm="..."
    , charset="UTF-8"`` (RFC 7617 §2.1), which makes browsers ask for a password; with
    ``auto_error=False`` the dependency gives None. Checking the password is yours: compare with
    :func:`secrets_equal` or :func:`verify_password`, never ``==``.
    """

    def __init__(
        self, *, scheme_name: str | None = None, realm: str | None = None, description: str | None = None, auto_error: bool = True
    ) -> None:
        self._init_base({"type": "http", "scheme": "basic"}, scheme_name, description, auto_error)
        self.realm = realm
        if realm is not None and ('"' in realm or "\\" in realm or not realm.isprintable()):
            raise ValueError(f"HTTPBasic(realm=...) must be printable text without quotes or backslashes, got {realm!r}.")
        #: The ``WWW-Authenticate`` value of this scheme's 401s.
        self.challenge = f'Basic realm="{realm}", charset="UTF-8"' if realm else 'Basic charset="UTF-8"'

    async def __call__(self, request: HTTPConnection) -> HTTPBasicCredentials | None:
        parts = authorization_parts(request)
        problem = "Not authenticated"
        if parts is not None and parts[0].lower() == "basic":
            try:
                decoded = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                problem = "Invalid Basic credentials: not base64-encoded UTF-8"
            else:
                username, colon, password = decoded.partition(":")
                if colon:
                    return HTTPBasicCredentials(username, password)
                problem = "Invalid Basic credentials: no ':' between user name and password"
        if self.auto_error:
            raise unauthorized(self.challenge, problem)
        return None


class HTTPBearer(SecurityBase):
    """Bearer tokens (RFC 6750 §2.1): the dependency gives :class:`HTTPAuthorizationCredentials`.

    A missing ``Authorization`` header, or one with another scheme, is ``401`` with
    ``WWW-Authenticate: Bearer``; ``auto_error=False`` gives None instead. The token is not
    checked here: decode it with :class:`covet.security.JWT` or look it up yourself.
    ``bearer_format`` ("JWT") only documents the token in OpenAPI.
    """

    def __init__(
        self,
        *,
        bearer_format: str | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        model = {"type": "http", "scheme": "bearer"}
        if bearer_format:
            model["bearerFormat"] = bearer_format
        self._init_base(model, scheme_name, description, auto_error)

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        parts = authorization_parts(request)
        if parts is None or parts[0].lower() != "bearer":
            if self.auto_error:
                raise unauthorized("Bearer")
            return None
        return HTTPAuthorizationCredentials(parts[0], parts[1])
