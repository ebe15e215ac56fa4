"""Signing keys: ES256 keys made at run time, published as a JWK Set, rotated with overlap.

`KeyRing.sign()` signs with the active key and names it in the header's `kid`;
`KeyRing.verify()` picks the key by `kid` among the published ones. After `rotate()`,
the previous key signs nothing more but stays published (and verifiable) for
`settings.key_overlap` seconds, so tokens it signed keep working until they expire.
Keys live in the store (`Store.signing_keys()`, oldest first), so a restart keeps them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

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
        """The one key that is not retired."""
        # TODO(lab:discovery) find it among self._store.signing_keys().
        raise NotImplementedError("KeyRing.active")

    def published(self) -> list[SigningKey]:
        """The active key and every retired key still inside its overlap window."""
        # TODO(lab:discovery) a retired key stays until retired_at + settings.key_overlap
        # on the injected clock.
        raise NotImplementedError("KeyRing.published")

    def jwks(self) -> dict[str, Any]:
        """The published keys as a JWK Set: public parts only, each with kid, use and alg."""
        # TODO(lab:discovery) jwt.algorithms.ECAlgorithm.to_jwk() of each PUBLIC key.
        raise NotImplementedError("KeyRing.jwks")

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        """`claims` as an ES256 JWT signed by the active key, header {kid, typ}."""
        # TODO(lab:discovery)
        raise NotImplementedError("KeyRing.sign")

    def verify(self, token: str, typ: str) -> dict[str, Any]:
        """The claims of a token this server signed, checked against the injected clock.

        Raises InvalidToken unless: the header names a published key by `kid` and the
        expected `typ`, the ES256 signature verifies with that key, `iss` is the issuer,
        `exp` is in the future, and `nbf` and `iat` (when present) are not in the future.
        """
        # TODO(lab:discovery) PyJWT checks exp/nbf/iat on the wall clock: turn those
        # checks off and compare with self._clock.now() yourself.
        raise NotImplementedError("KeyRing.verify")
