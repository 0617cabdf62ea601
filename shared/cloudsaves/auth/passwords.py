"""Password hashing with bcrypt (slow and salted, as RomM)."""

from __future__ import annotations

import functools

import bcrypt

from cloudsaves.settings import get_settings

# bcrypt reads at most 72 bytes; longer inputs would silently share a hash, so refuse them.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str) -> str:
    rounds = get_settings().bcrypt_rounds
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    encoded = password.encode()
    if password_hash is None or len(encoded) > MAX_PASSWORD_BYTES:
        # Spend the same time as a real check, so timing does not reveal which usernames exist.
        bcrypt.checkpw(b"x", _dummy_hash().encode())
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


@functools.cache
def _dummy_hash() -> str:
    return hash_password("cloud-saves-dummy")
