"""Stage `services`: registration, idempotent payments, events consumed exactly once, and the
health and metrics endpoints every service needs to be operated."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from labkit import load
from servicekit import (
    RecordingNotifier,
    RecordingPublisher,
    notifications_app,
    payment_event,
    payments_app,
    register,
    run_worker,
    show,
    users_app,
)


def test_register_user_and_fetch_it(redis_client, ns):
    client = TestClient(users_app(redis_client, ns))
    user = register(client, "Grace.Hopper@Example.com")
    assert user.get("id"), f"the created user needs an id: {user}"
    assert user.get("email") == "grace.hopper@example.com", (
        "emails are stored normalised to lower case so one person cannot register twice by "
        f"changing case: got {user.get('email')!r}"
    )
    fetched = client.get(f"/users/{user['id']}")
    assert fetched.status_code == 200, show(fetched)
    assert fetched.json().get("email") == "grace.hopper@example.com", show(fetched)
    missing = client.get(f"/users/{uuid.uuid4().hex}")
    assert missing.status_code == 404, f"an unknown user id is 404: {show(missing)}"
    bad = client.post("/users", json={"email": "not-an-email", "name": "X"})
    assert bad.status_code == 422, f"a malformed email is rejected with 422: {show(bad)}"


def test_duplicate_email_is_conflict(redis_client, ns):
    client = TestClient(users_app(redis_client, ns))
    register(client, "linus@example.com")
    again = client.post("/users", json={"email": "LINUS@example.com", "name": "Someone Else"})
    assert again.status_code == 409, (
        "registering an email that already exists must answer 409 Conflict (the users service "
        f"owns the uniqueness rule; claim the email atomically): {show(again)}"
    )


def test_payment_requires_idempotency_key(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    publisher = RecordingPublisher()
    client = TestClient(payments_app(redis_client, ns, users, publisher))
    body = {"user_id": user["id"], "amount_cents": 1250, "currency": "EUR"}
    response = client.post("/payments", json=body)
    assert response.status_code == 400, (
        "POST /payments without an Idempotency-Key header must be refused with 400: without a "
        f"key a client retry after a timeout could charge twice. {show(response)}"
    )
    assert publisher.events == [], "a refused payment must not publish an event"


def test_payment_replay_returns_same_payment_and_one_event(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    publisher = RecordingPublisher()
    client = TestClient(payments_app(redis_client, ns, users, publisher))
    body = {"user_id": user["id"], "amount_cents": 1250, "currency": "EUR"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/payments", json=body, headers=key)
    assert first.status_code == 201, f"a new payment answers 201: {show(first)}"
    payment = first.json()
    assert payment.get("id"), f"the payment needs an id: {payment}"
    second = client.post("/payments", json=body, headers=key)
    assert second.status_code == first.status_code and second.json().get("id") == payment["id"], (
        "a retry with the same Idempotency-Key and body must get the first response back (same "
        f"status, same payment id), not a second charge: first {show(first)}; retry {show(second)}"
    )
    other = client.post("/payments", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert other.status_code == 201 and other.json().get("id") != payment["id"], (
        f"a different key is a different payment: {show(other)}"
    )
    topics = [t for t, _ in publisher.events]
    assert topics == ["payments", "payments"], (
        "exactly one event per payment on topic 'payments' (two distinct payments here, the "
        f"replay publishes nothing): got {publisher.events}"
    )
    event = publisher.events[0][1]
    for field in ("event_id", "type", "payment_id", "user_id", "amount_cents", "currency"):
        assert field in event, f"the payment event lacks {field!r}: {event}"
    assert event["type"] == "payment.succeeded" and event["payment_id"] == payment["id"], event
    assert publisher.events[0][1]["event_id"] != publisher.events[1][1]["event_id"], (
        "every event needs its own event_id: consumers de-duplicate on it"
    )
    fetched = client.get(f"/payments/{payment['id']}")
    assert fetched.status_code == 200, show(fetched)


def test_idempotency_key_reuse_with_other_body_is_rejected(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    publisher = RecordingPublisher()
    client = TestClient(payments_app(redis_client, ns, users, publisher))
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/payments", json={"user_id": user["id"], "amount_cents": 500, "currency": "EUR"}, headers=key)
    assert first.status_code == 201, show(first)
    reuse = client.post("/payments", json={"user_id": user["id"], "amount_cents": 99999, "currency": "EUR"}, headers=key)
    assert reuse.status_code == 422, (
        "the same Idempotency-Key with a different body is a client bug and must be refused "
        "with 422 (IETF idempotency-key draft), never answered with the first payment nor "
        f"charged: {show(reuse)}"
    )
    assert len(publisher.events) == 1, f"only the first payment publishes: {publisher.events}"


def test_payment_event_notifies_exactly_once(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    payments = TestClient(payments_app(redis_client, ns, users))  # the real event stream
    notifier = RecordingNotifier()
    notifications = notifications_app(redis_client, ns, notifier, "worker-1")
    created = payments.post(
        "/payments", json={"user_id": user["id"], "amount_cents": 1250, "currency": "EUR"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status_code == 201, show(created)
    handled = run_worker(notifications)
    assert handled == 1 and len(notifier.sent) == 1, (
        "one payment on the stream should produce one handled delivery and one notification: "
        f"run_once returned {handled}, notifier got {notifier.sent}"
    )
    assert run_worker(notifications) == 0 and len(notifier.sent) == 1, (
        f"a second batch must find nothing new: notifier got {notifier.sent}"
    )
    # A producer retry publishes the same event twice: the effect must still happen once.
    event = payment_event(user["id"])
    publisher = load("common.events").RedisStreamPublisher(redis_client, namespace=ns)
    publisher.publish("payments", event)
    publisher.publish("payments", event)
    run_worker(notifications)
    assert len(notifier.sent) == 2, (
        "the same event_id delivered twice must notify once: de-duplicate on event_id "
        f"(at-least-once delivery + idempotent handler = exactly-once effect). Sent: {notifier.sent}"
    )
    listed = TestClient(notifications).get("/notifications", params={"user_id": user["id"]})
    assert listed.status_code == 200 and len(listed.json().get("items", [])) == 2, show(listed)
    auditor = notifications_app(redis_client, ns, RecordingNotifier(), "auditor")
    assert run_worker(auditor) == 0, (
        "every handled message must be acknowledged (XACK): another consumer of the group "
        "still found pending messages to claim"
    )


def test_failed_notification_is_redelivered_not_lost(redis_client, ns):
    publisher = load("common.events").RedisStreamPublisher(redis_client, namespace=ns)
    event = payment_event("user-" + uuid.uuid4().hex[:6])
    publisher.publish("payments", event)

    crashing = RecordingNotifier(fail_times=10**6)
    first = notifications_app(redis_client, ns, crashing, "worker-a")
    run_worker(first)
    assert crashing.attempts == 1, f"worker-a should have tried once, tried {crashing.attempts}"

    patient = notifications_app(redis_client, ns, RecordingNotifier(), "worker-b", redeliver_after_ms=60_000)
    assert run_worker(patient) == 0, (
        "a consumer may claim another consumer's pending message only after it has been idle "
        "for redeliver_after_ms (XAUTOCLAIM min-idle-time); worker-b took it at once"
    )

    rescuer_notifier = RecordingNotifier()
    rescuer = notifications_app(redis_client, ns, rescuer_notifier, "worker-c", redeliver_after_ms=0)
    run_worker(rescuer)
    assert len(rescuer_notifier.sent) == 1, (
        "a message whose handler failed must stay pending (acknowledge only after the effect is "
        "stored) and be claimed by another consumer once idle; it was lost instead: "
        f"worker-c sent {rescuer_notifier.sent}"
    )
    assert run_worker(rescuer) == 0 and run_worker(first) == 0, "nothing may be left pending"

    # The same consumer retries its own failure once the message has been idle long enough.
    flaky = RecordingNotifier(fail_times=1)
    solo = notifications_app(redis_client, ns, flaky, "worker-d", redeliver_after_ms=0)
    publisher.publish("payments", payment_event("user-" + uuid.uuid4().hex[:6]))
    run_worker(solo)
    run_worker(solo)
    assert flaky.attempts == 2 and len(flaky.sent) == 1, (
        "a failed delivery must come back to the consumer on a later poll and then succeed "
        f"once: attempts {flaky.attempts}, sent {flaky.sent}"
    )


SERVICES = {
    "users": ("/users/{user_id}", "/users/" + "u" * 12, 404),
    "payments": ("/payments/{payment_id}", "/payments/" + "p" * 12, 404),
    "notifications": ("/notifications", "/notifications?user_id=u1", 200),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_health_and_metrics_on_every_service(service, redis_client, ns):
    from prometheus_client.parser import text_string_to_metric_families

    route, path, status = SERVICES[service]
    app = load(f"{service}.app").create_app(redis=redis_client, namespace=ns)
    client = TestClient(app)
    for probe in ("/healthz", "/readyz"):
        answer = client.get(probe)
        assert answer.status_code == 200, f"{service}: {show(answer)}"
    answer = client.get(path)
    assert answer.status_code == status, f"{service}: {show(answer)}"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200, f"{service} needs GET /metrics: {show(metrics)}"
    assert metrics.headers.get("content-type", "").startswith("text/plain"), (
        f"{service}: /metrics must use the Prometheus text format, got {metrics.headers.get('content-type')}"
    )
    samples = [s for fam in text_string_to_metric_families(metrics.text) for s in fam.samples]
    counted = [s for s in samples if s.name == "http_requests_total" and s.labels.get("service") == service]
    assert any(s.labels.get("route") == route and s.labels.get("status") == str(status) and s.value >= 1 for s in counted), (
        f"{service}: expected http_requests_total{{service=\"{service}\",route=\"{route}\",status=\"{status}\"}} "
        f">= 1 after one request; found {[(s.labels, s.value) for s in counted]}"
    )
    raw = path.split("?")[0]
    assert "{" not in route or not any(s.labels.get("route") == raw for s in counted), (
        f"{service}: label the route template ({route}), never the raw path ({raw}): ids in "
        "labels create one series per id and exhaust Prometheus"
    )
    assert any(s.name == "http_request_duration_seconds_count" and s.labels.get("service") == service for s in samples), (
        f"{service}: a http_request_duration_seconds histogram is needed for latency panels"
    )

    import redis as redis_lib
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    down = redis_lib.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0), decode_responses=True,
    )
    broken = TestClient(load(f"{service}.app").create_app(redis=down, namespace=ns))
    live, ready = broken.get("/healthz"), broken.get("/readyz")
    assert live.status_code == 200 and ready.status_code == 503, (
        f"{service} with Redis unreachable: liveness must stay 200 (a restart cannot fix Redis) and "
        f"readiness must be 503 (stop sending traffic): /healthz {live.status_code}, /readyz {ready.status_code}"
    )
