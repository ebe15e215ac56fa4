"""Stage 3, tokens: ID and access tokens, refresh rotation, client authentication."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from conftest import REDIRECT, Env, RegisteredClient, query_of

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _left_half_hash(token: str) -> str:
    half = hashlib.sha256(token.encode()).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def _unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _assertion(env: Env, client: RegisteredClient, **override: Any) -> str:
    key = override.pop("_key", None) or client.private_key
    now = int(env.clock.now())
    claims: dict[str, Any] = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": env.issuer + "/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    claims.update(override)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": client.kid})


def _clocked_private_key_jwt(env: Env, kid: str | None) -> Any:
    """Authlib's private_key_jwt client auth, timed by the FakeClock instead of the wall."""
    from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign

    class ClockedPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
        def sign(self, auth: Any, token_endpoint: str) -> Any:
            now = int(env.clock.now())
            return private_key_jwt_sign(
                auth.client_secret,
                client_id=auth.client_id,
                token_endpoint=token_endpoint,
                claims={"jti": uuid.uuid4().hex},
                header={"kid": kid},
                alg="RS256",
                issued_at=now,
                expires_at=now + 60,
            )

    return ClockedPrivateKeyJWT()


def test_authlib_client_completes_the_code_flow(env: Env) -> None:
    from authlib.common.security import generate_token

    username, sub = env.add_user()
    client = env.register()
    rp = env.rp(client)
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(
        env.issuer + "/authorize", code_verifier=verifier, nonce=nonce
    )
    ua = env.user_agent(username)
    page = ua.get(url)
    assert page.status_code == 200, (
        f"Authlib's authorization request was refused: {page.status_code} {page.text[:300]}"
    )
    params = dict(httpx.URL(url).params)
    answer = env.consent(ua, params)
    location = answer.headers.get("location", "")
    assert query_of(location).get("state") == state
    token = rp.fetch_token(
        env.issuer + "/token", authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"].lower() == "bearer" and token["expires_in"] > 0, token
    claims = env.validate_id_token(
        token["id_token"], client.client_id, nonce, token["access_token"]
    )
    assert claims["sub"] == sub, (
        f"the ID token's sub is the signed-in user's: {claims['sub']} != {sub}"
    )
    refreshed = rp.refresh_token(env.issuer + "/token", refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert (
        refreshed.get("refresh_token") and refreshed["refresh_token"] != token["refresh_token"]
    ), "a refresh must return a new refresh token (rotation)"


def test_id_token_claims_are_exact(make_env: Any) -> None:
    # Distinct lifetimes, so an ID token that borrows the access token's shows.
    env = make_env(id_token_ttl=600, access_token_ttl=120)
    username, sub = env.add_user()
    client = env.register()
    login_time = int(env.clock.now())
    ua = env.user_agent(username)
    env.clock.advance(7)
    verifier = secrets.token_urlsafe(48)
    params = env.auth_params(client, verifier)
    response = env.consent(ua, params)
    code = query_of(response.headers["location"])["code"]
    env.clock.advance(3)
    body = env.token(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    ).json()
    header = jwt.get_unverified_header(body["id_token"])
    assert header.get("alg") in ("ES256", "RS256") and header.get("kid"), header
    claims = env.validate_id_token(
        body["id_token"], client.client_id, params["nonce"], body["access_token"]
    )
    now = int(env.clock.now())
    assert claims["iss"] == env.issuer and claims["sub"] == sub
    aud = claims["aud"]
    assert aud == client.client_id or aud == [client.client_id], (
        f"aud must be the client alone: {aud}"
    )
    assert claims.get("azp") == client.client_id, f"azp names the client: {claims.get('azp')}"
    assert claims["iat"] == now, f"iat is the injected clock's now ({now}): {claims['iat']}"
    assert claims["exp"] == now + env.svc.settings.id_token_ttl, "exp = iat + id_token_ttl"
    assert claims.get("nonce") == params["nonce"], "the nonce of the request is echoed"
    assert claims.get("at_hash") == _left_half_hash(body["access_token"]), (
        "at_hash is base64url of the LEFT half of SHA-256 of the access token"
    )
    assert claims.get("auth_time") == login_time, (
        f"auth_time is when the user signed in ({login_time}), not when the token was made"
    )


def test_id_tokens_without_nonce_and_substitutions_are_caught(env: Env) -> None:
    client, other = env.register(), env.register()
    body = env.tokens_for(client, nonce=None)  # type: ignore[arg-type]
    claims = _unverified(body["id_token"])
    assert "nonce" not in claims, "no nonce was sent, so none is echoed"
    with pytest.raises(Exception):  # noqa: B017 - any validation failure will do
        env.validate_id_token(body["id_token"], other.client_id, None, None)
    with pytest.raises(Exception):  # noqa: B017
        env.validate_id_token(body["access_token"], client.client_id, None, None)
    header = jwt.get_unverified_header(body["access_token"])
    assert header.get("typ", "").lower() in ("at+jwt", "application/at+jwt"), (
        f"access tokens are typed at+jwt (RFC 9068) so they cannot pass for ID tokens: {header}"
    )
    assert _unverified(body["access_token"]).get("aud") != client.client_id, (
        "an access token's audience is the resource, not the client"
    )


def test_access_token_claims(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    claims = _unverified(body["access_token"])
    now = int(env.clock.now())
    assert claims["iss"] == env.issuer and claims["sub"] and claims["client_id"] == client.client_id
    assert claims["scope"] == "openid profile" == body["scope"], claims
    assert claims["iat"] == now and claims["exp"] == now + env.svc.settings.access_token_ttl
    assert body["expires_in"] == env.svc.settings.access_token_ttl
    assert claims.get("jti"), "access tokens carry a jti (for revocation)"


def test_token_responses_are_never_cached(env: Env) -> None:
    client = env.register()
    code, _ = env.get_code(client, "v" * 43)
    ok = env.token(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 43,
        },
    )
    bad = env.token(
        client,
        {
            "grant_type": "authorization_code",
            "code": "nope",
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 43,
        },
    )
    assert (
        ok.status_code == 200
        and bad.status_code == 400
        and bad.json().get("error") == "invalid_grant"
    )
    for response in (ok, bad):
        assert "no-store" in response.headers.get("cache-control", ""), (
            "token responses carry Cache-Control: no-store"
        )


def test_code_replay_revokes_the_tokens_it_issued(env: Env) -> None:
    client = env.register()
    verifier = secrets.token_urlsafe(48)
    code, _ = env.get_code(client, verifier)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    first = env.token(client, data)
    assert first.status_code == 200, first.text
    replay = env.token(client, data)
    assert replay.status_code == 400 and replay.json().get("error") == "invalid_grant", replay.text
    refresh = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    )
    assert refresh.status_code == 400 and refresh.json().get("error") == "invalid_grant", (
        "after a code replay, the refresh token issued from that code must be revoked"
    )


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(env: Env) -> None:
    client = env.register()
    first = env.tokens_for(client)
    second = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200, second.text
    r2 = second.json()["refresh_token"]
    assert r2 != first["refresh_token"]
    reuse = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 400 and reuse.json().get("error") == "invalid_grant", (
        "a used refresh token must be refused"
    )
    after = env.token(client, {"grant_type": "refresh_token", "refresh_token": r2})
    assert after.status_code == 400 and after.json().get("error") == "invalid_grant", (
        "reuse of a rotated refresh token must revoke the whole family, including the newest one"
    )


def test_refresh_tokens_keep_their_client_scope_and_lifetime(env: Env) -> None:
    client, other = env.register(), env.register()
    body = env.tokens_for(client)
    stolen = env.token(
        other, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert stolen.status_code == 400 and stolen.json().get("error") == "invalid_grant", (
        "a refresh token works only for the client it was issued to"
    )
    wider = env.token(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "scope": "openid profile admin",
        },
    )
    assert wider.status_code == 400 and wider.json().get("error") == "invalid_scope", wider.text
    narrower = env.token(
        client,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "scope": "openid"},
    )
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid", narrower.text
    env.clock.advance(env.svc.settings.refresh_token_ttl)
    late = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": narrower.json()["refresh_token"]}
    )
    assert late.status_code == 400 and late.json().get("error") == "invalid_grant", (
        "refresh tokens expire refresh_token_ttl after issue, on the injected clock"
    )


def test_client_secret_basic_credentials_are_form_urlencoded(env: Env) -> None:
    client = env.register(
        client_id="app:one/é",
        secret="p+ss:w/rd=%20é",
        grant_types=["client_credentials"],
        scopes=["read"],
    )
    raw = f"{quote_plus(client.client_id)}:{quote_plus(client.secret or '')}".encode()
    header = "Basic " + base64.b64encode(raw).decode()
    response = env.http.post(
        "/token", data={"grant_type": "client_credentials"}, headers={"Authorization": header}
    )
    assert response.status_code == 200, (
        "RFC 6749 2.3.1: the id and secret are form-urlencoded before base64; "
        f"decode them after splitting on the first ':' ({response.status_code} {response.text})"
    )


@pytest.mark.parametrize("case", ["wrong-secret", "unknown-client", "no-auth", "bad-base64"])
def test_failed_client_authentication_is_401_with_a_challenge(env: Env, case: str) -> None:
    client = env.register(grant_types=["client_credentials"], scopes=["read"])
    headers: dict[str, str] = {}
    if case == "wrong-secret":
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{client.client_id}:nope".encode()).decode()
        )
    elif case == "unknown-client":
        headers["Authorization"] = "Basic " + base64.b64encode(b"ghost:secret").decode()
    elif case == "bad-base64":
        headers["Authorization"] = "Basic !!!"
    response = env.http.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code == 401, (
        f"{case}: invalid_client is 401 (RFC 6749 5.2), got {response.status_code}"
    )
    assert response.json().get("error") == "invalid_client", response.text
    assert response.headers.get("www-authenticate", "").lower().startswith("basic"), (
        "a 401 names the scheme to use: WWW-Authenticate: Basic ..."
    )


def test_private_key_jwt_with_authlib(env: Env) -> None:
    from authlib.integrations.httpx_client import OAuth2Client
    from cryptography.hazmat.primitives import serialization
    from joserfc.jwk import RSAKey

    client = env.register_jwt_client(grant_types=["client_credentials"], scopes=["read"])
    auth = _clocked_private_key_jwt(env, client.kid)
    rp = OAuth2Client(
        client_id=client.client_id,
        client_secret=RSAKey.import_key(
            client.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        token_endpoint_auth_method=auth,
        timeout=10,
        trust_env=False,
    )
    token = rp.fetch_token(env.issuer + "/token", grant_type="client_credentials", scope="read")
    assert token["scope"] == "read" and token["access_token"], token
    again = rp.fetch_token(env.issuer + "/token", grant_type="client_credentials", scope="read")
    assert again["access_token"] != token["access_token"], (
        "each assertion has its own jti: both succeed"
    )


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"aud": "https://elsewhere.example/token"}, "an assertion for another server (aud)"),
        ({"aud": None}, "an assertion without aud"),
        ({"exp": "now"}, "an expired assertion (exp on the injected clock)"),
        ({"exp": None}, "an assertion without exp"),
        ({"jti": None}, "an assertion without jti"),
        ({"iss": "someone-else"}, "an assertion whose iss is not the client"),
        ({"_key": "foreign"}, "an assertion signed with a key the client did not register"),
    ],
    ids=["aud", "no-aud", "expired", "no-exp", "no-jti", "iss", "foreign-key"],
)
def test_private_key_jwt_assertions_are_checked(
    env: Env, override: dict[str, Any], why: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    client = env.register_jwt_client(grant_types=["client_credentials"], scopes=["read"])
    if override.get("exp") == "now":
        override = {"exp": int(env.clock.now())}
    if override.get("_key") == "foreign":
        override = {"_key": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(env, client, **override),
    }
    response = env.http.post("/token", data=data)
    assert response.status_code == 401 and response.json().get("error") == "invalid_client", (
        f"{why} must fail client authentication: {response.status_code} {response.text}"
    )


def test_private_key_jwt_assertions_cannot_be_replayed(env: Env) -> None:
    client = env.register_jwt_client(grant_types=["client_credentials"], scopes=["read"])
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(env, client),
    }
    first = env.http.post("/token", data=data)
    assert first.status_code == 200, (
        f"a valid assertion (aud = token endpoint) is accepted: {first.text}"
    )
    issuer_aud = env.http.post(
        "/token", data={**data, "client_assertion": _assertion(env, client, aud=env.issuer)}
    )
    assert issuer_aud.status_code == 200, (
        f"the issuer is also a valid assertion audience: {issuer_aud.text}"
    )
    replay = env.http.post("/token", data=data)
    assert replay.status_code == 401 and replay.json().get("error") == "invalid_client", (
        "the same assertion (same jti) a second time is a replay: refuse it"
    )


def test_client_credentials_grant_respects_allowed_scopes(env: Env) -> None:
    client = env.register(grant_types=["client_credentials"], scopes=["read", "write"])
    one = env.token(client, {"grant_type": "client_credentials", "scope": "read"})
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["scope"] == "read", f"the token has the scope asked for, no more: {body['scope']}"
    assert "refresh_token" not in body and "id_token" not in body, (
        "client credentials get neither a refresh token nor an ID token (there is no user)"
    )
    claims = _unverified(body["access_token"])
    assert claims["scope"] == "read" and claims["sub"] == client.client_id, claims
    for scope in ("admin", "read admin", "openid"):
        refused = env.token(client, {"grant_type": "client_credentials", "scope": scope})
        assert refused.status_code == 400 and refused.json().get("error") == "invalid_scope", (
            f"scope {scope!r} is not allowed for this client: {refused.status_code} {refused.text}"
        )
    code_client = env.register()
    refused = env.token(code_client, {"grant_type": "client_credentials"})
    assert refused.status_code == 400 and refused.json().get("error") == "unauthorized_client", (
        refused.text
    )
