"""Password hashing with argon2 (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# TODO(lab:auth): these parameters are far below OWASP's minimum for argon2id
# (and this is argon2i). Choose a profile from the Password Storage Cheat Sheet.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.I)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    # TODO(lab:auth): an unknown user returns at once here, which makes "no such
    # user" measurably faster than "wrong password".
    if password_hash is None:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
