"""The token endpoint (RFC 6749 3.2, OIDC Core 3.1.3): codes, refresh, client credentials.

Access tokens are JWTs (RFC 9068, header `typ: at+jwt`) whose `jti` the store tracks, so
they can be revoked; ID tokens are JWTs for the client (`aud` and `azp` its client_id);
refresh tokens are opaque, stored as digests, single use, and rotate within a family:
presenting a used one revokes the whole family (RFC 9700 4.14.2).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from .clients import authenticate_client
from .errors import OAuthError, error_response
from .hardening import rate_limit
from .services import Services, services
from .store import Client

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: base64url of the left half of SHA-256 of the token's ASCII."""
    # TODO(lab:tokens)
    raise NotImplementedError("at_hash")


def _code_grant(svc: Services, client: Client, form: FormData) -> dict[str, Any]:
    """authorization_code: redeem the code (authorize.redeem_code), then issue an access
    token, a refresh token (if the client may refresh) and, for the openid scope, an ID
    token with iss, sub, aud, azp, iat, exp, auth_time, nonce (when sent) and at_hash."""
    # TODO(lab:tokens)
    raise NotImplementedError("authorization_code grant")


def _refresh_grant(svc: Services, client: Client, form: FormData) -> dict[str, Any]:
    """refresh_token: single use, rotated; a used one coming back revokes the family."""
    # TODO(lab:tokens)
    raise NotImplementedError("refresh_token grant")


def _client_credentials_grant(svc: Services, client: Client, form: FormData) -> dict[str, Any]:
    """client_credentials: an access token with the scopes asked for, if allowed."""
    # TODO(lab:tokens)
    raise NotImplementedError("client_credentials grant")


GRANTS = {
    "authorization_code": _code_grant,
    "refresh_token": _refresh_grant,
    "client_credentials": _client_credentials_grant,
}


@router.post("/token")
async def token(request: Request) -> Response:
    svc = services(request)
    limited = rate_limit(svc, request)
    if limited is not None:
        return limited
    form = await request.form()
    try:
        plain = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        client = authenticate_client(
            svc, plain, request.headers.get("authorization"), f"{svc.settings.issuer}/token"
        )
        grant_type = form.get("grant_type")
        handler = GRANTS.get(grant_type) if isinstance(grant_type, str) else None
        if handler is None:
            # TODO(lab:hardening) tell a missing grant_type from an unsupported one.
            raise OAuthError("invalid_request", "grant_type")
        body = handler(svc, client, form)
    except OAuthError as exc:
        return error_response(exc)
    return JSONResponse(body, headers=NO_STORE)
