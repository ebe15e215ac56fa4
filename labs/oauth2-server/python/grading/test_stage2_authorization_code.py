"""Stage 2, authorization-code: the authorization endpoint, consent, PKCE and codes."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from conftest import REDIRECT, Env, load, query_of, s256

TRICKS = {
    "prefix": REDIRECT + "/extra",
    "suffix": REDIRECT + "x",
    "trailing slash": REDIRECT + "/",
    "host case": "https://RP.example/callback",
    "path case": "https://rp.example/Callback",
    "path traversal": "https://rp.example/callback/../evil",
    "encoded traversal": "https://rp.example/callback/%2e%2e/evil",
    "extra query": REDIRECT + "?next=https://evil.example",
    "userinfo host": "https://rp.example@evil.example/callback",
    "fragment": REDIRECT + "#frag",
    "scheme downgrade": "http://rp.example/callback",
    "port": "https://rp.example:8443/callback",
    "other host": "https://evil.example/callback",
}


def _redeem(
    env: Env, client_id: str, code: str, redirect_uri: str | None, verifier: str | None
) -> Any:
    client = env.svc.store.client(client_id)
    return load("authorize").redeem_code(env.svc, client, code, redirect_uri, verifier)


def _assert_invalid_grant(
    env: Env, client_id: str, code: str, redirect_uri: str | None, verifier: str | None, why: str
) -> None:
    errors = load("errors")
    with pytest.raises(errors.OAuthError) as caught:
        _redeem(env, client_id, code, redirect_uri, verifier)
    assert caught.value.error == "invalid_grant", (
        f"{why}: expected invalid_grant, got {caught.value.error}"
    )


def test_code_flow_redirects_with_code_and_state(env: Env) -> None:
    client = env.register()
    verifier = secrets.token_urlsafe(48)
    params = env.auth_params(client, verifier)
    ua = env.user_agent()
    consent = ua.get("/authorize", params=params)
    assert consent.status_code == 200, (
        "a valid request from a signed-in user shows the consent page: "
        f"{consent.status_code} {consent.text[:200]}"
    )
    response = env.consent(ua, params)
    assert response.status_code in (302, 303), response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), (
        f"the code goes to the registered redirect URI: {location}"
    )
    got = query_of(location)
    assert got.get("state") == params["state"], f"state must come back unchanged: {location}"
    assert "access_token" not in got and "id_token" not in got, "the code flow returns only a code"
    assert len(got.get("code", "")) >= 22, "codes carry at least 128 bits of randomness"
    other, _ = env.get_code(client)
    assert other != got["code"], "every authorization gets its own code"


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_unregistered_redirect_uris_are_refused_without_redirecting(env: Env, trick: str) -> None:
    client = env.register()
    ua = env.user_agent()
    good = ua.get("/authorize", params=env.auth_params(client, secrets.token_urlsafe(48)))
    assert good.status_code == 200, (
        f"the registered redirect_uri itself is accepted: {good.status_code}"
    )
    params = env.auth_params(client, secrets.token_urlsafe(48), redirect_uri=TRICKS[trick])
    response = ua.get("/authorize", params=params)
    assert response.status_code == 400 and "location" not in response.headers, (
        f"redirect_uri {TRICKS[trick]!r} ({trick}) differs from the registered {REDIRECT!r}: "
        "compare exact strings and answer 400 without redirecting "
        "(an open redirector leaks codes); "
        f"got {response.status_code} {response.headers.get('location')}"
    )


def test_unknown_clients_and_missing_redirect_uris_are_refused_without_redirecting(
    env: Env,
) -> None:
    client = env.register()
    ua = env.user_agent()
    good = ua.get("/authorize", params=env.auth_params(client, secrets.token_urlsafe(48)))
    assert good.status_code == 200, f"a valid request is accepted: {good.status_code}"
    for override in ({"client_id": "no-such-client"}, {"redirect_uri": None}, {"client_id": None}):
        params = env.auth_params(client, secrets.token_urlsafe(48), **override)  # type: ignore[arg-type]
        response = ua.get("/authorize", params=params)
        assert response.status_code == 400 and "location" not in response.headers, (
            f"with {override} the server cannot trust any redirect URI: answer 400, no redirect; "
            f"got {response.status_code}"
        )


def test_registered_redirect_uri_with_a_query_is_kept_intact(env: Env) -> None:
    registered = "https://rp.example/cb?tenant=a"
    client = env.register(redirect_uris=[registered, REDIRECT])
    ua = env.user_agent()
    response = env.consent(
        ua, env.auth_params(client, secrets.token_urlsafe(48), redirect_uri=registered)
    )
    got = query_of(response.headers["location"])
    assert response.headers["location"].startswith("https://rp.example/cb?"), response.headers[
        "location"
    ]
    assert got.get("tenant") == "a" and "code" in got, (
        "the registered URI's own query must be kept and the code added to it: "
        f"{response.headers['location']}"
    )


@pytest.mark.parametrize(
    "override",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": "s256"},
        {"code_challenge": "too-short"},
    ],
    ids=["no-pkce", "no-challenge", "no-method", "plain", "lowercase", "short-challenge"],
)
def test_pkce_is_required_and_s256_only(env: Env, override: dict[str, Any]) -> None:
    client = env.register()
    verifier = secrets.token_urlsafe(48)
    params = env.auth_params(client, verifier, **override)
    if override.get("code_challenge_method") == "plain":
        params["code_challenge"] = verifier
    response = env.user_agent().get("/authorize", params=params)
    assert response.status_code in (302, 303), (
        f"PKCE {override}: refuse by redirecting with error=invalid_request; "
        f"got {response.status_code}"
    )
    got = query_of(response.headers["location"])
    assert got.get("error") == "invalid_request" and "code" not in got, (
        "PKCE is mandatory and S256 only (a missing method means plain): "
        f"{response.headers['location']}"
    )
    assert got.get("state") == params["state"], "error redirects carry the state back"


@pytest.mark.parametrize(
    ("override", "register", "error"),
    [
        ({"response_type": None}, {}, "invalid_request"),
        ({"scope": "openid admin"}, {}, "invalid_scope"),
        ({"scope": None}, {}, "invalid_scope"),
        ({}, {"grant_types": ["client_credentials"]}, "unauthorized_client"),
    ],
    ids=["no-response-type", "unknown-scope", "no-scope", "grant-not-allowed"],
)
def test_request_errors_redirect_back_with_the_right_code(
    env: Env, override: dict[str, Any], register: dict[str, Any], error: str
) -> None:
    client = env.register(**register)
    params = env.auth_params(client, secrets.token_urlsafe(48), **override)
    response = env.user_agent().get("/authorize", params=params)
    assert response.status_code in (302, 303), f"{override}: expected a redirect with error={error}"
    got = query_of(response.headers["location"])
    assert response.headers["location"].startswith(REDIRECT + "?")
    assert got.get("error") == error and "code" not in got, (
        f"{override or register}: RFC 6749 4.1.2.1 says error={error}; got {got}"
    )
    assert got.get("state") == params["state"]


def test_signed_out_users_are_sent_to_sign_in_first(env: Env) -> None:
    client = env.register()
    params = env.auth_params(client, secrets.token_urlsafe(48))
    response = env.http.get("/authorize", params=params)
    assert response.status_code in (302, 303), (
        f"a signed-out user is redirected to sign in: {response.status_code}"
    )
    location = response.headers["location"]
    assert location.startswith("/login") or location.startswith(env.issuer + "/login"), (
        f"signed out, the user goes to /login, never to the client with a code: {location}"
    )


def test_denied_consent_redirects_with_access_denied(env: Env) -> None:
    client = env.register()
    params = env.auth_params(client, secrets.token_urlsafe(48))
    response = env.consent(env.user_agent(), params, decision="deny")
    assert response.status_code in (302, 303)
    got = query_of(response.headers["location"])
    assert got.get("error") == "access_denied" and "code" not in got, got
    assert got.get("state") == params["state"], got


def test_consent_is_bound_to_the_user_and_answered_once(env: Env) -> None:
    import re

    client = env.register()
    params = env.auth_params(client, secrets.token_urlsafe(48))
    alice, mallory = env.user_agent(), env.user_agent()
    page = alice.get("/authorize", params=params)
    request_id = re.search(r"name=['\"]request_id['\"][^>]*value=['\"]([^'\"]+)", page.text)
    assert request_id, page.text[:300]
    stolen = mallory.post(
        "/authorize/decision", data={"request_id": request_id.group(1), "decision": "allow"}
    )
    assert "code=" not in stolen.headers.get("location", ""), (
        "another user's session approved this user's request: "
        "bind the pending request to the session's user"
    )
    page = alice.get("/authorize", params=params)
    request_id = re.search(r"name=['\"]request_id['\"][^>]*value=['\"]([^'\"]+)", page.text)
    assert request_id, page.text[:300]
    first = alice.post(
        "/authorize/decision", data={"request_id": request_id.group(1), "decision": "allow"}
    )
    assert "code=" in first.headers.get("location", ""), (
        f"the user's own answer gives a code: {first.text[:200]}"
    )
    second = alice.post(
        "/authorize/decision", data={"request_id": request_id.group(1), "decision": "allow"}
    )
    assert "code=" not in second.headers.get("location", ""), "a consent request is answered once"


def test_codes_need_the_matching_s256_verifier(env: Env) -> None:
    client = env.register()
    for verifier, why in [
        (None, "no code_verifier"),
        ("wrong" + secrets.token_urlsafe(48), "a different verifier"),
        ("challenge", "the challenge itself (a plain PKCE downgrade)"),
        ("short", "a verifier under 43 characters"),
    ]:
        real = secrets.token_urlsafe(48)
        code, params = env.get_code(client, real)
        sent = params["code_challenge"] if verifier == "challenge" else verifier
        _assert_invalid_grant(env, client.client_id, code, REDIRECT, sent, why)
    real = secrets.token_urlsafe(48)
    code, _ = env.get_code(client, real)
    record = _redeem(env, client.client_id, code, REDIRECT, real)
    assert record.client_id == client.client_id and record.code_challenge == s256(real)


def test_codes_are_single_use_and_replay_revokes_their_family(env: Env) -> None:
    client = env.register()
    verifier = secrets.token_urlsafe(48)
    code, _ = env.get_code(client, verifier)
    record = _redeem(env, client.client_id, code, REDIRECT, verifier)
    assert not env.svc.store.family_revoked(record.family)
    _assert_invalid_grant(
        env, client.client_id, code, REDIRECT, verifier, "the same code a second time"
    )
    assert env.svc.store.family_revoked(record.family), (
        "a replayed code must revoke the tokens issued from it (RFC 6749 4.1.2): revoke its family"
    )


def test_codes_expire_on_the_injected_clock(env: Env) -> None:
    client = env.register()
    ttl = env.svc.settings.code_ttl
    assert 0 < ttl <= 600, f"codes are short-lived (RFC 6749 4.1.2: at most 10 minutes): {ttl}"
    verifier = secrets.token_urlsafe(48)
    code, _ = env.get_code(client, verifier)
    env.clock.advance(ttl - 1)
    _redeem(env, client.client_id, code, REDIRECT, verifier)
    code, _ = env.get_code(client, verifier)
    env.clock.advance(ttl)
    _assert_invalid_grant(
        env, client.client_id, code, REDIRECT, verifier, f"a code {ttl} s old (code_ttl)"
    )


def test_codes_are_bound_to_their_client_and_redirect_uri(env: Env) -> None:
    second_uri = "https://rp.example/second"
    client = env.register(redirect_uris=[REDIRECT, second_uri])
    other = env.register()
    verifier = secrets.token_urlsafe(48)
    for client_id, redirect_uri, why in [
        (other.client_id, REDIRECT, "another client's code"),
        (client.client_id, second_uri, "a different registered redirect_uri"),
        (client.client_id, None, "no redirect_uri"),
    ]:
        code, _ = env.get_code(client, verifier)
        _assert_invalid_grant(env, client_id, code, redirect_uri, verifier, why)
