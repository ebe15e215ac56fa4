"""Stage `observability`: Prometheus exposition, bounded labels, JSON logs without secrets."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import re
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def scrape(client: Any) -> dict[str, Any]:
    response = client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    return families


def samples(families: dict[str, Any], family: str, sample: str) -> list[Any]:
    assert family in families, f"metric family {family!r} missing; have {sorted(families)}"
    return [s for s in families[family].samples if s.name == sample]


def value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    found = [s for s in samples(families, family, sample) if labels.items() <= s.labels.items()]
    assert found, f"no {sample} sample with labels {labels}"
    return sum(s.value for s in found)


@contextlib.contextmanager
def captured_logs(load: Any) -> Iterator[io.StringIO]:
    """The package's logs, configured by the learner's configure_logging, into a buffer."""
    observability = load("observability")
    package_logger = logging.getLogger(observability.__name__.rpartition(".")[0])
    saved = (list(package_logger.handlers), package_logger.level, package_logger.propagate)
    stream = io.StringIO()
    observability.configure_logging(stream=stream, level="INFO")
    try:
        yield stream
    finally:  # put the package logger back as it was, for the tests that follow
        package_logger.handlers[:] = saved[0]
        package_logger.setLevel(saved[1])
        package_logger.propagate = saved[2]


def json_records(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"every log line must be one JSON object, got {line[:80]!r}")
    return records


def test_metrics_exposition_format_and_naming(make_client):
    client = make_client()
    client.get("/api/ping")
    response = client.get("/metrics")
    content_type = response.headers.get("content-type", "")
    media_type, _, params = content_type.partition(";")
    assert media_type.strip() == "text/plain", "the Prometheus text format is served as text/plain"
    version = re.search(r"version=([\d.]+)", params)
    assert version and version.group(1) in {"0.0.4", "1.0.0"}, (
        f"name the exposition format version (e.g. version=0.0.4), got {content_type!r}"
    )

    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for required in ("http_requests", "http_request_duration_seconds", "rate_limit_rejections"):
        assert required in families, f"expected metric family {required!r}"
    assert families["http_requests"].type == "counter"
    assert families["rate_limit_rejections"].type == "counter"
    assert families["http_request_duration_seconds"].type == "histogram", (
        "durations are a histogram in seconds (base unit, plural suffix)"
    )
    for family in families.values():
        assert METRIC_NAME.match(family.name), f"invalid metric name {family.name!r}"
        assert family.documentation.strip(), f"{family.name} needs HELP text"
        if family.type == "counter":
            names = {s.name for s in family.samples}
            assert names <= {f"{family.name}_total", f"{family.name}_created"}, (
                f"counter samples must end in _total: {sorted(names)}"
            )
        assert not re.search(r"_(ms|milliseconds|secs|millis)(_|$)", family.name), (
            f"{family.name}: use base units (seconds)"
        )


def test_request_counter_and_histogram_agree(make_client):
    client = make_client(rate_limit=5)
    statuses = [client.get("/api/ping").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    families = scrape(client)
    labels = {"method": "GET", "route": "/api/ping"}
    assert value(families, "http_requests", "http_requests_total", status="200", **labels) == 5
    assert value(families, "http_requests", "http_requests_total", status="429", **labels) == 2

    count = value(
        families, "http_request_duration_seconds", "http_request_duration_seconds_count", **labels
    )
    total = value(
        families, "http_request_duration_seconds", "http_request_duration_seconds_sum", **labels
    )
    assert count == 7, (
        "one duration observation per request, whatever its status: the histogram's _count "
        f"must equal the 7 requests counted (5 answered 200, 2 answered 429), got {count}"
    )
    assert total >= 0
    buckets = [
        s
        for s in samples(
            families, "http_request_duration_seconds", "http_request_duration_seconds_bucket"
        )
        if labels.items() <= s.labels.items()
    ]
    ordered = sorted(buckets, key=lambda s: float(s.labels["le"]))
    counts = [s.value for s in ordered]
    assert counts == sorted(counts), "histogram buckets are cumulative"
    assert math.isinf(float(ordered[-1].labels["le"])), "the last bucket is le=+Inf"
    assert counts[-1] == count, "the +Inf bucket equals _count"


def test_rate_limit_rejections_are_counted(make_client):
    client = make_client(rate_limit=2)
    statuses = [client.get("/api/ping").status_code for _ in range(5)]
    assert statuses.count(429) == 3
    families = scrape(client)
    assert value(families, "rate_limit_rejections", "rate_limit_rejections_total") == 3
    assert (
        value(families, "http_requests", "http_requests_total", route="/api/ping", status="429")
        == 3
    ), "rejected requests still show up in the request counter"


def test_metric_labels_have_bounded_cardinality(make_client):
    client = make_client(rate_limit=1000)
    samples(scrape(client), "http_requests", "http_requests_total")  # the family is declared
    ids = [uuid.uuid4().hex for _ in range(100)]
    for item in ids:
        assert client.get(f"/api/items/{item}").status_code == 200
    junk = [uuid.uuid4().hex for _ in range(20)]
    for path in junk:
        client.get(f"/no-such-page/{path}")
    methods = [f"X{uuid.uuid4().hex[:12].upper()}" for _ in range(5)]
    for method in methods:  # any token is a valid HTTP method on the wire
        client.request(method, "/api/ping")
    client.get("/livez")
    client.get("/api/me")  # 401 without a token

    families = scrape(client)
    series = samples(families, "http_requests", "http_requests_total")
    assert series, "http_requests_total has no series"
    assert value(families, "http_requests", "http_requests_total", route="/api/ping") == 5, (
        "requests with an unknown method are counted too"
    )
    routes = {s.labels.get("route") for s in series}
    assert "/api/items/{item_id}" in routes, (
        f"label routes by template, got {sorted(map(str, routes))[:5]}"
    )
    for template in ("/livez", "/api/me"):
        assert template in routes, (
            f"every route is labelled by its own template, those of routers added with "
            f"include_router too: no series for {template!r} in {sorted(map(str, routes))}"
        )
    label_values = {
        v for family in families.values() for s in family.samples for v in s.labels.values()
    }
    leaked = [i for i in ids + junk if any(i in v for v in label_values)]
    assert not leaked, "raw paths or ids must never become label values"
    odd = [m for m in methods if any(m in v for v in label_values)]
    assert not odd, (
        "the method label must stay bounded: methods outside the standard set share one "
        f"value (e.g. 'other'), never the client's own string; leaked {odd[:2]}"
    )
    assert len(series) <= 10, f"120 distinct paths produced {len(series)} series"


SECRET_PASSWORD = "correct horse battery staple 42"


def test_json_logs_carry_request_id_and_no_secrets(make_client, load):
    with captured_logs(load) as stream:
        client = make_client()
        username = f"user{uuid.uuid4().hex[:8]}"
        registered = client.post(
            "/auth/register",
            json={"username": username, "password": SECRET_PASSWORD},
            headers={"X-Request-ID": "grading-register-1"},
        )
        tokens = client.post(
            "/auth/login", json={"username": username, "password": SECRET_PASSWORD}
        ).json()
        failed = client.post(
            "/auth/login",
            json={"username": username, "password": "wrong " + SECRET_PASSWORD},
            headers={"X-Request-ID": "grading-failed-login-1"},
        )
        assert failed.headers.get("X-Request-ID") == "grading-failed-login-1", "echo the request id"
        generated = client.get(
            "/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert generated.headers.get("X-Request-ID"), "every response carries a request id"

    records = json_records(stream)
    assert all("request_id" in r for r in records), "every record carries a request_id field"
    for request_id, status in (
        ("grading-register-1", registered.status_code),
        ("grading-failed-login-1", failed.status_code),
        (generated.headers["X-Request-ID"], generated.status_code),
    ):
        lines = [r for r in records if r.get("request_id") == request_id]
        assert any(status in r.values() or str(status) in r.values() for r in lines), (
            f"every request gets an access log line with its request id and status "
            f"({request_id!r}, {status}): none found"
        )
    failed_lines = [r for r in records if r.get("request_id") == "grading-failed-login-1"]
    assert any(r.get("event") == "login_failed" for r in failed_lines), (
        "the failed login is logged (event=login_failed) with the caller's request id"
    )
    assert any(r.get("event") == "login_succeeded" for r in records), "successful logins are logged"
    assert any(r.get("request_id") == generated.headers["X-Request-ID"] for r in records)

    text = stream.getvalue()
    for secret in (SECRET_PASSWORD, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in text, "passwords and tokens must never be logged"
    assert tokens["access_token"].split(".")[2] not in text, "not even a token's signature"


def test_request_ids_are_sanitised_before_echo_and_logging(make_client):
    client = make_client()
    kept = client.get("/livez", headers={"X-Request-ID": "grading.req-42_a"})
    assert kept.headers.get("X-Request-ID") == "grading.req-42_a", "a short, plain id is honoured"
    for hostile in (
        "grading<script>alert(1)</script>",
        'grading" forged="yes',
        "grading " + "x" * 1000,
        "a" * 1000,
    ):
        echoed = client.get("/livez", headers={"X-Request-ID": hostile}).headers.get("X-Request-ID")
        assert echoed, "every response carries a request id"
        assert echoed != hostile and hostile not in echoed, (
            "an X-Request-ID that is not short and plain (letters, digits, '.', '_', '-') must "
            f"be replaced by a generated id, not echoed or logged; {hostile[:40]!r}... came back"
        )
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", echoed), f"generated id {echoed!r}"


def _shift_time(monkeypatch: Any, load: Any) -> dict[str, float]:
    """Every clock the service could time a request with, moved forward on demand."""
    jump = {"seconds": 0.0}
    names = ("perf_counter", "monotonic", "time", "perf_counter_ns", "monotonic_ns", "time_ns")
    originals = {name: getattr(time, name) for name in names}

    def shifted(name: str) -> Any:
        original = originals[name]
        if name.endswith("_ns"):
            return lambda: original() + int(jump["seconds"] * 1_000_000_000)
        return lambda: original() + jump["seconds"]

    replacements = {name: shifted(name) for name in originals}
    for name, replacement in replacements.items():
        monkeypatch.setattr(time, name, replacement)
    # Names bound at import (`from time import perf_counter`; prometheus_client's
    # Histogram.time() uses timeit.default_timer) are moved too.
    package = load("observability").__name__.rpartition(".")[0]
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith((package, "prometheus_client", "timeit")):
            continue
        for attr, bound in list(vars(module).items()):
            for name, original in originals.items():
                if bound is original:
                    monkeypatch.setattr(module, attr, replacements[name])
    return jump


def test_request_durations_are_observed_in_seconds(make_client, load, monkeypatch):
    client = make_client(rate_limit=100)
    jump = _shift_time(monkeypatch, load)

    def slow_endpoint() -> dict[str, str]:
        jump["seconds"] += 1.5  # this request takes 1.5 s on every clock
        return {"status": "done"}

    client.app.add_api_route("/grading/slow", slow_endpoint, methods=["GET"])
    assert client.get("/grading/slow").status_code == 200
    assert client.get("/api/ping").status_code == 200
    families = scrape(client)
    family = "http_request_duration_seconds"
    slow_sum = value(families, family, f"{family}_sum", route="/grading/slow")
    assert 1.5 <= slow_sum < 60, (
        "durations are observed in seconds (the base unit the name promises): a request that "
        f"took 1.5 s must add about 1.5 to _sum, got {slow_sum}"
    )

    def buckets(route: str) -> dict[float, float]:
        found = samples(families, family, f"{family}_bucket")
        return {float(s.labels["le"]): s.value for s in found if s.labels.get("route") == route}

    fast, slow = buckets("/api/ping"), buckets("/grading/slow")
    separating = [le for le in fast if math.isfinite(le) and fast[le] == 1 and slow.get(le) == 0]
    assert separating, (
        "the histogram's bucket bounds are seconds too: some bound must separate a quick "
        f"request from a 1.5 s one, bounds are {sorted(fast)}"
    )


def test_limiter_backend_errors_are_counted(make_client, down_redis):
    for fail_open in (False, True):
        client = make_client(redis_client=down_redis, rate_limit=5, rate_limit_fail_open=fail_open)
        statuses = [client.get("/api/ping").status_code for _ in range(2)]
        assert statuses == [200 if fail_open else 503] * 2
        families = scrape(client)
        errors = value(families, "rate_limit_backend_errors", "rate_limit_backend_errors_total")
        assert errors == 2, (
            "every rate-limiter backend failure is counted in rate_limit_backend_errors_total "
            f"(README, 'When Redis is down'), failing open as well as closed: fail_open={fail_open}"
            f", 2 failures, counted {errors}"
        )


def test_logs_hold_no_secrets_on_error_paths(make_client, load, clock):
    with captured_logs(load) as stream:
        client = make_client()
        username = f"user{uuid.uuid4().hex[:8]}"
        credentials = {"username": username, "password": SECRET_PASSWORD}
        assert client.post("/auth/register", json=credentials).status_code == 201
        first = client.post("/auth/login", json=credentials).json()
        wrong = {"username": username, "password": "wrong " + SECRET_PASSWORD}
        assert client.post("/auth/login", json=wrong).status_code == 401
        clock.advance(3600)  # the access token has expired
        bearer = {"Authorization": f"Bearer {first['access_token']}"}
        assert client.get("/api/me", headers=bearer).status_code == 401
        rotated = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200
        reuse = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reuse.status_code == 401
        package = load("observability").__name__.rpartition(".")[0]
        logging.getLogger(f"{package}.grading").warning(
            "grading probe",
            extra={
                "event": "grading_probe",
                "password": "probe-password-" + SECRET_PASSWORD,
                "refresh_token": "probe-refresh-token-value",
                "authorization": "Bearer probe-authorization-value",
            },
        )

    records = json_records(stream)
    assert any(r.get("event") == "grading_probe" for r in records), (
        "a record logged with extra fields comes out as JSON carrying them (event=grading_probe)"
    )
    text = stream.getvalue()
    for probe in ("probe-password-", "probe-refresh-token-value", "probe-authorization-value"):
        assert probe not in text, (
            "the JSON formatter must drop or redact `extra` fields named like secrets "
            "(password, refresh_token, authorization)"
        )
    secrets = {
        "the password": SECRET_PASSWORD,
        "an expired access token": first["access_token"],
        "its signature": first["access_token"].split(".")[2],
        "a reused refresh token": first["refresh_token"],
        "a rotated refresh token": rotated.json()["refresh_token"],
    }
    for what, secret in secrets.items():
        assert secret not in text, (
            f"{what} reached the logs: passwords and tokens must never be logged, on error paths "
            "(failed login, rejected token, refresh-token reuse) as well"
        )


def test_security_events_are_logged_with_the_account(make_client, load):
    with captured_logs(load) as stream:
        client = make_client()
        username = f"user{uuid.uuid4().hex[:8]}"
        credentials = {"username": username, "password": SECRET_PASSWORD}
        assert client.post("/auth/register", json=credentials).status_code == 201
        first = client.post("/auth/login", json=credentials).json()
        wrong = {"username": username, "password": "wrong " + SECRET_PASSWORD}
        assert client.post("/auth/login", json=wrong).status_code == 401
        garbage = {"Authorization": "Bearer not-a-jwt", "X-Request-ID": "grading-bad-token-1"}
        assert client.get("/api/me", headers=garbage).status_code == 401
        rotated = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200
        reuse = client.post(
            "/auth/refresh",
            json={"refresh_token": first["refresh_token"]},
            headers={"X-Request-ID": "grading-reuse-1"},
        )
        assert reuse.status_code == 401
        again = client.post("/auth/login", json=credentials).json()
        bearer = {"Authorization": f"Bearer {again['access_token']}"}
        assert client.post("/auth/logout", headers=bearer).status_code == 204

    records = json_records(stream)
    for event in ("login_succeeded", "login_failed", "refresh_reuse_detected", "logout"):
        found = [r for r in records if r.get("event") == event]
        assert found, (
            f"security events are logged for the operators: no record with event={event!r} "
            "(a reused refresh token means a stolen one, and nobody learns of it otherwise)"
        )
        assert any(r.get("username") == username for r in found), (
            f"the {event} record names the account in a `username` field, got {found}"
        )
    reuse_lines = [r for r in records if r.get("event") == "refresh_reuse_detected"]
    assert any(r.get("request_id") == "grading-reuse-1" for r in reuse_lines), (
        "the refresh_reuse_detected record carries the request id of the request that reused it"
    )
    rejected = [r for r in records if r.get("event") == "token_rejected"]
    assert any(r.get("request_id") == "grading-bad-token-1" for r in rejected), (
        "a rejected access token is logged (event=token_rejected) with the request id"
    )
    assert all(isinstance(r.get("reason"), str) and r["reason"] for r in rejected), (
        "a token_rejected record says why in a `reason` field (for the logs only, never the client)"
    )
