"""Stage `observability`: Prometheus exposition, bounded labels, JSON logs without secrets."""

from __future__ import annotations

import io
import json
import logging
import math
import re
import uuid
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
    client = make_client(rate_limit=100)
    for _ in range(7):
        assert client.get("/api/ping").status_code == 200
    families = scrape(client)
    labels = {"method": "GET", "route": "/api/ping"}
    assert value(families, "http_requests", "http_requests_total", status="200", **labels) == 7

    count = value(
        families, "http_request_duration_seconds", "http_request_duration_seconds_count", **labels
    )
    total = value(
        families, "http_request_duration_seconds", "http_request_duration_seconds_sum", **labels
    )
    assert count == 7, "one observation per request"
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
    ids = [uuid.uuid4().hex for _ in range(100)]
    for item in ids:
        assert client.get(f"/api/items/{item}").status_code == 200
    junk = [uuid.uuid4().hex for _ in range(20)]
    for path in junk:
        client.get(f"/no-such-page/{path}")

    families = scrape(client)
    series = samples(families, "http_requests", "http_requests_total")
    assert series, "http_requests_total has no series"
    routes = {s.labels.get("route") for s in series}
    assert "/api/items/{item_id}" in routes, (
        f"label routes by template, got {sorted(map(str, routes))[:5]}"
    )
    label_values = {
        v for family in families.values() for s in family.samples for v in s.labels.values()
    }
    leaked = [i for i in ids + junk if any(i in v for v in label_values)]
    assert not leaked, "raw paths or ids must never become label values"
    assert len(series) <= 10, f"120 distinct paths produced {len(series)} series"


SECRET_PASSWORD = "correct horse battery staple 42"


def test_json_logs_carry_request_id_and_no_secrets(make_client, load):
    observability = load("observability")
    package_logger = logging.getLogger(observability.__name__.rpartition(".")[0])
    saved = (list(package_logger.handlers), package_logger.level, package_logger.propagate)
    stream = io.StringIO()
    observability.configure_logging(stream=stream, level="INFO")
    try:
        client = make_client()
        username = f"user{uuid.uuid4().hex[:8]}"
        client.post("/auth/register", json={"username": username, "password": SECRET_PASSWORD})
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
    finally:  # put the package logger back as it was, for the tests that follow
        package_logger.handlers[:] = saved[0]
        package_logger.setLevel(saved[1])
        package_logger.propagate = saved[2]

    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"every log line must be one JSON object, got {line[:80]!r}")
    assert all("request_id" in r for r in records), "every record carries a request_id field"
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
