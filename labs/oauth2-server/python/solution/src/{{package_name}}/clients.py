"""Client registration and client authentication (RFC 6749 2.3, RFC 7523, OIDC Core 9)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

import jwt

from .errors import OAuthError
from .hardening import check_redirect_uri
from .services import Services
from .store import Client, Store, digest

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHODS = ("client_secret_basic", "private_key_jwt", "none")


def register_client(
    store: Store,
    *,
    client_id: str,
    redirect_uris: Sequence[str] = (),
    auth_method: str = "client_secret_basic",
    grant_types: Sequence[str] = ("authorization_code", "refresh_token"),
    scopes: Sequence[str] = ("openid", "profile"),
    secret: str | None = None,
    jwks: dict[str, Any] | None = None,
) -> Client:
    """Register (or replace) a client; ValueError for a registration the server refuses."""
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth_method must be one of {AUTH_METHODS}")
    if auth_method == "client_secret_basic" and not secret:
        raise ValueError("a client_secret_basic client needs a secret")
    if auth_method == "private_key_jwt" and not jwks:
        raise ValueError("a private_key_jwt client needs its public keys (jwks)")
    if auth_method == "none" and "client_credentials" in grant_types:
        raise ValueError("a public client cannot use the client credentials grant")
    for uri in redirect_uris:
        check_redirect_uri(uri)
    client = Client(
        client_id=client_id,
        redirect_uris=list(redirect_uris),
        auth_method=auth_method,
        grant_types=list(grant_types),
        scopes=list(scopes),
        secret_digest=digest(secret) if secret else None,
        jwks=jwks,
    )
    store.save_client(client)
    return client


def _invalid_client(svc: Services, client_id: str | None, reason: str) -> OAuthError:
    svc.audit.event("client_auth_failed", client_id=client_id, reason=reason)
    return OAuthError("invalid_client", "client authentication failed", status=401)


def authenticate_client(
    svc: Services, form: Mapping[str, str], authorization: str | None, endpoint: str
) -> Client:
    """The client that made this request, or OAuthError("invalid_client", status=401).

    Exactly one way per request: HTTP Basic (client_secret_basic, id and secret
    form-urlencoded before base64 as RFC 6749 2.3.1 says), a signed JWT assertion
    (private_key_jwt), or a bare client_id for a public client ("none").
    `endpoint` is the URL of the endpoint called, one of the audiences an assertion
    may name.
    """
    if authorization and authorization[:6].lower() == "basic ":
        return _basic(svc, authorization[6:].strip())
    if form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
        return _assertion(svc, form["client_assertion"], endpoint)
    if form.get("client_assertion") or form.get("client_secret"):
        raise _invalid_client(svc, form.get("client_id"), "unsupported authentication method")
    client_id = form.get("client_id")
    if client_id:
        client = svc.store.client(client_id)
        if client is not None and client.auth_method == "none":
            return client
        raise _invalid_client(svc, client_id, "client must authenticate")
    raise _invalid_client(svc, None, "no client authentication")


def _basic(svc: Services, credentials: str) -> Client:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
        raw_id, raw_secret = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid_client(svc, None, "malformed basic credentials") from None
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    client = svc.store.client(client_id)
    if (
        client is None
        or client.auth_method != "client_secret_basic"
        or client.secret_digest is None
        or not hmac.compare_digest(client.secret_digest, digest(secret))
    ):
        raise _invalid_client(svc, client_id, "bad client credentials")
    return client


def _assertion(svc: Services, assertion: str, endpoint: str) -> Client:
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise _invalid_client(svc, None, "malformed client assertion") from None
    client_id = unverified.get("sub")
    client = svc.store.client(client_id) if isinstance(client_id, str) else None
    if client is None or client.auth_method != "private_key_jwt" or not client.jwks:
        raise _invalid_client(svc, None, "unknown assertion client")
    keys = [k for k in client.jwks.get("keys", []) if k.get("kid") in (None, header.get("kid"))]
    issuer = svc.settings.issuer
    audiences = [issuer, f"{issuer}/token", endpoint]
    claims: dict[str, Any] | None = None
    for jwk in keys:
        try:
            key = jwt.PyJWK(jwk)
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=["RS256", "ES256"],
                audience=audiences,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["iss", "sub", "aud", "exp", "jti"],
                },
            )
            break
        except jwt.PyJWTError:
            continue
    if claims is None:
        raise _invalid_client(svc, client.client_id, "assertion signature or audience")
    if claims["iss"] != client.client_id:
        raise _invalid_client(svc, client.client_id, "assertion issuer")
    now = svc.clock.now()
    exp = claims["exp"]
    if not isinstance(exp, int | float) or exp <= now:
        raise _invalid_client(svc, client.client_id, "assertion expired")
    for claim in ("nbf", "iat"):
        value = claims.get(claim)
        if value is not None and (not isinstance(value, int | float) or value > now):
            raise _invalid_client(svc, client.client_id, f"assertion {claim} in the future")
    if not svc.store.remember_assertion(client.client_id, str(claims["jti"]), exp, now):
        raise _invalid_client(svc, client.client_id, "assertion replayed")
    return client
