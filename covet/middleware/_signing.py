"""HMAC-SHA256 signing with key rotation (standard library only), for session and CSRF cookies.

Each purpose ("covet.session", "covet.csrf") derives its own keys from the secrets, so a value
signed for one can never be passed off as the other. The newest secret signs; every listed one
verifies, which lets a secret be rotated without logging everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence

__all__ = ["Signer", "check_secret_keys", "b64encode", "b64decode"]

MIN_SECRET_LENGTH = 16


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode unpadded URL-safe base64; raises ``ValueError`` on anything else."""
    if len(text) % 4 == 1 or not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_secret_keys(secret_key: str | bytes | Sequence[str | bytes], who: str) -> list[bytes]:
    """``secret_key`` as a list of byte keys, newest first; raises with a fix-it message if weak."""
    keys = [secret_key] if isinstance(secret_key, (str, bytes)) else list(secret_key)
    if not keys:
        raise ValueError(f"{who} needs secret_key=: a long random string, e.g. secrets.token_urlsafe(32).")
    checked = []
    for key in keys:
        raw = key.encode("utf-8") if isinstance(key, str) else key
        if not isinstance(raw, bytes) or len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"{who}: secret_key values must be at least {MIN_SECRET_LENGTH} characters of randomness "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'), "
                f"got one of {len(raw) if isinstance(raw, bytes) else type(raw).__name__!r} characters."
            )
        checked.append(raw)
    return checked


class Signer:
    """``sign(value)`` appends a timestamp and MAC; ``unsign(signed, max_age)`` checks both.

    Signed form: ``value.timestamp.mac`` with the MAC over ``value.timestamp``, both in URL-safe
    characters so the result can be a cookie value as is (RFC 6265 §4.1.1).
    """

    def __init__(self, secret_keys: list[bytes], purpose: bytes) -> None:
        self.keys = [hmac.new(secret, purpose, hashlib.sha256).digest() for secret in secret_keys]

    def _mac(self, key: bytes, message: bytes) -> str:
        return b64encode(hmac.new(key, message, hashlib.sha256).digest())

    def sign(self, value: str, now: float | None = None) -> str:
        stamp = format(int(time.time() if now is None else now), "x")
        message = f"{value}.{stamp}"
        return f"{message}.{self._mac(self.keys[0], message.encode('ascii'))}"

    def unsign(self, signed: str, max_age: float | None) -> tuple[str, int] | None:
        """``(value, index of the key that verified)``, or None when forged, truncated or expired."""
        message, _, mac = signed.rpartition(".")
        value, _, stamp = message.rpartition(".")
        # Both sides ASCII: compare_digest refuses non-ASCII str (a TypeError, a 500) and a forged
        # cookie may carry any byte.
        if not mac or not stamp or not message.isascii() or not mac.isascii() or len(stamp) > 12:
            return None
        encoded = message.encode("ascii")
        verified_by = next(
            (index for index, key in enumerate(self.keys) if hmac.compare_digest(self._mac(key, encoded), mac)),
            None,
        )
        if verified_by is None:
            return None
        try:
            issued = int(stamp, 16)
        except ValueError:
            return None
        if max_age is not None and time.time() - issued > max_age:
            return None
        return value, verified_by
