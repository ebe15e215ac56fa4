"""Stage `auth`: argon2id, pinned JWT verification, refresh rotation, logout, login throttling."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import sqlite3
import threading
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

ISSUER = "http://localhost:8000"  # the Settings defaults
AUDIENCE = "lab-api"

# OWASP Password Storage Cheat Sheet: argon2id rows of (memory KiB, iterations), p=1.
OWASP_ARGON2ID = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_at(now: float, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "grader",
        "jti": uuid.uuid4().hex,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def me(client: Any, token: str) -> int:
    return client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code


def login(client: Any, username: str, password: str) -> Any:
    return client.post("/auth/login", json={"username": username, "password": password})


def refresh(client: Any, refresh_token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": refresh_token})


def test_password_hashes_are_argon2id_at_owasp_strength(load):
    passwords = load("passwords")
    encoded = passwords.hash_password("correct horse battery staple 42")
    match = re.fullmatch(r"\$(argon2\w+)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", encoded)
    assert match, f"expected a PHC-format argon2 hash, got {encoded[:40]!r}..."
    variant, version, memory, iterations, lanes = match.groups()
    assert variant == "argon2id", f"OWASP asks for argon2id, got {variant}"
    assert int(version) == 19
    assert int(lanes) >= 1
    assert any(int(memory) >= m and int(iterations) >= t for m, t in OWASP_ARGON2ID), (
        f"m={memory} KiB, t={iterations} is below every OWASP argon2id row "
        "(e.g. at least m=19456 KiB with t=2)"
    )
    assert passwords.verify_password(encoded, "correct horse battery staple 42")
    assert not passwords.verify_password(encoded, "correct horse battery staple 43")
    assert not passwords.verify_password(None, "anything"), "no stored hash never verifies"


def _alg_none(now: float) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims_at(now)).encode())}."


def _hs256_keyed_with_public_key(now: float, key: Any) -> str:
    # The classic confusion attack: HMAC "signed" with the server's public RSA key.
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims_at(now)).encode())
    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(signature)}"


FORGERIES = ["alg_none", "hs256_keyed_with_rsa_public_key", "rs256_signed_by_foreign_key"]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_jwt_forgeries_are_rejected(make_client, clock, signing_key, foreign_key, forgery):
    client = make_client()
    now = clock.now()
    genuine = jwt.encode(claims_at(now), signing_key[1], algorithm="RS256")
    assert me(client, genuine) == 200, "a correctly signed RS256 token must be accepted"
    forged = {
        "alg_none": lambda: _alg_none(now),
        "hs256_keyed_with_rsa_public_key": lambda: _hs256_keyed_with_public_key(
            now, signing_key[1]
        ),
        "rs256_signed_by_foreign_key": lambda: jwt.encode(
            claims_at(now), foreign_key[1], algorithm="RS256"
        ),
    }[forgery]()
    response = client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401, (
        "accept only RS256 with our key; never trust the header's alg"
    )
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


# (case, claim overrides relative to now, expected status). Leeway must be small
# but non-zero: 5 s late is tolerated, 61 s late never is.
CLAIM_CASES = [
    ("valid", {}, 200),
    ("expired_within_leeway", {"exp": -5}, 200),
    ("expired_beyond_leeway", {"exp": -61}, 401),
    ("not_yet_valid", {"nbf": 61}, 401),
    ("not_before_at_the_leeway_edge", {"nbf": 30}, 200),
    ("issued_in_future", {"iat": 3600, "nbf": None}, 401),
    ("missing_exp", {"exp": None}, 401),
    ("wrong_audience", {"aud": "someone-else"}, 401),
    ("wrong_issuer", {"iss": "https://evil.example"}, 401),
]


@pytest.mark.parametrize(
    ("case", "shift", "expected"), CLAIM_CASES, ids=[c[0] for c in CLAIM_CASES]
)
def test_jwt_claims_checked_against_injected_clock(
    make_client, clock, signing_key, case, shift, expected
):
    client = make_client()
    now = clock.now()
    overrides = {
        k: (int(now) + v if k in {"exp", "nbf", "iat"} and v is not None else v)
        for k, v in shift.items()
    }
    token = jwt.encode(claims_at(now, **overrides), signing_key[1], algorithm="RS256")
    assert me(client, token) == expected, (
        f"{case}: times are judged by the injected clock (now={now:.0f}), with a small leeway"
    )


# A signed token that lacks a claim the service relies on, or carries a time that is not a
# number, is a 401 like any other bad token: never a 500 from a KeyError or a float("soon").
MALFORMED_CLAIMS = [
    ("missing_jti", {"jti": None}),
    ("missing_sub", {"sub": None}),
    ("missing_iat", {"iat": None}),
    ("missing_iss", {"iss": None}),
    ("missing_aud", {"aud": None}),
    ("exp_not_a_number", {"exp": "soon"}),
    ("nbf_not_a_number", {"nbf": "later"}),
]


@pytest.mark.parametrize(
    ("case", "overrides"), MALFORMED_CLAIMS, ids=[c[0] for c in MALFORMED_CLAIMS]
)
def test_jwt_missing_or_malformed_claims_are_refused(
    make_client, clock, signing_key, case, overrides
):
    client = make_client()
    token = jwt.encode(claims_at(clock.now(), **overrides), signing_key[1], algorithm="RS256")
    status = me(client, token)
    assert status == 401, (
        f"{case}: exp, iat, iss, aud, sub and jti are required and times must be numbers; a "
        f"signed token that breaks this is refused with 401 like any bad token, got {status}"
    )


def test_jwt_times_follow_the_injected_clock_when_it_is_behind_the_wall_clock(
    api_user, clock, signing_key
):
    clock.t = 1_000_000_000.0  # 2001: long before the wall clock
    client, username, password = api_user()
    pair = login(client, username, password)
    assert pair.status_code == 200
    assert me(client, pair.json()["access_token"]) == 200, (
        "a token the service just issued, by its injected clock, must be accepted: its exp is "
        "judged against the injected clock only, never the wall clock (PyJWT's own exp check "
        "reads the wall clock)"
    )
    minted = jwt.encode(claims_at(clock.now(), sub=username), signing_key[1], algorithm="RS256")
    assert me(client, minted) == 200, "a token valid at the injected time is accepted"
    clock.advance(300 + 61)
    assert me(client, minted) == 401, "and refused once it expired by the injected clock"


def test_token_responses_name_the_bearer_type_and_the_access_lifetime(api_user):
    client, username, password = api_user(access_token_ttl_seconds=600)
    issued = login(client, username, password)
    assert issued.status_code == 200
    renewed = refresh(client, issued.json()["refresh_token"])
    assert renewed.status_code == 200
    for kind, response in (("login", issued), ("refresh", renewed)):
        body = response.json()
        assert str(body.get("token_type", "")).lower() == "bearer", (
            f"the {kind} response says how to use the token: token_type 'bearer' "
            f"(RFC 6749 section 5.1), got {body.get('token_type')!r}"
        )
        assert body.get("expires_in") == 600, (
            f"the {kind} response's expires_in is the access token's lifetime in seconds "
            f"(access_token_ttl_seconds, 600 here), got {body.get('expires_in')!r}"
        )


@pytest.mark.parametrize("scheme", ["Token", "Basic", "JWT"])
def test_access_tokens_are_only_accepted_under_the_bearer_scheme(
    make_client, clock, signing_key, scheme
):
    client = make_client()
    token = jwt.encode(claims_at(clock.now()), signing_key[1], algorithm="RS256")
    assert me(client, token) == 200
    response = client.get("/api/me", headers={"Authorization": f"{scheme} {token}"})
    assert response.status_code == 401, (
        f"an access token is a bearer token (RFC 6750): 'Authorization: {scheme} <token>' "
        f"is not a way to present it, got {response.status_code}"
    )
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    body = response.json() if media_type == "application/problem+json" else {}
    assert isinstance(body.get("title"), str) and body["title"], (
        f"the 401 is an RFC 9457 problem with a title, got {media_type!r}: {response.text[:80]!r}"
    )


def test_password_hashes_below_the_current_parameters_are_upgraded_at_login(api_user, load):
    from argon2 import PasswordHasher, Type

    client, username, password = api_user()
    store = load("store").Store(client.app.state.settings.database_path)
    # A hash from before today's profile: weaker in memory and passes than every OWASP row.
    legacy = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1, type=Type.ID)
    current = load("passwords").hash_password("any password at all")
    old_hash = legacy.hash(password)
    assert old_hash.split("$")[3] != current.split("$")[3], "the service already hashes like this"
    store.set_password_hash(username, old_hash)

    assert login(client, username, password).status_code == 200, "the legacy hash still verifies"
    upgraded = store.password_hash(username)
    assert upgraded and upgraded != old_hash, (
        "a successful login re-hashes a password stored with weaker parameters (needs_rehash), "
        "so stored hashes follow the current work factors"
    )
    assert upgraded.split("$")[3] == current.split("$")[3], (
        f"the new hash uses the current parameters {current.split('$')[3]!r}, got {upgraded[:40]!r}"
    )
    assert load("passwords").verify_password(upgraded, password), "and it verifies the password"
    again = login(client, username, password)
    assert again.status_code == 200
    assert me(client, again.json()["access_token"]) == 200, "the upgraded account works as before"


def test_service_signs_with_a_throwaway_key_when_none_is_configured(api_user):
    client, username, password = api_user(jwt_private_key_pem=None)
    issued = login(client, username, password)
    assert issued.status_code == 200
    assert me(client, issued.json()["access_token"]) == 200, (
        "with no jwt_private_key_pem configured (development, `make run`) the service signs with "
        "a generated RSA key and accepts its own tokens"
    )
    header = jwt.get_unverified_header(issued.json()["access_token"])
    assert header.get("alg") == "RS256"


def test_jwt_leeway_is_configurable_up_to_a_minute(make_client, clock, signing_key):
    client = make_client(jwt_leeway_seconds=60)
    now = int(clock.now())
    late = jwt.encode(claims_at(now, exp=now - 59), signing_key[1], algorithm="RS256")
    assert me(client, late) == 200, "a leeway of 60 s (the maximum) tolerates a token 59 s late"
    too_late = jwt.encode(claims_at(now, exp=now - 61), signing_key[1], algorithm="RS256")
    assert me(client, too_late) == 401, "but not 61 s late"
    try:
        make_client(jwt_leeway_seconds=3600)
    except ValueError:
        pass
    else:
        pytest.fail("a leeway above 60 s must be refused at start-up (ValueError), not accepted")


def test_refresh_token_rotates_and_is_single_use(api_user):
    client, username, password = api_user()
    first = login(client, username, password).json()
    assert me(client, first["access_token"]) == 200

    rotated = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"], "refresh must rotate the token"
    assert me(client, second["access_token"]) == 200

    replay = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401, "a refresh token works once"
    unknown = client.post("/auth/refresh", json={"refresh_token": "not-a-token"})
    assert unknown.status_code == 401


def test_refresh_token_reuse_revokes_the_family(api_user):
    client, username, password = api_user()
    stolen = login(client, username, password).json()
    other_session = login(client, username, password).json()

    legit = client.post("/auth/refresh", json={"refresh_token": stolen["refresh_token"]}).json()
    reuse = client.post("/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert reuse.status_code == 401

    # RFC 9700: reuse means theft; every token of that family is now dead...
    after = client.post("/auth/refresh", json={"refresh_token": legit["refresh_token"]})
    assert after.status_code == 401, "reuse of a rotated token must revoke its whole family"
    for name, pair in (("rotated", legit), ("stolen", stolen)):
        assert me(client, pair["access_token"]) == 401, (
            f"the {name} access token belongs to the revoked family: refuse it at once, "
            "not when it expires"
        )
    # ...but other sessions of the same user are not.
    assert me(client, other_session["access_token"]) == 200, (
        "only the compromised family is revoked"
    )
    still_ok = client.post("/auth/refresh", json={"refresh_token": other_session["refresh_token"]})
    assert still_ok.status_code == 200, "only the compromised family is revoked"


def test_logout_denylists_only_that_token(api_user, clock, signing_key):
    client, username, password = api_user()
    one = login(client, username, password).json()["access_token"]
    two = login(client, username, password).json()["access_token"]

    auth = {"Authorization": f"Bearer {one}"}
    assert client.post("/auth/logout", headers=auth).status_code == 204
    assert me(client, one) == 401, "a logged-out access token must stop working before its exp"
    assert me(client, two) == 200, "logging out one session leaves the others alone"

    # A valid token that names no session (no `sid`): only the jti denylist can stop it.
    claims = claims_at(clock.now(), sub=username)
    sessionless = jwt.encode(claims, signing_key[1], algorithm="RS256")
    assert me(client, sessionless) == 200
    bearer = {"Authorization": f"Bearer {sessionless}"}
    assert client.post("/auth/logout", headers=bearer).status_code == 204
    assert me(client, sessionless) == 401, (
        "logout must denylist the token's own jti (until its exp), not only end its session"
    )


def test_logout_ends_the_session_and_its_refresh_token(api_user):
    client, username, password = api_user()
    mine = login(client, username, password).json()
    other = login(client, username, password).json()
    bearer = {"Authorization": f"Bearer {mine['access_token']}"}
    assert client.post("/auth/logout", headers=bearer).status_code == 204
    assert refresh(client, mine["refresh_token"]).status_code == 401, (
        "logout ends the session: its refresh token must not mint new tokens afterwards"
    )
    assert refresh(client, other["refresh_token"]).status_code == 200, (
        "other sessions keep their refresh tokens"
    )


def test_refresh_token_expires_on_the_injected_clock(api_user, clock):
    client, username, password = api_user(refresh_token_ttl_seconds=3600)
    first = login(client, username, password).json()
    clock.advance(3599)
    renewed = refresh(client, first["refresh_token"])
    assert renewed.status_code == 200, "a refresh token works until its expiry"
    clock.advance(3600)  # the rotated token was issued 3600 s ago
    expired = refresh(client, renewed.json()["refresh_token"])
    assert expired.status_code == 401, (
        "a refresh token older than refresh_token_ttl_seconds (by the injected clock) "
        "must be refused"
    )


def test_refresh_tokens_are_stored_only_as_digests(api_user):
    client, username, password = api_user()
    first = login(client, username, password).json()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    with contextlib.closing(sqlite3.connect(client.app.state.settings.database_path)) as conn:
        dump = "\n".join(conn.iterdump())
    for token in (first["refresh_token"], second.json()["refresh_token"]):
        assert token not in dump, (
            "refresh tokens are bearer secrets: store only their SHA-256, never the token itself"
        )


def test_concurrent_refreshes_of_one_token_cannot_both_succeed(
    api_user, make_client, load, monkeypatch
):
    client, username, password = api_user()
    pair = login(client, username, password).json()

    # Both requests read the token's record before either may claim it: the worst interleaving.
    store = load("store")
    read_record = store.Store.refresh_token
    barrier = threading.Barrier(2)

    def in_lockstep(self: Any, token_hash: str) -> Any:
        record = read_record(self, token_hash)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)
        return record

    monkeypatch.setattr(store.Store, "refresh_token", in_lockstep)
    racers = [
        make_client(app=client.app, client_addr=(f"198.51.100.{n}", 3000 + n)) for n in (1, 2)
    ]
    outcomes: list[Any] = [None, None]

    def attempt(n: int) -> None:
        try:
            outcomes[n] = refresh(racers[n], pair["refresh_token"]).status_code
        except Exception as exc:  # reported below, with the other outcome
            outcomes[n] = repr(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, outcomes)) == ["200", "401"], (
        "two simultaneous refreshes with one token: exactly one may succeed. Claim the token "
        f"with a compare-and-set (store.mark_refresh_used), not check-then-act; got {outcomes}"
    )


def _comparable(response: Any) -> tuple[int, Any, list[tuple[str, str]]]:
    volatile = {"date", "x-request-id", "content-length"}
    headers = sorted(
        (k.lower(), v) for k, v in response.headers.items() if k.lower() not in volatile
    )
    return response.status_code, response.json(), headers


def test_login_failure_is_identical_for_unknown_user_and_wrong_password(api_user, monkeypatch):
    from argon2 import PasswordHasher

    client, username, _ = api_user()
    argon2_calls: list[str] = []
    for method in ("hash", "verify"):
        original = getattr(PasswordHasher, method)

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            argon2_calls.append(_original.__name__)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, method, counted)

    wrong_password = login(client, username, "not the password at all")
    wrong_password_work = len(argon2_calls)
    argon2_calls.clear()
    unknown_user = login(client, f"ghost{uuid.uuid4().hex[:6]}", "not the password at all")
    unknown_user_work = len(argon2_calls)
    assert wrong_password.status_code == 401
    assert _comparable(wrong_password) == _comparable(unknown_user), (
        "status, body and headers must not reveal whether the account exists"
    )
    assert unknown_user_work == wrong_password_work >= 1, (
        "an unknown user must cost the same argon2 work as a wrong password (verify against a "
        "dummy hash), or the response time reveals which accounts exist: argon2 calls for a "
        f"wrong password {wrong_password_work}, for an unknown user {unknown_user_work}"
    )


def test_login_throttle_is_per_account_across_ips(api_user, make_client, clock):
    client, username, password = api_user(login_max_failures=5, login_failure_window_seconds=900)
    addresses = [(f"198.51.100.{n}", 1000 + n) for n in range(1, 8)]
    clients = [make_client(app=client.app, client_addr=addr) for addr in addresses]

    t0 = clock.now()
    for n, attacker in enumerate(clients[:5]):  # five failures, 10 s apart, from 5 addresses
        clock.t = t0 + 10 * n
        assert login(attacker, username, "wrong password guess").status_code == 401
    clock.t = t0 + 50.5
    blocked = login(clients[5], username, password)
    assert blocked.status_code == 429, (
        "after 5 failures the account is throttled for everyone, even with the right password"
    )
    assert re.fullmatch(r"\d+", blocked.headers.get("Retry-After", "")), "say when to retry"
    assert blocked.headers["Retry-After"] == "850", (
        "Retry-After is the ceiling of the wait until the oldest of the counted failures leaves "
        "the 900 s window (first failure at t0, now t0 + 50.5: 849.5 s -> 850), got "
        f"{blocked.headers['Retry-After']!r}"
    )

    ghost = f"ghost{uuid.uuid4().hex[:6]}"
    for attacker in clients[:5]:
        login(attacker, ghost, "wrong password guess")
    assert login(clients[5], ghost, "x" * 12).status_code == 429, (
        "unknown accounts are throttled the same way, or throttling reveals which exist"
    )

    clock.t = t0 + 899.5  # the first failure is still inside the window
    assert login(clients[6], username, password).status_code == 429
    clock.t = t0 + 50.5 + 850  # exactly when the Retry-After above said
    assert login(clients[6], username, password).status_code == 200, (
        "a client that waits the Retry-After it was given is let in"
    )
