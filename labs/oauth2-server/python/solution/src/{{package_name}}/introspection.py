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

from .clients import authenticate_client
from .errors import OAuthError, error_response
from .keys import InvalidToken
from .services import Services, services
from .store import TokenRecord, digest

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _live(svc: Services, record: TokenRecord | None) -> bool:
    return (
        record is not None
        and not record.revoked
        and not svc.store.family_revoked(record.family)
        and svc.clock.now() < record.expires_at
    )


def active_access_token(svc: Services, token: str) -> dict[str, Any] | None:
    """The claims of an access token that is valid right now, else None.

    Valid: signed by a published key (checked by KeyRing.verify against the injected
    clock), typed at+jwt, known to the store, and neither it nor its family revoked.
    """
    try:
        claims = svc.keys.verify(token, typ="at+jwt")
    except InvalidToken:
        return None
    record = svc.store.token(str(claims.get("jti")))
    if record is None or record.kind != "access" or not _live(svc, record):
        return None
    return claims


def active_refresh_token(svc: Services, token: str) -> TokenRecord | None:
    record = svc.store.token(digest(token))
    if record is None or record.kind != "refresh" or record.used or not _live(svc, record):
        return None
    return record


async def _client_and_token(svc: Services, request: Request, endpoint: str) -> tuple[str, str]:
    form = await request.form()
    plain = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    client = authenticate_client(
        svc, plain, request.headers.get("authorization"), f"{svc.settings.issuer}{endpoint}"
    )
    token = plain.get("token")
    if not token or len(form.getlist("token")) > 1:
        raise OAuthError("invalid_request", "exactly one token is required")
    return client.client_id, token


@router.post("/introspect")
async def introspect(request: Request) -> Response:
    svc = services(request)
    try:
        _, token = await _client_and_token(svc, request, "/introspect")
    except OAuthError as exc:
        return error_response(exc)
    claims = active_access_token(svc, token)
    if claims is not None:
        body: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": claims["scope"],
            "client_id": claims["client_id"],
            "sub": claims["sub"],
            "iss": claims["iss"],
            "aud": claims["aud"],
            "exp": claims["exp"],
            "iat": claims["iat"],
            "jti": claims["jti"],
        }
        return JSONResponse(body, headers=NO_STORE)
    record = active_refresh_token(svc, token)
    if record is not None:
        body = {
            "active": True,
            "token_type": "refresh_token",
            "scope": record.scope,
            "client_id": record.client_id,
            "sub": record.sub,
            "iss": svc.settings.issuer,
            "exp": int(record.expires_at),
            "iat": int(record.issued_at),
        }
        return JSONResponse(body, headers=NO_STORE)
    return JSONResponse({"active": False}, headers=NO_STORE)


@router.post("/revoke")
async def revoke(request: Request) -> Response:
    svc = services(request)
    try:
        client_id, token = await _client_and_token(svc, request, "/revoke")
    except OAuthError as exc:
        return error_response(exc)
    claims = active_access_token(svc, token)
    if claims is not None and claims.get("client_id") == client_id:
        svc.store.revoke_token(str(claims["jti"]))
        svc.audit.event("token_revoked", client_id=client_id, kind="access")
    else:
        record = svc.store.token(digest(token))
        if record is not None and record.kind == "refresh" and record.client_id == client_id:
            svc.store.revoke_family(record.family)
            svc.audit.event("token_revoked", client_id=client_id, kind="refresh")
    return Response(status_code=200, headers=NO_STORE)


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
