"""Access tokens: RS256 JWTs signed with our private key (RFC 8725 practices).

The accepted algorithm is pinned in code, never taken from the token header, so
`alg: none` and "HS256 keyed with our public key" are both refused. PyJWT's own
time checks read the wall clock, so we switch them off and check exp/nbf/iat
against the injected clock ourselves, with a small leeway.
"""

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
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
MAX_LEEWAY_SECONDS = 60


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
        if not 0 <= settings.jwt_leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"jwt_leeway_seconds must be within 0..{MAX_LEEWAY_SECONDS}")
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
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=[ALGORITHM],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise TokenError(str(exc)) from exc
        self._check_times(claims)
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now()
        leeway = self._settings.jwt_leeway_seconds
        if now > _number(claims, "exp") + leeway:
            raise TokenError("token expired")
        if "nbf" in claims and now + leeway < _number(claims, "nbf"):
            raise TokenError("token not yet valid")
        if now + leeway < _number(claims, "iat"):
            raise TokenError("token issued in the future")


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TokenError(f"{name} must be a number")
    return float(value)
