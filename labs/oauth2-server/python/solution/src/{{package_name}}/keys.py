"""Signing keys: ES256 keys made at run time, published as a JWK Set, rotated with overlap.

`KeyRing.sign()` signs with the active key and names it in the header's `kid`;
`KeyRing.verify()` picks the key by `kid` among the published ones. After `rotate()`,
the previous key signs nothing more but stays published (and verifiable) for
`settings.key_overlap` seconds, so tokens it signed keep working until they expire.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .clock import Clock
from .settings import Settings
from .store import Store, StoredKey

ALGORITHM = "ES256"


class InvalidToken(Exception):
    """A JWT that is malformed, not ours, expired, not yet valid or of the wrong type."""


@dataclass
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: float
    retired_at: float | None


def _load(stored: StoredKey) -> SigningKey:
    key = serialization.load_pem_private_key(stored.private_pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"key {stored.kid} is not an EC key")
    return SigningKey(stored.kid, key, stored.created_at, stored.retired_at)


class KeyRing:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        if not any(key.retired_at is None for key in store.signing_keys()):
            self.rotate()

    def rotate(self) -> str:
        """Make a new active key, retire the current one; returns the new kid."""
        now = self._clock.now()
        for key in self._store.signing_keys():
            if key.retired_at is None:
                self._store.retire_key(key.kid, now)
        private_key = ec.generate_private_key(ec.SECP256R1())
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        kid = uuid.uuid4().hex
        self._store.save_key(StoredKey(kid, pem, now, None))
        return kid

    def active(self) -> SigningKey:
        for stored in self._store.signing_keys():
            if stored.retired_at is None:
                return _load(stored)
        raise RuntimeError("no active signing key")

    def published(self) -> list[SigningKey]:
        """The active key and every retired key still inside its overlap window."""
        now = self._clock.now()
        return [
            _load(stored)
            for stored in self._store.signing_keys()
            if stored.retired_at is None or now < stored.retired_at + self._settings.key_overlap
        ]

    def jwks(self) -> dict[str, Any]:
        """The published keys as a JWK Set: public parts only, each with kid, use and alg."""
        keys = []
        for key in self.published():
            jwk: dict[str, Any] = json.loads(
                jwt.algorithms.ECAlgorithm.to_jwk(key.private_key.public_key())
            )
            jwk.update(kid=key.kid, use="sig", alg=ALGORITHM)
            keys.append(jwk)
        return {"keys": keys}

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        key = self.active()
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
        )

    def verify(self, token: str, typ: str) -> dict[str, Any]:
        """The claims of a token this server signed, checked against the injected clock.

        Raises InvalidToken unless: the header names a published key by `kid` and the
        expected `typ`, the ES256 signature verifies with that key, `exp` is in the
        future, and `nbf` and `iat` (when present) are not in the future.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("typ") != typ:
            raise InvalidToken(f"not a {typ} token")
        key = next((k for k in self.published() if k.kid == header.get("kid")), None)
        if key is None:
            raise InvalidToken("unknown kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=[ALGORITHM],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken("bad signature") from exc
        now = self._clock.now()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or now >= exp:
            raise InvalidToken("expired")
        for claim in ("nbf", "iat"):
            value = claims.get(claim)
            if value is not None and (not isinstance(value, int | float) or value > now):
                raise InvalidToken(f"{claim} is in the future")
        if claims.get("iss") != self._settings.issuer:
            raise InvalidToken("not issued here")
        return claims
