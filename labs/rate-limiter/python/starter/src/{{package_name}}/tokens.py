"""Access tokens: RS256 JWTs signed with our private key."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .clock import Clock
from .settings import Settings

ALGORITHM = "RS256"


class TokenError(Exception):
    """The token is not acceptable; the message is for logs, never for clients."""


def _load_private_key(pem: str | None) -> rsa.RSAPrivateKey:
    if pem is None:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _parse_private_key(pem)


# Loading checks the whole RSA key (about 40 ms); every app built with the same
# configured key (tests build many) shares one parsed, immutable key object.
@functools.lru_cache(maxsize=4)
def _parse_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("jwt_private_key_pem must be an RSA private key")
    return key


class TokenService:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._private_key = _load_private_key(settings.jwt_private_key_pem)
        self._public_key = self._private_key.public_key()
        self._settings = settings
        self._clock = clock

    def issue_access(self, subject: str, session_id: str) -> tuple[str, dict[str, Any]]:
        now = int(self._clock.now())
        claims: dict[str, Any] = {
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "sub": subject,
            "sid": session_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + self._settings.access_token_ttl_seconds,
        }
        token = jwt.encode(claims, self._private_key, algorithm=ALGORITHM)
        return token, claims

    def decode_access(self, token: str) -> dict[str, Any]:
        """Return the verified claims or raise TokenError.

        Must: accept only RS256 with our public key (never the header's `alg`),
        require exp/iat/iss/aud/sub/jti, check iss and aud, and check exp/nbf/iat
        against `self._clock` with `settings.jwt_leeway_seconds` of leeway.
        """
        # TODO(lab:auth): verify the token. Note that PyJWT's own exp/nbf/iat
        # checks read the wall clock, not the injected one.
        raise NotImplementedError("TODO(lab:auth): TokenService.decode_access")
