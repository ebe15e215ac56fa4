"""Stage `http-contract`: 429 + Retry-After, RateLimit fields (draft -10), problem+json, health."""

from __future__ import annotations

import math
import re
import shutil
from typing import Any

import http_sf
import pytest

# The app's fixed window is 60 s and the FakeClock starts 40 s into one.
WINDOW = 60


def seconds_left(clock: Any) -> int:
    return math.ceil(WINDOW - clock.now() % WINDOW)


def parse_list(response: Any, field: str) -> list[tuple[Any, dict[str, Any]]]:
    raw = response.headers.get(field)
    assert raw is not None, (
        f"{field} header missing (draft-10 defines RateLimit-Policy and RateLimit)"
    )
    try:
        parsed = http_sf.parse(raw.encode(), tltype="list")
    except Exception as exc:  # the parser's error types vary between versions
        pytest.fail(f"{field}: {raw!r} is not a Structured Field list: {exc}")
    assert parsed, f"{field} must not be empty"
    return parsed


def name_of(member: Any) -> str:
    value = member[0]
    # Draft -10 says the item is a String; a Token is tolerated (earlier drafts used one).
    assert isinstance(value, str | http_sf.Token), (
        f"policy name must be an sf-string or token, got {value!r}"
    )
    return str(value)


def test_over_limit_returns_429_with_retry_after_seconds(make_client, clock):
    client = make_client(rate_limit=3, rate_window_seconds=WINDOW)
    statuses = [client.get("/api/ping").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]

    rejected = client.get("/api/ping")
    assert rejected.status_code == 429, "the 4th request within the window must get 429 (RFC 6585)"
    retry_after = rejected.headers.get("Retry-After")
    assert retry_after is not None, "a 429 must say when to come back"
    assert re.fullmatch(r"\d+", retry_after), (
        f"Retry-After must be delay-seconds, got {retry_after!r}"
    )
    assert int(retry_after) == seconds_left(clock), (
        "Retry-After must be the time left in the window"
    )

    limit = parse_list(rejected, "RateLimit")
    reset = limit[0][1].get("t")
    assert limit[0][1].get("r") == 0
    assert reset is not None and int(retry_after) >= reset, (
        "Retry-After must not point earlier than the RateLimit reset `t`"
    )


def test_ratelimit_policy_field_is_a_structured_list(make_client):
    client = make_client(rate_limit=7, rate_window_seconds=WINDOW)
    response = client.get("/api/ping")
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response.headers, "RateLimit-Limit belongs to drafts <= -06"

    policies = parse_list(response, "RateLimit-Policy")
    by_name = {name_of(member): member[1] for member in policies}
    assert len(by_name) == len(policies), "policy names must be unique"
    matching = [p for p in by_name.values() if p.get("q") == 7 and p.get("w") == WINDOW]
    assert matching, (
        f"expected a policy with q=7;w={WINDOW}, got {response.headers['RateLimit-Policy']!r}"
    )
    for params in by_name.values():
        assert isinstance(params.get("q"), int) and not isinstance(params["q"], bool)
        assert params["q"] >= 0, "q is a non-negative integer"
        if "w" in params:
            assert isinstance(params["w"], int) and params["w"] > 0, "w is a positive integer"


def test_ratelimit_field_counts_down_and_names_a_declared_policy(make_client, clock):
    client = make_client(rate_limit=3, rate_window_seconds=WINDOW)
    remaining = []
    for _ in range(3):
        response = client.get("/api/ping")
        declared = {name_of(m) for m in parse_list(response, "RateLimit-Policy")}
        (member,) = parse_list(response, "RateLimit")
        assert name_of(member) in declared, "RateLimit must name a policy from RateLimit-Policy"
        params = member[1]
        assert isinstance(params.get("r"), int), "r (remaining) is a required integer"
        assert params.get("t") == seconds_left(clock), (
            "t is the whole seconds until the window resets"
        )
        remaining.append(params["r"])
    assert remaining == [2, 1, 0], "r must count down with every admitted request"

    clock.advance(seconds_left(clock))  # next window
    (member,) = parse_list(client.get("/api/ping"), "RateLimit")
    assert member[1]["r"] == 2 and member[1]["t"] == WINDOW


def test_rejection_body_is_problem_json(make_client):
    client = make_client(rate_limit=1, rate_window_seconds=WINDOW)
    client.get("/api/ping")
    rejected = client.get("/api/ping")
    assert rejected.status_code == 429
    media_type = rejected.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == "application/problem+json", "errors are RFC 9457 problem details"
    body = rejected.json()
    assert body.get("status") == 429, "the problem's status member must match the response"
    assert isinstance(body.get("title"), str) and body["title"], "a problem needs a title"
    assert isinstance(body.get("type"), str) and body["type"], "a problem needs a type URI"


def test_liveness_ignores_redis_but_readiness_needs_it(make_client, down_redis):
    healthy = make_client()
    assert healthy.get("/livez").status_code == 200
    assert healthy.get("/readyz").status_code == 200, (
        "no Redis configured and the DB is fine: ready"
    )

    degraded = make_client(redis_client=down_redis)
    assert degraded.get("/livez").status_code == 200, (
        "liveness must not depend on Redis, or an outage restarts every instance"
    )
    not_ready = degraded.get("/readyz")
    assert not_ready.status_code == 503, "readiness must fail while Redis is unreachable"
    assert not_ready.headers.get("content-type", "").startswith("application/problem+json")


def test_health_and_metrics_are_never_rate_limited(make_client):
    client = make_client(rate_limit=1, rate_window_seconds=WINDOW)
    client.get("/api/ping")
    assert client.get("/api/ping").status_code == 429, "the limiter must be active on /api/*"
    for path in ("/livez", "/readyz", "/metrics"):
        for _ in range(3):
            assert client.get(path).status_code == 200, f"{path} must bypass rate limiting"


def test_retry_after_and_reset_round_up_to_whole_seconds(make_client, clock):
    client = make_client(rate_limit=2, rate_window_seconds=WINDOW)
    clock.advance(0.75)  # 40.75 s into the window: 19.25 s left
    for _ in range(2):
        (member,) = parse_list(client.get("/api/ping"), "RateLimit")
        assert member[1].get("t") == 20, (
            f"t must be the ceiling of the seconds until reset (19.25 s -> 20), got {member[1]}"
        )
    rejected = client.get("/api/ping")
    assert rejected.status_code == 429
    assert rejected.headers.get("Retry-After") == "20", (
        "Retry-After must be the ceiling of the wait (19.25 s -> 20), so a client that obeys it "
        f"never comes back early; got {rejected.headers.get('Retry-After')!r}"
    )
    (member,) = parse_list(rejected, "RateLimit")
    assert member[1].get("t") == 20, "t on a 429 is rounded up too"

    clock.advance(19)  # 0.25 s before the window ends
    late = client.get("/api/ping")
    assert late.status_code == 429
    assert late.headers.get("Retry-After") == "1", (
        "with 0.25 s left, Retry-After rounds up to 1 (delay-seconds; never 0, never more), got "
        f"{late.headers.get('Retry-After')!r}"
    )
    clock.advance(1)  # 20 s after the 429, as its Retry-After said
    assert client.get("/api/ping").status_code == 200, "a client that waits Retry-After gets in"


def test_every_api_response_kind_carries_the_ratelimit_fields(make_client):
    client = make_client(rate_limit=3, rate_window_seconds=WINDOW)
    responses = {
        "200 from /api/ping": client.get("/api/ping"),
        "401 from /api/me without a token": client.get("/api/me"),
        "404 from an unknown /api/ path": client.get("/api/no-such-endpoint"),
    }
    responses["429 once the quota is spent"] = client.get("/api/ping")
    for kind, response in responses.items():
        expected = int(kind.split()[0])
        assert response.status_code == expected, f"{kind}: got {response.status_code}"
        for field in ("RateLimit-Policy", "RateLimit"):
            assert field in response.headers, (
                f"every /api/* response carries {field}, whatever its status: missing on the {kind}"
            )
            parse_list(response, field)


def test_client_identity_is_the_peer_address_not_a_forwarding_header(make_client):
    client = make_client(rate_limit=2, rate_window_seconds=WINDOW)
    statuses = []
    for n in range(1, 5):
        spoofed = f"192.0.2.{n}"
        headers = {
            "X-Forwarded-For": spoofed,
            "X-Real-IP": spoofed,
            "Forwarded": f"for={spoofed}",
        }
        statuses.append(client.get("/api/ping", headers=headers).status_code)
    assert statuses == [200, 200, 429, 429], (
        "the limit applies to the connecting peer: forwarding headers are set by the client "
        f"itself and must not buy a fresh quota (statuses {statuses})"
    )
    neighbour = make_client(app=client.app, client_addr=("203.0.113.77", 41000))
    assert neighbour.get("/api/ping").status_code == 200, (
        "each client address has its own quota: one client must not exhaust another's"
    )


def test_rejected_requests_never_reach_the_handler(make_client):
    client = make_client(rate_limit=2, rate_window_seconds=WINDOW)
    calls: list[int] = []

    def probe() -> dict[str, str]:
        calls.append(1)
        return {"status": "done"}

    client.app.add_api_route("/api/grading-probe", probe, methods=["POST"])
    statuses = [client.post("/api/grading-probe").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert len(calls) == 2, (
        f"a request answered 429 must not run its handler, yet the handler ran {len(calls)} "
        "times for 2 admitted requests"
    )


def test_readiness_needs_the_database_but_liveness_does_not(make_client, tmp_path):
    data = tmp_path / "data"
    client = make_client(database_path=str(data / "app.db"))
    assert client.get("/readyz").status_code == 200
    shutil.rmtree(data)  # the database can no longer be opened
    try:
        live = client.get("/livez").status_code
    except Exception as exc:  # an unhandled error in the probe
        pytest.fail(f"/livez must not touch the database, but it raised {exc!r}")
    assert live == 200, "liveness must not depend on the database"
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503, "readiness must fail while the database is unreachable"
    assert not_ready.headers.get("content-type", "").startswith("application/problem+json")
