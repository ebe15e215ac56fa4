"""Stage 5, hardening: what the OAuth 2.0 Security BCP (RFC 9700) asks for."""

from __future__ import annotations

import json
import logging
import math
import secrets
from typing import Any

import pytest
from conftest import PASSWORD, REDIRECT, Env, load, query_of


def test_authorization_responses_name_the_issuer(env: Env) -> None:
    client = env.register()
    for override, decision in [({}, "allow"), ({}, "deny"), ({"scope": "admin"}, "allow")]:
        params = env.auth_params(client, secrets.token_urlsafe(48), **override)
        response = env.consent(env.user_agent(), params, decision=decision)
        assert response.status_code in (302, 303), response.text[:200]
        got = query_of(response.headers["location"])
        assert got.get("iss") == env.issuer, (
            f"every authorization response, success or error, carries iss={env.issuer} "
            f"(RFC 9207, the mix-up defence): {response.headers['location']}"
        )


@pytest.mark.parametrize(
    "response_type", ["token", "id_token", "id_token token", "code token", "code id_token"]
)
def test_implicit_and_hybrid_flows_are_refused(env: Env, response_type: str) -> None:
    client = env.register()
    params = env.auth_params(client, secrets.token_urlsafe(48), response_type=response_type)
    response = env.consent(env.user_agent(), params)
    assert response.status_code in (302, 303), f"{response_type}: redirect back with an error"
    location = response.headers["location"]
    got = query_of(location)
    assert got.get("error") == "unsupported_response_type", (
        f"response_type={response_type} must be refused with unsupported_response_type: {location}"
    )
    assert "#" not in location and not {"code", "access_token", "id_token"} & set(got), location


@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"]
)
def test_password_and_unknown_grants_are_refused(env: Env, grant_type: str) -> None:
    username, _ = env.add_user()
    client = env.register(grant_types=["authorization_code", "refresh_token", "client_credentials"])
    response = env.token(
        client, {"grant_type": grant_type, "username": username, "password": PASSWORD}
    )
    assert (
        response.status_code == 400 and response.json().get("error") == "unsupported_grant_type"
    ), (
        f"grant_type={grant_type} is not offered: 400 unsupported_grant_type; "
        f"got {response.status_code} {response.text}"
    )
    assert "access_token" not in response.json()


def test_token_endpoint_is_rate_limited_per_client_address(make_env: Any) -> None:
    env = make_env(token_rate_limit=3, token_rate_window=60)
    client = env.register(grant_types=["client_credentials"], scopes=["read"])
    for _ in range(3):
        assert env.token(client, {"grant_type": "client_credentials"}).status_code == 200
    limited = env.token(client, {"grant_type": "client_credentials"})
    assert limited.status_code == 429, (
        f"the 4th request in a 3-per-60 s window gets 429: {limited.status_code}"
    )
    window_end = (math.floor(env.clock.now() / 60) + 1) * 60
    expected = math.ceil(window_end - env.clock.now())
    assert limited.headers.get("retry-after") == str(expected), (
        f"Retry-After is the whole seconds until the window (aligned on the injected clock) "
        f"resets: expected {expected}, got {limited.headers.get('retry-after')}"
    )
    assert "access_token" not in limited.text
    assert env.http.get("/.well-known/openid-configuration").status_code == 200, (
        "only /token is limited"
    )
    env.clock.advance(expected)
    assert env.token(client, {"grant_type": "client_credentials"}).status_code == 200, (
        "a new window admits requests again"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "http://rp.example/callback",
        "https://rp.example/callback#section",
        "https://*.rp.example/callback",
        "https://user:pw@rp.example/callback",
        "/callback",
        "javascript:alert(1)",
        "rp.example/callback",
    ],
)
def test_dangerous_redirect_uris_cannot_be_registered(env: Env, uri: str) -> None:
    with pytest.raises(ValueError):
        load("clients").register_client(
            env.svc.store, client_id="c", redirect_uris=[uri], secret="s"
        )
    for ok in ("http://127.0.0.1:8765/cb", "https://rp.example/cb?tenant=a", "http://[::1]:9/cb"):
        load("clients").register_client(
            env.svc.store, client_id="ok", redirect_uris=[ok], secret="s"
        )


def test_audit_log_records_security_events_without_secrets(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets_seen: list[str] = [PASSWORD]
    username, _ = env.add_user()
    client = env.register()
    secrets_seen.append(client.secret or "")
    wrong_password = "hunter2-" + secrets.token_urlsafe(8)
    env.http.post("/login", data={"username": username, "password": wrong_password, "next": "/"})
    secrets_seen.append(wrong_password)
    verifier = secrets.token_urlsafe(48)
    code, _ = env.get_code(client, verifier)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    body = env.token(client, data).json()
    env.token(client, data)  # code replay
    secrets_seen += [code, verifier, body["access_token"], body["refresh_token"], body["id_token"]]
    second = env.tokens_for(client)
    rotated = env.token(
        client, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    ).json()
    env.token(
        client, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )  # reuse
    secrets_seen += [
        second["access_token"],
        second["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
    ]
    wrong_secret = "wrong-" + secrets.token_urlsafe(12)
    env.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, wrong_secret)
    )
    secrets_seen.append(wrong_secret)

    # What the server logs; the test's own HTTP client logs the responses it receives.
    client_side = ("httpx", "httpcore", "authlib", "asyncio")
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith(client_side)]
    text = "\n".join(lines)
    for secret in secrets_seen:
        for part in {secret, secret[-16:]}:
            assert part not in text, (
                "a secret (password, client secret, code, verifier or token) reached the logs: "
                f"...{part[-6:]} appears in {[line for line in lines if part in line][:1]}"
            )
    audit = [record for record in caplog.records if record.name == "oauth2.audit"]
    events: list[dict[str, Any]] = []
    for record in audit:
        try:
            events.append(json.loads(record.getMessage()))
        except json.JSONDecodeError:
            pytest.fail(f"audit lines are JSON objects: {record.getMessage()!r}")
    by_name = {event.get("event"): event for event in events}
    for name in ("login_failed", "code_replay", "refresh_reuse", "client_auth_failed"):
        assert name in by_name, (
            f"no {name!r} event on the oauth2.audit logger; events: {sorted(map(str, by_name))}"
        )
    for name in ("code_replay", "refresh_reuse", "client_auth_failed"):
        assert by_name[name].get("client_id") == client.client_id, (
            f"the {name} event names the client: {by_name[name]}"
        )
