"""Password hashing: Argon2id with ``covet[argon2]``, the standard library's scrypt otherwise.

Settings are OWASP's Password Storage Cheat Sheet minimums: Argon2id with 19 MiB of memory,
2 iterations, 1 lane; scrypt with N=2^17, r=8, p=1 (128 MiB). Hashing is deliberately slow and
memory-hungry, so it runs in a worker thread (the event loop keeps serving) and at most
``os.cpu_count()`` hashes run at once (memory stays bounded under a flood of logins).

Hashes are PHC strings: ``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`` and
``$scrypt$ln=17,r=8,p=1$<salt>$<hash>`` (salt and hash in unpadded base64).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading
from typing import Any

import anyio.to_thread

__all__ = ["hash_password", "verify_password", "needs_rehash", "hash_password_sync", "verify_password_sync"]

# OWASP Password Storage Cheat Sheet (2023 onwards).
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
SCRYPT_LOG_N = 17
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32

_SCRYPT_RE = re.compile(r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{1,64})\$([A-Za-z0-9+/]{1,128})")
# Bounds the hashes computing at once (memory!), across event loops and threads alike.
_running = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def _argon2_hasher() -> Any:
    """argon2-cffi's PasswordHasher at covet's settings, or None when the package is missing."""
    try:
        from argon2 import PasswordHasher, Type
    except ImportError:
        return None
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=_HASH_BYTES,
        salt_len=_SALT_BYTES,
        type=Type.ID,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_HASH_BYTES, maxmem=128 * n * r * p + 16 * 1024 * 1024
    )


def _scrypt_hash(password: str, log_n: int = SCRYPT_LOG_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = os.urandom(_SALT_BYTES)
    return f"$scrypt$ln={log_n},r={r},p={p}${_b64(salt)}${_b64(_scrypt(password, salt, log_n, r, p))}"


def hash_password_sync(password: str) -> str:
    """:func:`hash_password` for synchronous code (blocks for a noticeable fraction of a second)."""
    if not isinstance(password, str):
        raise TypeError(f"hash_password() takes the password as str, got {type(password).__name__}.")
    hasher = _argon2_hasher()
    if hasher is not None:
        return str(hasher.hash(password))
    return _scrypt_hash(password)


def verify_password_sync(password: str, hashed: str) -> bool:
    """:func:`verify_password` for synchronous code."""
    if not isinstance(password, str) or not isinstance(hashed, str):
        raise TypeError("verify_password() takes the password and the stored hash as str.")
    if hashed.startswith("$argon2"):
        hasher = _argon2_hasher()
        if hasher is None:
            raise RuntimeError("This hash is Argon2; verifying it needs argon2-cffi: pip install 'covet[argon2]'.")
        from argon2 import extract_parameters
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            extract_parameters(hashed)  # a mangled hash is a server bug, not a wrong password
        except InvalidHashError:
            raise ValueError("The stored password hash is not a valid Argon2 hash.") from None
        try:
            return bool(hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False
    match = _SCRYPT_RE.fullmatch(hashed)
    if match is None:
        raise ValueError("The stored password hash is neither Argon2 nor covet's scrypt format ($scrypt$ln=..).")
    log_n, r, p = int(match[1]), int(match[2]), int(match[3])
    if not (1 <= log_n <= 24 and 1 <= r <= 64 and 1 <= p <= 16):
        raise ValueError(f"The stored scrypt hash has out-of-range settings (ln={log_n}, r={r}, p={p}).")
    expected = _unb64(match[5])
    return hmac.compare_digest(_scrypt(password, _unb64(match[4]), log_n, r, p), expected)


def needs_rehash(hashed: str) -> bool:
    """Whether ``hashed`` was made with weaker settings (or a weaker algorithm) than today's.

    After a successful :func:`verify_password`, store ``await hash_password(password)`` when this
    is True: a scrypt hash is upgraded to Argon2id once ``covet[argon2]`` is installed, and either
    kind to the current settings.
    """
    hasher = _argon2_hasher()
    if hashed.startswith("$argon2"):
        return hasher is not None and bool(hasher.check_needs_rehash(hashed))
    if hasher is not None:
        return True
    match = _SCRYPT_RE.fullmatch(hashed)
    if match is None:
        raise ValueError("The stored password hash is neither Argon2 nor covet's scrypt format ($scrypt$ln=..).")
    return (int(match[1]), int(match[2]), int(match[3])) < (SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P) or len(_unb64(match[5])) < _HASH_BYTES


def _bounded(func: Any, *args: Any) -> Any:
    with _running:
        return func(*args)


async def hash_password(password: str) -> str:
    """Hash ``password`` for storage (Argon2id, or scrypt without ``covet[argon2]``); a PHC string.

    Runs in a worker thread. Each call uses a fresh random salt, so the same password gives a
    different string every time; check with :func:`verify_password`.
    """
    return await anyio.to_thread.run_sync(_bounded, hash_password_sync, password)


async def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed`` (from :func:`hash_password`), in constant time.

    Runs in a worker thread. Raises ``ValueError`` for a stored hash covet cannot read and
    ``RuntimeError`` for an Argon2 hash when argon2-cffi is missing.
    """
    return await anyio.to_thread.run_sync(_bounded, verify_password_sync, password, hashed)
