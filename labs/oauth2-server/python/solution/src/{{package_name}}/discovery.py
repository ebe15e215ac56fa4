"""OpenID Connect discovery (OIDC Discovery 1.0, RFC 8414) and the JWK Set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .services import services
from .settings import Settings

router = APIRouter()


def metadata(settings: Settings) -> dict[str, Any]:
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks.json",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "profile"],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "azp",
            "at_hash",
        ],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "authorization_response_iss_parameter_supported": True,
    }


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(metadata(services(request).settings))


@router.get("/jwks.json")
def jwks(request: Request) -> JSONResponse:
    # Caches may keep it briefly; a rotation's new key shows up within a minute.
    return JSONResponse(
        services(request).keys.jwks(), headers={"Cache-Control": "public, max-age=60"}
    )
