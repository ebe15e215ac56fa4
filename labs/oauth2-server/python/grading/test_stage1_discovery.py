"""Stage 1, discovery: the OIDC discovery document, the JWK Set and key rotation."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from conftest import Env, load
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


def _claims(env: Env, ttl: int = 120, **extra: Any) -> dict[str, Any]:
    now = int(env.clock.now())
    claims: dict[str, Any] = {"iss": env.issuer, "sub": "someone", "iat": now, "exp": now + ttl}
    claims.update(extra)
    return claims


def _verifies_with_jwks(env: Env, token: str) -> bool:
    try:
        jose_jwt.decode(token, env.jwks(), algorithms=["ES256", "RS256"])
    except (JoseError, ValueError):
        return False
    return True


def test_discovery_document_describes_this_server(env: Env) -> None:
    response = env.http.get("/.well-known/openid-configuration")
    assert response.status_code == 200, f"discovery answered {response.status_code}"
    doc = response.json()
    assert doc.get("issuer") == env.issuer, (
        f"issuer must be exactly the configured issuer {env.issuer!r} (no trailing slash): "
        f"got {doc.get('issuer')!r}"
    )
    for name, path in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/jwks.json"),
        ("userinfo_endpoint", "/userinfo"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
    ]:
        assert doc.get(name) == env.issuer + path, (
            f"{name} should be {env.issuer + path}: {doc.get(name)!r}"
        )
    assert doc.get("response_types_supported") == ["code"], (
        "only the code flow is offered (no implicit or hybrid): "
        f"response_types_supported={doc.get('response_types_supported')}"
    )
    assert doc.get("code_challenge_methods_supported") == ["S256"], (
        "PKCE is S256 only; advertising plain invites downgrades: "
        f"{doc.get('code_challenge_methods_supported')}"
    )
    grants = set(doc.get("grant_types_supported", []))
    assert {"authorization_code", "refresh_token", "client_credentials"} <= grants, grants
    assert not grants & {"implicit", "password"}, f"no implicit or password grant: {grants}"
    assert "ES256" in doc.get("id_token_signing_alg_values_supported", []) or "RS256" in doc.get(
        "id_token_signing_alg_values_supported", []
    )
    assert "none" not in doc.get("id_token_signing_alg_values_supported", []), (
        "alg none is never offered"
    )
    methods = set(doc.get("token_endpoint_auth_methods_supported", []))
    assert {"client_secret_basic", "private_key_jwt"} <= methods, methods
    assert "public" in doc.get("subject_types_supported", []), doc.get("subject_types_supported")
    assert doc.get("authorization_response_iss_parameter_supported") is True, (
        "advertise RFC 9207: authorization_response_iss_parameter_supported must be true"
    )


def test_jwks_publishes_only_public_keys_with_kid(env: Env) -> None:
    response = env.http.get("/jwks.json")
    assert response.status_code == 200
    keys = response.json().get("keys")
    assert isinstance(keys, list) and keys, f"the JWK Set has no keys: {response.text}"
    kids = [key.get("kid") for key in keys]
    assert all(isinstance(kid, str) and kid for kid in kids), f"every key needs a kid: {kids}"
    assert len(set(kids)) == len(kids), f"kids must be unique: {kids}"
    for key in keys:
        leaked = PRIVATE_MEMBERS & set(key)
        assert not leaked, f"the JWKS leaks private key members {sorted(leaked)} of {key['kid']}"
        assert key.get("use") == "sig" and key.get("alg") in ("ES256", "RS256"), key
        assert key.get("kty") in ("EC", "RSA"), key


def test_tokens_name_their_signing_key_by_kid(env: Env) -> None:
    ring = env.svc.keys
    token = ring.sign(_claims(env))
    header = jwt.get_unverified_header(token)
    assert header.get("kid") in {k["kid"] for k in env.jwks().as_dict()["keys"]}, header
    assert _verifies_with_jwks(env, token), "a freshly signed token must verify against /jwks.json"
    new_kid = ring.rotate()
    token2 = ring.sign(_claims(env))
    assert jwt.get_unverified_header(token2).get("kid") == new_kid, (
        "after rotate(), tokens must be signed with the new key and name it in kid"
    )
    assert _verifies_with_jwks(env, token2), "a token signed after rotation must verify via JWKS"


def test_rotation_keeps_the_old_key_for_the_overlap_window(env: Env) -> None:
    ring, overlap = env.svc.keys, env.svc.settings.key_overlap
    old = ring.sign(_claims(env, ttl=overlap + 600))
    old_kid = jwt.get_unverified_header(old)["kid"]
    ring.rotate()
    published = {k["kid"] for k in env.http.get("/jwks.json").json()["keys"]}
    assert old_kid in published and len(published) == 2, (
        f"right after a rotation the JWKS must hold the new key and the old one: {published}"
    )
    assert _verifies_with_jwks(env, old), (
        "a token signed before rotation must still verify via JWKS"
    )
    env.clock.advance(overlap - 1)
    assert old_kid in {k["kid"] for k in env.http.get("/jwks.json").json()["keys"]}, (
        f"the old key must stay published for key_overlap={overlap} s after the rotation"
    )
    ring.verify(old, typ="JWT")
    env.clock.advance(2)
    published = {k["kid"] for k in env.http.get("/jwks.json").json()["keys"]}
    assert old_kid not in published and len(published) == 1, (
        f"key_overlap s after the rotation the retired key must leave the JWKS: {published}"
    )
    with pytest.raises(load("keys").InvalidToken):
        ring.verify(old, typ="JWT")


def test_verification_selects_the_key_by_kid(env: Env) -> None:
    ring, keys = env.svc.keys, load("keys")
    before = ring.sign(_claims(env))
    ring.rotate()
    after = ring.sign(_claims(env))
    for token in (before, after):
        assert ring.verify(token, typ="JWT")["sub"] == "someone", (
            "verify() must accept tokens signed by any published key, chosen by kid"
        )
    # The right signature under the wrong kid, an unknown kid, and a foreign key.
    kid_after = jwt.get_unverified_header(after)["kid"]
    _, payload_b64, sig = before.split(".")
    header = jwt.get_unverified_header(before)
    header["kid"] = kid_after
    swapped_header = jwt.utils.base64url_encode(json.dumps(header).encode()).decode()
    forged = [
        f"{swapped_header}.{payload_b64}.{sig}",
        jwt.encode(
            _claims(env), ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": kid_after}
        ),
        jwt.encode(_claims(env), ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": "nope"}),
        jwt.encode(_claims(env), "s" * 32, "HS256", {"kid": kid_after}),
        before[:-4] + ("AAAA" if not before.endswith("AAAA") else "BBBB"),
    ]
    for token in forged:
        with pytest.raises(keys.InvalidToken):
            ring.verify(token, typ="JWT")


def test_token_times_follow_the_injected_clock(env: Env) -> None:
    ring, keys = env.svc.keys, load("keys")
    token = ring.sign(_claims(env, ttl=60))
    ring.verify(token, typ="JWT")
    env.clock.advance(59)
    ring.verify(token, typ="JWT")
    env.clock.advance(1)
    with pytest.raises(keys.InvalidToken):
        ring.verify(token, typ="JWT")  # exp reached on the injected clock
    now = int(env.clock.now())
    for claims in (
        _claims(env, nbf=now + 30),
        _claims(env, iat=now + 30),
        {"iss": env.issuer, "sub": "x", "iat": now},  # no exp
        _claims(env, iss="https://other.example"),
    ):
        with pytest.raises(keys.InvalidToken):
            ring.verify(ring.sign(claims), typ="JWT")
    with pytest.raises(keys.InvalidToken):
        ring.verify(ring.sign(_claims(env), typ="JWT"), typ="at+jwt")


def test_signing_keys_persist_across_restarts(make_env: Any) -> None:
    first = make_env()
    kids = {k["kid"] for k in first.http.get("/jwks.json").json()["keys"]}
    token = first.svc.keys.sign(_claims(first))
    second = make_env(database_path=first.svc.settings.database_path)
    assert {k["kid"] for k in second.http.get("/jwks.json").json()["keys"]} == kids, (
        "a restarted server must keep its keys (they live in the store), or every token dies"
    )
    second.svc.keys.verify(token, typ="JWT")
