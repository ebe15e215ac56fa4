"""The token endpoint (RFC 6749 3.2, OIDC Core 3.1.3): codes, refresh, client credentials.

Access tokens are JWTs (RFC 9068, header `typ: at+jwt`) whose `jti` the store tracks, so
they can be revoked; ID tokens are JWTs for the client (`aud` and `azp` its client_id);
refresh tokens are opaque, stored as digests, single use, and rotate within a family:
presenting a used one revokes the whole family (RFC 9700 4.14.2).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from .authorize import redeem_code
from .clients import authenticate_client
from .errors import OAuthError, error_response
from .hardening import rate_limit
from .services import Services, services
from .store import Client, TokenRecord, digest

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: base64url of the left half of SHA-256 of the token's ASCII."""
    half = hashlib.sha256(access_token.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def issue_access_token(
    svc: Services, client: Client, sub: str, scope: str, family: str
) -> tuple[str, int]:
    now = svc.clock.now()
    ttl = svc.settings.access_token_ttl
    jti = uuid.uuid4().hex
    claims = {
        "iss": svc.settings.issuer,
        "sub": sub,
        "aud": svc.settings.issuer,
        "client_id": client.client_id,
        "scope": scope,
        "iat": int(now),
        "exp": int(now) + ttl,
        "jti": jti,
    }
    token = svc.keys.sign(claims, typ="at+jwt")
    svc.store.save_token(
        TokenRecord(
            key=jti,
            kind="access",
            family=family,
            client_id=client.client_id,
            sub=sub,
            scope=scope,
            issued_at=now,
            expires_at=int(now) + ttl,
        )
    )
    return token, ttl


def issue_refresh_token(svc: Services, client: Client, sub: str, scope: str, family: str) -> str:
    now = svc.clock.now()
    token = secrets.token_urlsafe(32)
    svc.store.save_token(
        TokenRecord(
            key=digest(token),
            kind="refresh",
            family=family,
            client_id=client.client_id,
            sub=sub,
            scope=scope,
            issued_at=now,
            expires_at=now + svc.settings.refresh_token_ttl,
        )
    )
    return token


def issue_id_token(
    svc: Services,
    client: Client,
    sub: str,
    nonce: str | None,
    auth_time: float,
    access_token: str,
) -> str:
    now = int(svc.clock.now())
    claims: dict[str, Any] = {
        "iss": svc.settings.issuer,
        "sub": sub,
        "aud": client.client_id,
        "azp": client.client_id,
        "iat": now,
        "exp": now + svc.settings.id_token_ttl,
        "auth_time": int(auth_time),
        "at_hash": at_hash(access_token),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return svc.keys.sign(claims, typ="JWT")


def _single(form: FormData, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise OAuthError("invalid_request", f"{name} given more than once")
    value = values[0] if values else None
    return value if isinstance(value, str) else None


def _scope_within(requested: str | None, allowed: list[str]) -> str:
    if requested is None:
        return " ".join(allowed)
    scopes = requested.split()
    if not scopes or any(scope not in allowed for scope in scopes):
        raise OAuthError("invalid_scope", "scope is not allowed")
    return " ".join(scopes)


def _code_grant(svc: Services, client: Client, form: FormData) -> dict[str, Any]:
    if "authorization_code" not in client.grant_types:
        raise OAuthError("unauthorized_client", "client may not use this grant")
    code = _single(form, "code")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    record = redeem_code(
        svc, client, code, _single(form, "redirect_uri"), _single(form, "code_verifier")
    )
    access, ttl = issue_access_token(svc, client, record.sub, record.scope, record.family)
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": record.scope,
    }
    if "refresh_token" in client.grant_types:
        body["refresh_token"] = issue_refresh_token(
            svc, client, record.sub, record.scope, record.family
        )
    if "openid" in record.scope.split():
        body["id_token"] = issue_id_token(
            svc, client, record.sub, record.nonce, record.auth_time, access
        )
    svc.audit.event("tokens_issued", client_id=client.client_id, sub=record.sub, grant="code")
    return body


def _refresh_grant(svc: Services, client: Client, form: FormData) -> dict[str, Any]:
    if "refresh_token" not in client.grant_types:
        raise OAuthError("unauthorized_client", "client may not use this grant")
    presented = _single(form, "refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is required")
    record = svc.store.token(digest(presented))
    if record is None or record.kind != "refresh" or record.client_id != client.client_id:
        raise OAuthError("invalid_grant", "unknown refresh token")
    if record.revoked or svc.store.family_revoked(record.family):
        raise OAuthError("invalid_grant", "refresh token revoked")
    if svc.clock.now() >= record.expires_at:
        raise OAuthError("invalid_grant", "refresh token expired")
    scope = _scope_within(_single(form, "scope"), record.scope.split())
    if not svc.store.mark_token_used(record.key):
        # A used refresh token came back: someone holds a copy. End the whole family.
        svc.store.revoke_family(record.family)
        svc.audit.event("refresh_reuse", client_id=client.client_id, sub=record.sub)
        raise OAuthError("invalid_grant", "refresh token already used")
    sub = record.sub or client.client_id
    access, ttl = issue_access_token(svc, client, sub, scope, record.family)
    refresh = issue_refresh_token(svc, client, sub, record.scope, record.family)
    svc.audit.event("tokens_issued", client_id=client.client_id, sub=sub, grant="refresh")
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
        "refresh_token": refresh,
    }


def _client_credentials_grant(svc: Services, client: Client, form: FormData) -> dict[str, Any]:
    if "client_credentials" not in client.grant_types or client.auth_method == "none":
        raise OAuthError("unauthorized_client", "client may not use this grant")
    allowed = [scope for scope in client.scopes if scope != "openid"]
    scope = _scope_within(_single(form, "scope"), allowed)
    family = svc.store.new_family(client.client_id)
    access, ttl = issue_access_token(svc, client, client.client_id, scope, family)
    svc.audit.event("tokens_issued", client_id=client.client_id, grant="client_credentials")
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": scope}


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
        client = authenticate_client(
            svc, _plain(form), request.headers.get("authorization"), f"{svc.settings.issuer}/token"
        )
        grant_type = _single(form, "grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        handler = GRANTS.get(grant_type)
        if handler is None:
            raise OAuthError("unsupported_grant_type", f"{grant_type} is not supported")
        body = handler(svc, client, form)
    except OAuthError as exc:
        return error_response(exc)
    return JSONResponse(body, headers=NO_STORE)


def _plain(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}
