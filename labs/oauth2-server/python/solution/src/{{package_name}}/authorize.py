"""The authorization endpoint (RFC 6749 4.1, OAuth 2.1, OIDC Core 3.1) and code redemption.

Errors before the redirect URI is known to be the client's are shown to the user
(400 JSON) and never redirected: otherwise the server is an open redirector. Every
later error goes back to the redirect URI with `error`, `state` and `iss` (RFC 9207).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .errors import OAuthError
from .services import Services, services
from .store import AuthRequest, Client, CodeRecord
from .web import consent_page, current_user, login_redirect

router = APIRouter()

# RFC 7636 4.1/4.2: a verifier is 43-128 unreserved characters; an S256 challenge is
# the 43-character base64url SHA-256 of it.
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
# A consent page left open longer than this must be reloaded.
CONSENT_TTL = 600


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def redirect_with(
    redirect_uri: str, params: dict[str, str | None], status: int = 302
) -> RedirectResponse:
    """Redirect to `redirect_uri` with `params` added to the query it already has."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), status_code=status)


def _show_error(description: str) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": description},
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


def _client_and_redirect(svc: Services, request: Request) -> tuple[Client, str] | JSONResponse:
    params = request.query_params
    for name in ("client_id", "redirect_uri"):
        if len(params.getlist(name)) > 1:
            return _show_error(f"{name} given more than once")
    client_id = params.get("client_id")
    client = svc.store.client(client_id) if client_id else None
    if client is None:
        return _show_error("unknown client_id")
    redirect_uri = params.get("redirect_uri")
    # Exact string comparison with a registered URI (RFC 9700 4.1.3): no prefixes, no
    # normalisation, no case folding.
    if redirect_uri is None or redirect_uri not in client.redirect_uris:
        return _show_error("redirect_uri is not registered for this client")
    return client, redirect_uri


@router.get("/authorize")
def authorize(request: Request) -> Response:
    svc = services(request)
    checked = _client_and_redirect(svc, request)
    if isinstance(checked, JSONResponse):
        return checked
    client, redirect_uri = checked
    params = request.query_params
    state = params.get("state")
    issuer = svc.settings.issuer

    def error(code: str, description: str) -> RedirectResponse:
        return redirect_with(
            redirect_uri,
            {"error": code, "error_description": description, "state": state, "iss": issuer},
        )

    for name in (
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ):
        if len(params.getlist(name)) > 1:
            return error("invalid_request", f"{name} given more than once")
    response_type = params.get("response_type")
    if not response_type:
        return error("invalid_request", "response_type is required")
    if response_type != "code":
        return error("unsupported_response_type", "only the code flow is supported")
    if "authorization_code" not in client.grant_types:
        return error("unauthorized_client", "client may not use the code flow")
    scopes = (params.get("scope") or "").split()
    if not scopes or any(scope not in client.scopes for scope in scopes):
        return error("invalid_scope", "scope is missing or not allowed for this client")
    challenge = params.get("code_challenge")
    if params.get("code_challenge_method") != "S256":
        return error("invalid_request", "code_challenge_method must be S256")
    if challenge is None or not CHALLENGE.fullmatch(challenge):
        return error("invalid_request", "code_challenge must be an S256 challenge")

    user = current_user(svc, request)
    if user is None:
        return login_redirect(request)
    sub, auth_time = user
    pending = AuthRequest(
        id=secrets.token_urlsafe(24),
        sub=sub,
        auth_time=auth_time,
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        state=state,
        nonce=params.get("nonce"),
        code_challenge=challenge,
        created_at=svc.clock.now(),
    )
    svc.store.save_auth_request(pending)
    return consent_page(client.client_id, scopes, pending.id)


@router.post("/authorize/decision")
def decide(request: Request, request_id: str = Form(...), decision: str = Form(...)) -> Response:
    svc = services(request)
    user = current_user(svc, request)
    if user is None:
        return _show_error("sign in first")
    pending = svc.store.take_auth_request(request_id)
    now = svc.clock.now()
    # The pending request must be this user's: a request id alone must not let another
    # session (or a cross-site form) approve it.
    if pending is None or pending.sub != user[0] or now >= pending.created_at + CONSENT_TTL:
        return _show_error("unknown or expired authorization request")
    issuer = svc.settings.issuer
    if decision != "allow":
        svc.audit.event("consent_denied", client_id=pending.client_id, sub=pending.sub)
        return redirect_with(
            pending.redirect_uri,
            {
                "error": "access_denied",
                "error_description": "the user denied the request",
                "state": pending.state,
                "iss": issuer,
            },
            status=303,
        )
    code = secrets.token_urlsafe(32)
    record = CodeRecord(
        client_id=pending.client_id,
        sub=pending.sub,
        redirect_uri=pending.redirect_uri,
        scope=pending.scope,
        nonce=pending.nonce,
        code_challenge=pending.code_challenge,
        auth_time=pending.auth_time,
        expires_at=now + svc.settings.code_ttl,
        family=svc.store.new_family(pending.client_id),
    )
    svc.store.save_code(code, record)
    svc.audit.event("code_issued", client_id=pending.client_id, sub=pending.sub)
    return redirect_with(
        pending.redirect_uri, {"code": code, "state": pending.state, "iss": issuer}, status=303
    )


def redeem_code(
    svc: Services, client: Client, code: str, redirect_uri: str | None, code_verifier: str | None
) -> CodeRecord:
    """Check a code at the token endpoint and use it up; OAuthError("invalid_grant") if not.

    A code is single use: the second redemption fails and revokes every token issued
    from the first (RFC 6749 4.1.2). It is valid for `settings.code_ttl` seconds, only
    for the client it was issued to, with the same redirect_uri, and only with the PKCE
    verifier whose S256 challenge was sent to the authorization endpoint.
    """
    record, first = svc.store.claim_code(code)
    if record is None:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if not first:
        svc.store.revoke_family(record.family)
        svc.audit.event("code_replay", client_id=record.client_id, sub=record.sub)
        raise OAuthError("invalid_grant", "authorization code already used")
    if record.client_id != client.client_id:
        raise OAuthError("invalid_grant", "code was issued to another client")
    if svc.clock.now() >= record.expires_at:
        raise OAuthError("invalid_grant", "authorization code expired")
    if redirect_uri != record.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    if code_verifier is None or not VERIFIER.fullmatch(code_verifier):
        raise OAuthError("invalid_grant", "a PKCE code_verifier is required")
    if not hmac.compare_digest(s256(code_verifier), record.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    return record
