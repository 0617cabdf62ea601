"""Password hashing with bcrypt (slow and salted, as RomM)."""

from __future__ import annotations

import functools

import bcrypt

from cloudsaves.settings import get_settings

# bcrypt reads at most 72 bytes and bcrypt 5 raises past them. RomM (passlib) hashes the first 72 bytes
# of the UTF-8 password, so a password it stored verifies here too: 72 multibyte characters are accepted,
# and only their first 72 bytes count.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str) -> str:
    rounds = get_settings().bcrypt_rounds
    return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        # Spend the same time as a real check, so timing does not reveal which usernames exist.
        bcrypt.checkpw(b"x", _dummy_hash().encode())
        return False
    return bcrypt.checkpw(_bcrypt_input(password), password_hash.encode())


def _bcrypt_input(password: str) -> bytes:
    # surrogatepass: a lone surrogate (JSON allows "\ud800") hashes rather than raising.
    return password.encode("utf-8", "surrogatepass")[:MAX_PASSWORD_BYTES]


@functools.cache
def _dummy_hash() -> str:
    return hash_password("cloud-saves-dummy")
