"""Client registration and client authentication (RFC 6749 2.3, RFC 7523, OIDC Core 9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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


def authenticate_client(
    svc: Services, form: Mapping[str, str], authorization: str | None, endpoint: str
) -> Client:
    """The client that made this request, or OAuthError("invalid_client", status=401).

    Exactly one way per request: HTTP Basic (client_secret_basic, id and secret
    form-urlencoded before base64 as RFC 6749 2.3.1 says), a signed JWT assertion
    (private_key_jwt: iss = sub = client_id, aud the issuer or this endpoint, exp on the
    injected clock, a jti never seen before; `Store.remember_assertion`), or a bare
    client_id for a public client ("none"). `endpoint` is the URL of the endpoint called.
    """
    # TODO(lab:tokens)
    raise NotImplementedError("authenticate_client")
