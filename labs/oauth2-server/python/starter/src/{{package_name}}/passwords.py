"""User passwords: scrypt from the standard library (RFC 7914), with a random salt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# OWASP's scrypt row: N=2^17, r=8, p=1 is its first choice; 2^14 with r=8 keeps a login
# around 50 ms on a small machine while costing an attacker 16 MiB per guess.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 2**20)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_digest = base64.b64encode(digest).decode()
    return f"scrypt${_N}${_R}${_P}${encoded_salt}${encoded_digest}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=64 * 2**20,
    )
    return hmac.compare_digest(computed, base64.b64decode(digest))


# A hash to check against when the user does not exist, so both cases cost the same.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
