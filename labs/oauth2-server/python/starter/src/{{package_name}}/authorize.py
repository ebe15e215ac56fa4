"""The authorization endpoint (RFC 6749 4.1, OAuth 2.1, OIDC Core 3.1) and code redemption.

Errors before the redirect URI is known to be the client's are shown to the user
(400 JSON) and never redirected: otherwise the server is an open redirector. Every
later error goes back to the redirect URI with `error` and `state`.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .services import Services
from .store import Client, CodeRecord

router = APIRouter()


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def redirect_with(
    redirect_uri: str, params: dict[str, str | None], status: int = 302
) -> RedirectResponse:
    """Redirect to `redirect_uri` with `params` added to the query it already has."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), status_code=status)


def _not_yet() -> JSONResponse:
    return JSONResponse({"error": "not implemented yet"}, status_code=501)


@router.get("/authorize")
def authorize(request: Request) -> Response:
    """Validate the request, sign the user in, show the consent page.

    In this order: client_id known and redirect_uri exactly one of its registered URIs
    (else 400 JSON, no redirect); then, as redirects with error and state:
    response_type (only "code"), the client's grant types, scope (required, each
    allowed for the client), PKCE (code_challenge_method=S256 and a 43-character challenge). A signed-out
    user goes to sign in (`web.login_redirect`); a signed-in one (`web.current_user`)
    gets `web.consent_page(...)` for a pending `AuthRequest` saved in the store.
    """
    # TODO(lab:authorization-code)
    # TODO(lab:hardening) every authorization response, success or error, also carries
    # iss=<issuer> (RFC 9207).
    return _not_yet()


@router.post("/authorize/decision")
def decide(request: Request, request_id: str = Form(...), decision: str = Form(...)) -> Response:
    """The consent form's answer: a code for "allow", error=access_denied otherwise.

    The pending request is taken from the store (answered once) and must belong to the
    signed-in user. A code is random (at least 128 bits), stored only by digest with a
    `CodeRecord` in a new token family, and lives `settings.code_ttl` seconds.
    """
    # TODO(lab:authorization-code)
    return _not_yet()


def redeem_code(
    svc: Services, client: Client, code: str, redirect_uri: str | None, code_verifier: str | None
) -> CodeRecord:
    """Check a code at the token endpoint and use it up; OAuthError("invalid_grant") if not.

    A code is single use: the second redemption fails and revokes every token issued
    from the first (RFC 6749 4.1.2). It is valid for `settings.code_ttl` seconds, only
    for the client it was issued to, with the same redirect_uri, and only with the PKCE
    verifier whose S256 challenge was sent to the authorization endpoint.
    """
    # TODO(lab:authorization-code) Store.claim_code() marks a code used atomically.
    raise NotImplementedError("redeem_code")
