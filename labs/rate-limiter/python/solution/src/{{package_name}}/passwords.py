"""Password hashing with argon2id.

OWASP's Password Storage Cheat Sheet asks for argon2id with at least 19 MiB of
memory, 2 iterations and 1 degree of parallelism (or an equivalent row). We use
RFC 9106's "second recommended" profile, which clears that bar comfortably.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, type=Type.ID)

# Verified against when the user does not exist, so both paths cost one hash.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-only-for-timing")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check: an unknown user still pays for one verification."""
    try:
        matched = _HASHER.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
