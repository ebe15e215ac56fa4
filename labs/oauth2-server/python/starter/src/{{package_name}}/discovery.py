"""OpenID Connect discovery (OIDC Discovery 1.0, RFC 8414) and the JWK Set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .services import services
from .settings import Settings

router = APIRouter()


def metadata(settings: Settings) -> dict[str, Any]:
    """The discovery document: every endpoint as an absolute URL under the issuer.

    Endpoints: /authorize, /token, /jwks.json, /userinfo, /introspect, /revoke. Say what
    the server really supports (only the code flow, S256 only, which grants and client
    authentication methods, the ID-token signing algorithm) and that authorization
    responses carry `iss` (RFC 9207).
    """
    # TODO(lab:discovery)
    return {"issuer": settings.issuer}


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(metadata(services(request).settings))


@router.get("/jwks.json")
def jwks(request: Request) -> JSONResponse:
    return JSONResponse(services(request).keys.jwks())
