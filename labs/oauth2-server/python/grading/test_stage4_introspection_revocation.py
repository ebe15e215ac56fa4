"""Stage 4, introspection-revocation: RFC 7662, RFC 7009, and revoked tokens dying everywhere."""

from __future__ import annotations

import base64
from typing import Any

import jwt
from conftest import Env, RegisteredClient, query_of
from cryptography.hazmat.primitives.asymmetric import ec


def _introspect(env: Env, client: RegisteredClient | None, token: str, **kwargs: Any) -> Any:
    auth = env.basic(client) if client is not None else None
    return env.http.post("/introspect", data={"token": token, **kwargs}, auth=auth)


def _active(env: Env, client: RegisteredClient, token: str) -> bool:
    response = _introspect(env, client, token)
    assert response.status_code == 200, (
        f"introspection answered {response.status_code}: {response.text}"
    )
    body = response.json()
    assert isinstance(body.get("active"), bool), (
        f"introspection must say active true or false: {body}"
    )
    return bool(body["active"])


def _userinfo(env: Env, token: str) -> Any:
    return env.http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_introspection_requires_client_authentication(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    for auth in (None, (client.client_id, "wrong"), ("ghost", "secret")):
        response = env.http.post("/introspect", data={"token": body["access_token"]}, auth=auth)
        assert response.status_code == 401 and response.json().get("error") == "invalid_client", (
            f"introspection with auth={auth and auth[0]} must be refused with 401 invalid_client "
            f"(RFC 7662 2.1): got {response.status_code} {response.text[:200]}"
        )
        assert "active" not in response.json(), (
            "an unauthenticated caller learns nothing about the token"
        )


def test_introspection_with_authlib_describes_live_tokens(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    rp = env.rp(client)
    access = rp.introspect_token(env.issuer + "/introspect", token=body["access_token"]).json()
    assert access.get("active") is True, f"a fresh access token is active: {access}"
    assert (
        access.get("client_id") == client.client_id and access.get("scope") == "openid profile"
    ), access
    assert access.get("exp") == int(env.clock.now()) + env.svc.settings.access_token_ttl, access
    assert access.get("sub"), access
    refresh = rp.introspect_token(
        env.issuer + "/introspect", token=body["refresh_token"], token_type_hint="refresh_token"
    ).json()
    assert refresh.get("active") is True and refresh.get("client_id") == client.client_id, refresh


def test_anything_invalid_introspects_as_just_inactive(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    forged = jwt.encode(
        claims, ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": kid, "typ": "at+jwt"}
    )
    head, payload, sig = body["access_token"].split(".")
    tampered_payload = (
        base64.urlsafe_b64encode(
            jwt.utils.base64url_decode(payload).replace(b'"openid profile"', b'"openid admin!!"')
        )
        .rstrip(b"=")
        .decode()
    )
    for token, why in [
        ("not-a-token", "garbage"),
        (forged, "a token signed by a foreign key under our kid"),
        (f"{head}.{tampered_payload}.{sig}", "a token whose claims were edited"),
        (body["id_token"], "an ID token (not an access token)"),
    ]:
        response = _introspect(env, client, token)
        assert response.status_code == 200 and response.json() == {"active": False}, (
            f"{why}: answer 200 {{'active': false}} and nothing else (RFC 7662 2.2); "
            f"got {response.text}"
        )
    env.clock.advance(env.svc.settings.access_token_ttl)
    assert _introspect(env, client, body["access_token"]).json() == {"active": False}, (
        "an access token past exp (on the injected clock) is inactive"
    )
    assert _active(env, client, body["refresh_token"]), "the refresh token lives longer"
    env.clock.advance(env.svc.settings.refresh_token_ttl)
    assert _introspect(env, client, body["refresh_token"]).json() == {"active": False}, (
        "a refresh token past its lifetime (on the injected clock) is inactive"
    )


def test_tokens_signed_before_a_key_rotation_stay_active_until_they_expire(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    env.svc.keys.rotate()
    assert _active(env, client, body["access_token"]), (
        "a token signed with the previous key is still valid during the overlap: "
        "select the key by kid"
    )
    assert _userinfo(env, body["access_token"]).status_code == 200
    fresh = env.tokens_for(client)
    assert (
        jwt.get_unverified_header(fresh["access_token"])["kid"]
        != jwt.get_unverified_header(body["access_token"])["kid"]
    )
    assert _active(env, client, fresh["access_token"])


def test_revocation_answers_200_even_for_unknown_tokens(env: Env) -> None:
    client = env.register()
    for token in ("never-issued", "x" * 300):
        response = env.http.post("/revoke", data={"token": token}, auth=env.basic(client))
        assert response.status_code == 200, (
            f"RFC 7009 2.2: an invalid or unknown token still gets 200; got {response.status_code}"
        )
    response = env.http.post("/revoke", data={"token": "never-issued"})
    assert response.status_code == 401 and response.json().get("error") == "invalid_client", (
        "revocation requires client authentication"
    )


def test_revoked_access_token_stops_working_everywhere(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    assert _userinfo(env, body["access_token"]).status_code == 200
    rp = env.rp(client)
    response = rp.revoke_token(
        env.issuer + "/revoke", token=body["access_token"], token_type_hint="access_token"
    )
    assert response.status_code == 200, response.text
    assert not _active(env, client, body["access_token"]), (
        "a revoked access token introspects inactive"
    )
    info = _userinfo(env, body["access_token"])
    assert info.status_code == 401 and "invalid_token" in info.headers.get(
        "www-authenticate", ""
    ), (
        "a revoked access token is refused at userinfo with 401 and "
        'WWW-Authenticate: Bearer error="invalid_token"'
    )


def test_revoking_a_refresh_token_revokes_its_family(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    rp = env.rp(client)
    response = rp.revoke_token(
        env.issuer + "/revoke", token=body["refresh_token"], token_type_hint="refresh_token"
    )
    assert response.status_code == 200
    assert not _active(env, client, body["refresh_token"]), "the revoked refresh token is inactive"
    refresh = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refresh.status_code == 400 and refresh.json().get("error") == "invalid_grant"
    assert not _active(env, client, body["access_token"]), (
        "revoking a refresh token also revokes the access tokens issued with it (the stated policy)"
    )
    assert _userinfo(env, body["access_token"]).status_code == 401


def test_refresh_reuse_kills_the_familys_access_tokens(env: Env) -> None:
    client = env.register()
    body = env.tokens_for(client)
    rotated = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    ).json()
    assert _active(env, client, rotated["access_token"])
    assert not _active(env, client, body["refresh_token"]), "a used refresh token is inactive"
    env.token(client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    for token in (body["access_token"], rotated["access_token"], rotated["refresh_token"]):
        assert not _active(env, client, token), (
            "after refresh-token reuse every token of the family is revoked, access tokens included"
        )


def test_clients_cannot_revoke_each_others_tokens(env: Env) -> None:
    client, other = env.register(), env.register()
    body = env.tokens_for(client)
    for token in (body["access_token"], body["refresh_token"]):
        response = env.http.post("/revoke", data={"token": token}, auth=env.basic(other))
        assert response.status_code == 200
    assert _active(env, client, body["access_token"]) and _active(
        env, client, body["refresh_token"]
    ), "another client's revocation request must not revoke this client's tokens (RFC 7009 2.1)"


def test_userinfo_serves_live_openid_tokens_only(env: Env) -> None:
    username, sub = env.add_user()
    client = env.register()
    verifier = "v" * 43
    params = env.auth_params(client, verifier)
    response = env.consent(env.user_agent(username), params)
    code = query_of(response.headers["location"])["code"]
    body = env.token(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": params["redirect_uri"],
            "code_verifier": verifier,
        },
    ).json()
    info = _userinfo(env, body["access_token"])
    assert info.status_code == 200 and info.json().get("sub") == sub, info.text
    assert info.json().get("preferred_username") == username, info.text
    missing = env.http.get("/userinfo")
    assert missing.status_code == 401 and missing.headers.get("www-authenticate", "").startswith(
        "Bearer"
    )
    service = env.register(grant_types=["client_credentials"], scopes=["read"])
    machine = env.token(service, {"grant_type": "client_credentials"}).json()["access_token"]
    assert _userinfo(env, machine).status_code == 403, (
        "a token without the openid scope gets 403 insufficient_scope"
    )
    env.clock.advance(env.svc.settings.access_token_ttl)
    assert _userinfo(env, body["access_token"]).status_code == 401, "an expired token gets 401"
