"""Introspection (RFC 7662), revocation (RFC 7009) and the UserInfo endpoint (OIDC Core 5.3).

Revocation policy: revoking an access token revokes that token; revoking a refresh
token revokes its whole family, the refresh tokens and every access token issued
from the same authorization (RFC 7009 2.1 allows it, RFC 9700 recommends it). A client
can revoke only its own tokens; for anything else the answer is still 200 and nothing
happens, so the endpoint tells no one which tokens exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from .services import Services, services

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def active_access_token(svc: Services, token: str) -> dict[str, Any] | None:
    """The claims of an access token that is valid right now, else None.

    Valid: signed by a published key (checked by KeyRing.verify against the injected
    clock), typed at+jwt, known to the store, and neither it nor its family revoked.
    """
    # TODO(lab:introspection-revocation)
    return None


@router.post("/introspect")
async def introspect(request: Request) -> Response:
    """RFC 7662: client authentication required; {"active": false} and nothing else for
    any token that is not live; for a live one, active, scope, client_id, sub, exp, ..."""
    # TODO(lab:introspection-revocation)
    return JSONResponse({"error": "not implemented yet"}, status_code=501)


@router.post("/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009: client authentication required; 200 for every token, even unknown ones."""
    # TODO(lab:introspection-revocation)
    return JSONResponse({"error": "not implemented yet"}, status_code=501)


def _bearer_error(status: int, error: str) -> JSONResponse:
    return JSONResponse(
        {"error": error},
        status_code=status,
        headers={"WWW-Authenticate": f'Bearer error="{error}"', "Cache-Control": "no-store"},
    )


@router.api_route("/userinfo", methods=["GET", "POST"])
def userinfo(request: Request) -> Response:
    svc = services(request)
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() != "bearer ":
        return JSONResponse(
            {"error": "invalid_request"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
        )
    claims = active_access_token(svc, authorization[7:].strip())
    if claims is None:
        return _bearer_error(401, "invalid_token")
    if "openid" not in str(claims.get("scope", "")).split():
        return _bearer_error(403, "insufficient_scope")
    body: dict[str, Any] = {"sub": claims["sub"]}
    if "profile" in str(claims["scope"]).split():
        body["preferred_username"] = svc.store.username(str(claims["sub"]))
    return JSONResponse(body, headers=NO_STORE)
