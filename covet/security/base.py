"""What every security scheme dependency shares: its OpenAPI scheme object and the 401 it raises.

A scheme is an object whose ``__call__`` is the dependency. ``covet.openapi`` recognises
instances of :class:`SecurityBase` among a route's dependencies and documents them under
``components.securitySchemes`` and the operation's ``security`` (OpenAPI 3.1 §4.8.27, §4.8.30);
nothing of that happens per request.
"""

from __future__ import annotations

import hmac
from typing import Any

from ..exceptions import HTTPException

__all__ = ["SecurityBase", "secrets_equal", "unauthorized"]


class SecurityBase:
    """Base of the scheme dependencies: ``scheme_name``, the OpenAPI ``model`` and ``auto_error``.

    ``auto_error=True`` (the default) answers a request without valid credentials with ``401``;
    ``auto_error=False`` hands the dependency ``None`` instead, for endpoints that serve anonymous
    and signed-in users alike (OpenAPI then lists "no credentials" as an alternative).
    """

    #: The OpenAPI Security Scheme Object this dependency stands for.
    model: dict[str, Any]
    scheme_name: str
    auto_error: bool

    def _init_base(self, model: dict[str, Any], scheme_name: str | None, description: str | None, auto_error: bool) -> None:
        if description:
            model = {**model, "description": description}
        self.model = model
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scheme_name={self.scheme_name!r}, auto_error={self.auto_error!r})"


def unauthorized(challenge: str, detail: str = "Not authenticated") -> HTTPException:
    """A ``401`` carrying ``WWW-Authenticate: challenge`` (RFC 9110 §11.6.1 requires one)."""
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def secrets_equal(given: str | bytes, expected: str | bytes) -> bool:
    """Compare a secret from a request with the real one in constant time.

    Use it for API keys, Basic passwords and any token you compare yourself: ``==`` returns at
    the first differing character, which lets an attacker guess a secret one character at a
    time from response times. Strings are compared as UTF-8 (``hmac.compare_digest`` itself only
    takes ASCII strings). The time taken depends on the lengths only.
    """
    a = given.encode("utf-8", "surrogateescape") if isinstance(given, str) else given
    b = expected.encode("utf-8", "surrogateescape") if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)
