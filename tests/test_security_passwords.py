"""Password hashing: Argon2id (covet[argon2]) or stdlib scrypt, verification off the event loop."""

import threading

import anyio
import argon2
import pytest

from covet.security import (
    hash_password,
    hash_password_sync,
    needs_rehash,
    passwords,
    verify_password,
    verify_password_sync,
)


@pytest.fixture
def scrypt_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if argon2-cffi were not installed."""
    monkeypatch.setattr(passwords, "_argon2_hasher", lambda: None)


def test_argon2id_at_owasp_settings_round_trip() -> None:
    hashed = anyio.run(hash_password, "correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert anyio.run(verify_password, "correct horse", hashed)
    assert not anyio.run(verify_password, "correct horsf", hashed)
    assert not needs_rehash(hashed)
    assert hash_password_sync("correct horse") != hashed  # a fresh salt every time


def test_scrypt_without_argon2_round_trip(scrypt_only: None) -> None:
    hashed = hash_password_sync("pässwörd")
    assert hashed.startswith("$scrypt$ln=17,r=8,p=1$")
    assert verify_password_sync("pässwörd", hashed)
    assert not verify_password_sync("passwörd", hashed)
    assert not needs_rehash(hashed)


def test_weaker_hashes_need_rehash(scrypt_only: None) -> None:
    assert needs_rehash(passwords._scrypt_hash("pw", log_n=14))


def test_scrypt_hashes_are_upgraded_to_argon2_once_installed() -> None:
    old = passwords._scrypt_hash("pw", log_n=12)
    assert verify_password_sync("pw", old)  # still verifies...
    assert needs_rehash(old)  # ...and asks to be stored again as Argon2id
    weak_argon2 = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    assert verify_password_sync("pw", weak_argon2)
    assert needs_rehash(weak_argon2)


def test_argon2_hash_without_argon2_installed_says_which_extra(scrypt_only: None) -> None:
    hashed = argon2.PasswordHasher().hash("pw")
    with pytest.raises(RuntimeError, match=r"covet\[argon2\]"):
        verify_password_sync("pw", hashed)


@pytest.mark.parametrize(
    "stored", ["plaintext", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$scrypt$ln=17,r=8,p=1$!!$AAAA", "$argon2id$garbage", ""]
)
def test_malformed_stored_hash_raises_value_error(stored: str) -> None:
    with pytest.raises(ValueError, match="hash"):
        verify_password_sync("pw", stored)


def test_verify_runs_in_a_worker_thread_not_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = hash_password_sync("pw")
    threads: list[int] = []
    real = passwords.verify_password_sync

    def spy(password: str, stored: str) -> bool:
        threads.append(threading.get_ident())
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify_password_sync", spy)

    async def main() -> tuple[bool, int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await anyio.sleep(0.001)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            ok = await verify_password("pw", hashed)
            tg.cancel_scope.cancel()
        return ok, threading.get_ident(), ticks

    ok, loop_thread, ticks = anyio.run(main)
    assert ok
    assert threads and threads[0] != loop_thread
    assert ticks > 1  # the loop kept running while the hash was computed


def test_non_str_password_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        hash_password_sync(b"bytes")  # type: ignore[arg-type]
