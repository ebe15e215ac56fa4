"""Stage `services`: registration, idempotent payments, events consumed exactly once, and the
health and metrics endpoints every service needs to be operated."""

from __future__ import annotations

import contextlib
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from labkit import load
from servicekit import (
    RecordingNotifier,
    RecordingPublisher,
    forward_to,
    keys_under,
    notifications_app,
    payment_event,
    payments_app,
    pending,
    race,
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
    assert fetched.json().get("name") == "Ada Lovelace", (
        f"the user keeps the name it registered with: {show(fetched)}"
    )
    assert keys_under(redis_client, ns), (
        "every Redis key of a service starts with the `namespace` create_app was given (see the "
        "README's contracts): several stacks and test runs share one Redis. No key starts with "
        f"{ns!r} after a registration"
    )
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


def test_concurrent_registrations_with_one_email_create_one_user(redis_client, ns):
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    replica_b = TestClient(users_app(redis_client, ns))

    def first(client):
        return TestClient(users_app(client, ns)).post(
            "/users", json={"email": email, "name": "First"}
        )

    def second():
        return replica_b.post("/users", json={"email": email.upper(), "name": "Second"})

    a, b = race(redis_client, first, second)
    statuses = sorted([a.status_code, b.status_code])
    assert statuses == [201, 409], (
        "rule: one email, one user, even when two replicas register it at the same moment: one "
        "answers 201, the other 409. Why: reading 'is the email free?' and then writing it is two "
        "steps another replica can run between; claim the email in one atomic step (SET NX). Here "
        f"the second registration ran between the first one's read and write: {show(a)}; {show(b)}"
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
    empty = client.post("/payments", json=body, headers={"Idempotency-Key": ""})
    assert empty.status_code == 400 and publisher.events == [], (
        "an empty Idempotency-Key is no key and must be refused with 400 too: accepted, every "
        f"client that sends one shares it and gets another client's payment back. {show(empty)}"
    )


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
    first = client.post(
        "/payments",
        json={"user_id": user["id"], "amount_cents": 500, "currency": "EUR"},
        headers=key,
    )
    assert first.status_code == 201, show(first)
    other_user = register(TestClient(users))
    variants = {
        "amount_cents": {"user_id": user["id"], "amount_cents": 99999, "currency": "EUR"},
        "currency": {"user_id": user["id"], "amount_cents": 500, "currency": "USD"},
        "user_id": {"user_id": other_user["id"], "amount_cents": 500, "currency": "EUR"},
    }
    for changed, body in variants.items():
        reuse = client.post("/payments", json=body, headers=key)
        assert reuse.status_code == 422, (
            "the same Idempotency-Key with a different body is a client bug and must be refused "
            "with 422 (IETF idempotency-key draft), never answered with the first payment nor "
            "charged. The request fingerprint must cover every field of the body; here only "
            f"{changed!r} differed: {show(reuse)}"
        )
    assert len(publisher.events) == 1, f"only the first payment publishes: {publisher.events}"


def test_concurrent_payments_with_one_key_charge_once(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    publisher = RecordingPublisher()
    body = {"user_id": user["id"], "amount_cents": 4200, "currency": "EUR"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    replica_b = TestClient(payments_app(redis_client, ns, users, publisher))

    def first(client):
        return TestClient(payments_app(client, ns, users, publisher)).post(
            "/payments", json=body, headers=key
        )

    a, b = race(redis_client, first, lambda: replica_b.post("/payments", json=body, headers=key))
    answers = [a, b]
    created = {r.json().get("id") for r in answers if r.status_code == 201}
    assert (
        len(publisher.events) == 1
        and len(created) == 1
        and all(r.status_code in (201, 409) for r in answers)
    ), (
        "rule: one Idempotency-Key, one payment, even when a client's retry reaches a second "
        "replica while the first request is still running. Each answer is the payment (201) or "
        "'in progress' (409), one event is published. Why: checking for a stored response and "
        "then doing the work lets both replicas pass the check; claim the key atomically "
        "(SET NX) before any work. Here the second request ran between the first one's read "
        f"and its first write: {show(a)}; {show(b)}; events {len(publisher.events)}"
    )
    later = replica_b.post("/payments", json=body, headers=key)
    assert (
        later.status_code == 201
        and later.json().get("id") in created
        and len(publisher.events) == 1
    ), f"once both have finished, a retry replays the one payment: {show(later)}"

    # The process dies while it holds a key: the claim it left must expire.
    def dies(request):
        raise RuntimeError("the payments process died during this call (simulated)")

    r = load("common.resilience")
    peer = r.ServiceClient(
        "http://users.test",
        transport=httpx.MockTransport(dies),
        timeout=1.0,
        retry=r.RetryPolicy(attempts=1),
        sleep=lambda _s: None,
    )
    crashing = load("payments.app").create_app(
        redis=redis_client, namespace=ns, users=peer, publisher=publisher
    )
    crash_key = uuid.uuid4().hex
    before = keys_under(redis_client, ns)
    TestClient(crashing, raise_server_exceptions=False).post(
        "/payments", json=body | {"amount_cents": 4300}, headers={"Idempotency-Key": crash_key}
    )
    left = keys_under(redis_client, ns) - before
    claims = [k for k in left if crash_key in k] or [
        k for k in left if redis_client.type(k) != "stream"
    ]
    forever = {k: redis_client.ttl(k) for k in claims if not 0 < redis_client.ttl(k) <= 3600}
    assert not forever, (
        "rule: the in-flight claim on an Idempotency-Key expires (SET NX EX, seconds to minutes). "
        "Why: a request that dies half-way never deletes its claim, and without an expiry every "
        "retry with that key is refused forever. Keys the dead request left, with their TTL "
        f"(-1 = never expires): {forever}"
    )


def test_unknown_user_does_not_burn_the_idempotency_key(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    forward = forward_to(users)
    lagging = {"left": 1}

    def handler(request):
        # The first lookup says "no such user" (a replica that has not caught up yet).
        if lagging["left"] and request.url.path.startswith("/users/"):
            lagging["left"] -= 1
            return httpx.Response(404, json={"title": "No such user", "status": 404})
        return forward.handle_request(request)

    r = load("common.resilience")
    peer = r.ServiceClient(
        "http://users.test", transport=httpx.MockTransport(handler), sleep=lambda _s: None
    )
    publisher = RecordingPublisher()
    client = TestClient(
        load("payments.app").create_app(
            redis=redis_client, namespace=ns, users=peer, publisher=publisher
        )
    )
    body = {"user_id": user["id"], "amount_cents": 990, "currency": "EUR"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    refused = client.post("/payments", json=body, headers=key)
    assert (
        400 <= refused.status_code < 500 and refused.status_code != 409 and publisher.events == []
    ), (
        "a payment for a user the users service does not know is refused with a 4xx and no event: "
        f"{show(refused)}"
    )
    retried = client.post("/payments", json=body, headers=key)
    assert retried.status_code == 201 and len(publisher.events) == 1, (
        "rule: a request refused before anything happened (unknown user) does not burn its "
        "Idempotency-Key: release the claim, so the same key works once the user exists. "
        f"First answer {refused.status_code}; the retry got {show(retried)}"
    )


def test_payment_is_refused_when_users_answers_an_error(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    forward = forward_to(users)
    broken = {"left": 1}

    def handler(request):
        # The first lookup reaches a users replica with a bug: a 500, which no retry would fix.
        if broken["left"] and request.url.path.startswith("/users/"):
            broken["left"] -= 1
            return httpx.Response(500, json={"title": "Internal Server Error", "status": 500})
        return forward.handle_request(request)

    r = load("common.resilience")
    peer = r.ServiceClient(
        "http://users.test", transport=httpx.MockTransport(handler), sleep=lambda _s: None
    )
    publisher = RecordingPublisher()
    app = load("payments.app").create_app(
        redis=redis_client, namespace=ns, users=peer, publisher=publisher
    )
    client = TestClient(app, raise_server_exceptions=False)
    body = {"user_id": user["id"], "amount_cents": 1990, "currency": "EUR"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    failed = client.post("/payments", json=body, headers=key)
    assert failed.status_code >= 500 and publisher.events == [], (
        "rule: take a payment only once users has confirmed the user (200). An error answer "
        "confirms nothing: payments refuses with a 5xx (502 Bad Gateway: the upstream failed) and "
        f"publishes no event. Users answered 500: {show(failed)}; events {publisher.events}"
    )
    retried = client.post("/payments", json=body, headers=key)
    assert retried.status_code == 201 and len(publisher.events) == 1, (
        "rule: a request refused before anything happened does not burn its Idempotency-Key: "
        "release the claim, so the client's retry with the same key works once users answers. "
        f"First answer {failed.status_code}; the retry got {show(retried)}"
    )


def test_payment_is_stored_before_its_event_is_published(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    found_at_publish: list = []
    probe: dict = {}

    class CheckingPublisher(RecordingPublisher):
        def publish(self, topic, event):
            # A consumer may act on the event at once: it must find what the event announces.
            found_at_publish.append(probe["client"].get(f"/payments/{event.get('payment_id')}"))
            return super().publish(topic, event)

    publisher = CheckingPublisher()
    app = payments_app(redis_client, ns, users, publisher)
    probe["client"] = TestClient(app, raise_server_exceptions=False)
    created = TestClient(app).post(
        "/payments",
        json={"user_id": user["id"], "amount_cents": 2599, "currency": "USD"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status_code == 201 and len(publisher.events) == 1, show(created)
    at_publish = found_at_publish[0]
    assert at_publish.status_code == 200 and at_publish.json().get("id") == created.json().get(
        "id"
    ), (
        "rule: store the payment, then publish its event. Why: a consumer may handle the event "
        "before the request returns; if the payment is not stored yet it sees an event about a "
        "payment that does not exist (and if the store then fails, the event announced "
        f"nothing). GET /payments/<id> while publishing: {show(at_publish)}"
    )
    event, payment = publisher.events[0][1], created.json()
    wrong = {
        f: (event.get(f), payment.get(f))
        for f in ("user_id", "amount_cents", "currency")
        if event.get(f) != payment.get(f)
    }
    assert not wrong, f"the event must describe the payment it announces (event, payment): {wrong}"


def test_payment_event_notifies_exactly_once(redis_client, ns):
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    payments = TestClient(payments_app(redis_client, ns, users))  # the real event stream
    notifier = RecordingNotifier()
    notifications = notifications_app(redis_client, ns, notifier, "worker-1")
    # The worker may start before anything was ever published: the stream does not exist yet.
    try:
        started = time.monotonic()
        idle = notifications.state.worker.run_once(block_ms=150)
        waited = time.monotonic() - started
    except NotImplementedError:
        raise
    except Exception as exc:
        pytest.fail(
            "a worker that starts before the first event is published must find an empty stream, "
            "not fail (create the consumer group with MKSTREAM): run_once() raised "
            f"{type(exc).__name__}: {exc}",
            pytrace=False,
        )
    assert idle == 0, f"nothing was published yet, run_once() returned {idle}"
    assert waited >= 0.1, (
        "rule: run_once(block_ms) with nothing to do waits up to block_ms for new events "
        "(XREADGROUP BLOCK) instead of returning at once. Why: the worker loop calls it again "
        "immediately, so a poll that never blocks spins and hammers Redis. run_once(block_ms=150) "
        f"returned after {waited:.3f} s"
    )
    created = payments.post(
        "/payments",
        json={"user_id": user["id"], "amount_cents": 1250, "currency": "EUR"},
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
    to, text = notifier.sent[0]
    assert to == user["id"] and "12.50" in str(text) and "EUR" in str(text), (
        "the notification goes to the user who paid and says what was paid: the amount in currency "
        "units (1250 cents are 12.50) and the currency, as in 'Payment of 12.50 EUR received.'. "
        f"Sent {(to, text)} for a payment of 1250 EUR cents by user {user['id']}"
    )
    # A producer retry publishes the same event twice: the effect must still happen once.
    event = payment_event(user["id"])
    publisher = load("common.events").RedisStreamPublisher(redis_client, namespace=ns)
    publisher.publish("payments", event)
    publisher.publish("payments", event)
    handled = run_worker(notifications)
    assert len(notifier.sent) == 2, (
        "the same event_id delivered twice must notify once: de-duplicate on event_id "
        "(at-least-once delivery + idempotent handler = exactly-once effect). Sent: "
        f"{notifier.sent}"
    )
    assert handled == 2, (
        "run_once() returns how many deliveries it handled and acknowledged: both copies of the "
        f"event were (the second one as a duplicate); it returned {handled}"
    )
    listed = TestClient(notifications).get("/notifications", params={"user_id": user["id"]})
    assert listed.status_code == 200 and len(listed.json().get("items", [])) == 2, show(listed)
    stored = [n for n in listed.json()["items"] if n.get("payment_id") == event["payment_id"]]
    expected = {
        "user_id": user["id"],
        "payment_id": event["payment_id"],
        "message": notifier.sent[1][1],
        "created_at": event["occurred_at"],
    }
    wrong = {
        k: (stored[0].get(k) if stored else None, v)
        for k, v in expected.items()
        if not stored or stored[0].get(k) != v
    }
    assert not wrong, (
        "a listed notification records what was sent and why (see the README's contracts): "
        "user_id, the payment_id of its event, the message sent and created_at (the event's "
        f"occurred_at). Wrong or missing fields (listed, expected): {wrong}; items "
        f"{listed.json()['items']}"
    )
    assert pending(redis_client, ns) == 0, (
        "every handled message must be acknowledged (XACK) once its effect is stored: the "
        f"group still has {pending(redis_client, ns)} pending message(s) (XPENDING), which "
        "would be delivered again"
    )


def test_failed_notification_is_redelivered_not_lost(redis_client, ns):
    publisher = load("common.events").RedisStreamPublisher(redis_client, namespace=ns)
    event = payment_event("user-" + uuid.uuid4().hex[:6])
    publisher.publish("payments", event)

    crashing = RecordingNotifier(fail_times=10**6)
    first = notifications_app(redis_client, ns, crashing, "worker-a")
    counted = run_worker(first)
    assert crashing.attempts == 1, f"worker-a should have tried once, tried {crashing.attempts}"
    assert counted == 0, (
        "run_once() returns how many deliveries it handled and acknowledged: the only one failed "
        f"and stays pending, so 0; it returned {counted}"
    )

    patient = notifications_app(
        redis_client, ns, RecordingNotifier(), "worker-b", redeliver_after_ms=60_000
    )
    assert run_worker(patient) == 0, (
        "a consumer may claim another consumer's pending message only after it has been idle "
        "for redeliver_after_ms (XAUTOCLAIM min-idle-time); worker-b took it at once"
    )

    rescuer_notifier = RecordingNotifier()
    rescuer = notifications_app(
        redis_client, ns, rescuer_notifier, "worker-c", redeliver_after_ms=0
    )
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


def test_concurrent_consumers_notify_exactly_once(redis_client, ns):
    publisher = load("common.events").RedisStreamPublisher(redis_client, namespace=ns)

    # A producer retry: the same event twice on the stream. worker-2 takes the second copy while
    # worker-1 is still sending for the first.
    event = payment_event("user-" + uuid.uuid4().hex[:6])
    second_notifier = RecordingNotifier()
    second = notifications_app(
        redis_client, ns, second_notifier, "worker-2", redeliver_after_ms=60_000
    )
    second_counted: list[int] = []

    def retry_lands():
        publisher.publish("payments", event)
        second_counted.append(run_worker(second))

    first_notifier = RecordingNotifier(while_sending=retry_lands)
    first = notifications_app(
        redis_client, ns, first_notifier, "worker-1", redeliver_after_ms=60_000
    )
    publisher.publish("payments", event)
    run_worker(first)
    drain_notifier = RecordingNotifier()
    drain = notifications_app(redis_client, ns, drain_notifier, "worker-3", redeliver_after_ms=0)
    run_worker(drain)
    sent = first_notifier.sent + second_notifier.sent + drain_notifier.sent
    assert len(sent) == 1, (
        "rule: one event, one notification, even when two consumers hold two copies of it at "
        "the same moment. Why: 'already seen?' then send lets both pass the check; claim the "
        "event_id atomically (SET NX with an expiry) before sending, and let the consumer that "
        "loses the claim leave its copy pending. Notifications sent for the event: "
        f"{sent}"
    )
    assert pending(redis_client, ns) == 0, (
        "both copies must end acknowledged once the notification is stored (a later delivery "
        f"finds it and acknowledges): {pending(redis_client, ns)} message(s) still pending"
    )
    assert second_counted == [0], (
        "run_once() counts only the deliveries it handled and acknowledged: worker-2 found the "
        f"event claimed by worker-1 and left its copy pending, so 0; it returned {second_counted}"
    )

    # worker-4 is slow; its message goes idle and worker-5 claims it mid-send; then the send fails.
    slow_event = payment_event("user-" + uuid.uuid4().hex[:6])
    impatient_notifier = RecordingNotifier()
    impatient = notifications_app(
        redis_client, ns, impatient_notifier, "worker-5", redeliver_after_ms=0
    )
    slow_notifier = RecordingNotifier(fail_times=1, while_sending=lambda: run_worker(impatient))
    slow = notifications_app(redis_client, ns, slow_notifier, "worker-4", redeliver_after_ms=60_000)
    publisher.publish("payments", slow_event)
    run_worker(slow)
    rescue_notifier = RecordingNotifier()
    rescue = notifications_app(redis_client, ns, rescue_notifier, "worker-6", redeliver_after_ms=0)
    run_worker(rescue)
    delivered = impatient_notifier.sent + rescue_notifier.sent
    assert len(delivered) == 1, (
        "rule: a consumer that finds an event claimed by another consumer must not acknowledge "
        "its delivery: if the holder then fails, that acknowledgement has dropped the only copy "
        "and the event is never notified. worker-5 took worker-4's idle message while worker-4 "
        f"was sending; worker-4's send failed; notifications sent afterwards: {delivered}"
    )
    assert pending(redis_client, ns) == 0, (
        f"nothing may be left pending once the notification is stored: {pending(redis_client, ns)} "
        "pending"
    )


def test_event_consumer_reads_in_batches_stale_first(redis_client, ns):
    events = load("common.events")
    publisher = events.RedisStreamPublisher(redis_client, namespace=ns)

    def consumer(name, redeliver_after_ms):
        return events.RedisStreamConsumer(
            redis_client,
            "payments",
            "batch-check",
            name,
            namespace=ns,
            redeliver_after_ms=redeliver_after_ms,
        )

    a = consumer("consumer-a", 60_000)
    try:
        early = a.poll(max_messages=4)
    except NotImplementedError:
        raise
    except Exception as exc:
        pytest.fail(
            "poll() on a stream nothing was published to yet must return no deliveries, not fail "
            f"(create the consumer group with MKSTREAM): it raised {type(exc).__name__}: {exc}",
            pytrace=False,
        )
    assert early == [], f"nothing was published yet, poll() returned {early}"

    sent = [{"event_id": f"e{n}", "type": "batch.check", "n": n} for n in range(6)]
    ids = [publisher.publish("payments", event) for event in sent]
    batch = a.poll(max_messages=4)
    assert [d.event for d in batch] == sent[:4], (
        "rule: poll(max_messages=n) returns at most n deliveries, oldest first, each with the "
        "event as it was published. Why: the batch size is how a worker bounds the work it holds; "
        "a consumer that takes the whole backlog starves the other replicas and leaves all of it "
        "pending when it crashes. 6 events published, poll(max_messages=4) gave "
        f"{[d.event for d in batch]}"
    )
    assert [d.message_id for d in batch] == ids[:4] and all(d.topic == "payments" for d in batch), (
        "each delivery carries its topic and the stream id that publish() returned for it: "
        f"published {ids[:4]}, delivered {[(d.topic, d.message_id) for d in batch]}"
    )

    # consumer-a crashed holding 4 messages. The next consumers take them over first, then new ones.
    b = consumer("consumer-b", 0)
    got = [d.event["n"] for d in b.poll(max_messages=5)]
    assert got == [0, 1, 2, 3, 4], (
        "rule: a poll returns the stale pending messages it claims first, then fills the rest of "
        "the batch with new ones, max_messages in all. consumer-a left 0-3 pending and 4-5 are "
        f"new; poll(max_messages=5) gave {got}"
    )
    c = consumer("consumer-c", 0)
    got = [d.event["n"] for d in c.poll(max_messages=5)]
    assert got == [0, 1, 2, 3, 4], (
        "when the stale messages fill the batch, the poll returns just them (and reads nothing "
        f"new): 5 pending, poll(max_messages=5) gave {got}"
    )
    late = consumer("consumer-d", 0)
    got = [d.event["n"] for d in late.poll(max_messages=2)]
    assert got == [0, 1], (
        f"more stale messages than the batch holds: poll(max_messages=2) gave {got}"
    )
    got = [d.event["n"] for d in consumer("consumer-e", 0).poll(max_messages=10)]
    assert got == [0, 1, 2, 3, 4, 5], f"5 stale and 1 new message, poll(max_messages=10) gave {got}"

    # Blocking: wait for new messages only when there is nothing else to return.
    started = time.monotonic()
    got = consumer("consumer-f", 0).poll(max_messages=10, block_ms=10_000)
    took = time.monotonic() - started
    assert len(got) == 6 and took < 5.0, (
        "rule: poll(block_ms) returns at once when it already has deliveries (stale ones here, "
        "nothing new): it blocks only while it has nothing to return. 6 pending, block_ms=10000: "
        f"{len(got)} deliveries after {took:.2f} s"
    )
    quiet = events.RedisStreamConsumer(
        redis_client, "quiet", "batch-check", "consumer-q", namespace=ns
    )
    started = time.monotonic()
    got = quiet.poll(max_messages=10, block_ms=150)
    took = time.monotonic() - started
    assert got == [] and took >= 0.1, (
        "rule: with nothing to return, poll(block_ms) waits up to block_ms for a new message "
        "(XREADGROUP BLOCK). Why: the worker loop polls again at once, so a poll that never "
        "blocks spins and hammers Redis. poll(block_ms=150) on an empty stream returned after "
        f"{took:.3f} s"
    )

    # The stream the consumers read is capped (XADD MAXLEN ~): acknowledged history is not kept
    # forever.
    capped = events.RedisStreamPublisher(redis_client, namespace=ns, maxlen=10)
    for n in range(250):
        capped.publish("capped", {"event_id": f"c{n}", "type": "batch.check", "n": n})
    length = redis_client.xlen(events.stream_key(ns, "capped"))
    assert length < 125, (
        "rule: the publisher caps its stream at about `maxlen` entries (XADD MAXLEN ~). Why: an "
        "uncapped stream keeps every event ever published in Redis' memory. 250 events published "
        f"with maxlen=10 left {length} entries"
    )


def test_malformed_message_does_not_stop_the_worker(redis_client, ns):
    stream = load("common.events").stream_key(ns, "payments")
    redis_client.xadd(stream, {"event": "{this is not json"})
    redis_client.xadd(stream, {"unexpected": "field"})
    event = payment_event("user-" + uuid.uuid4().hex[:6])
    load("common.events").RedisStreamPublisher(redis_client, namespace=ns).publish(
        "payments", event
    )
    notifier = RecordingNotifier()
    worker = notifications_app(redis_client, ns, notifier, "worker-m", redeliver_after_ms=0)
    for _ in range(3):
        run_worker(worker)
    assert [u for u, _ in notifier.sent] == [event["user_id"]] and pending(redis_client, ns) == 0, (
        "rule: a message that is not a valid event (not JSON, or no 'event' field) is "
        "acknowledged and skipped. Why: left pending, or failing the whole poll, it comes back "
        "forever and the events behind it are never handled. Two malformed messages, then a "
        f"payment: notifications sent {notifier.sent}, {pending(redis_client, ns)} message(s) "
        "still pending"
    )


class ProcessDied(BaseException):
    """The consumer's process dies mid-send: no except clause or cleanup of the worker runs."""


def test_event_claim_expires_if_its_consumer_dies(redis_client, ns):
    publisher = load("common.events").RedisStreamPublisher(redis_client, namespace=ns)
    publisher.publish("payments", payment_event("user-" + uuid.uuid4().hex[:6]))

    def die():
        raise ProcessDied()

    notifier = RecordingNotifier(while_sending=die)
    dying = notifications_app(redis_client, ns, notifier, "worker-z", redeliver_after_ms=0)
    before = keys_under(redis_client, ns)
    with contextlib.suppress(ProcessDied):
        dying.state.worker.run_once()
    assert notifier.attempts == 1, (
        f"the worker should have tried to send once, tried {notifier.attempts}"
    )
    left = keys_under(redis_client, ns) - before
    forever = {
        k: redis_client.ttl(k)
        for k in left
        if redis_client.type(k) != "stream" and not 0 < redis_client.ttl(k) <= 3600
    }
    assert not forever, (
        "rule: the claim a consumer takes on an event_id before sending expires (SET NX EX, "
        "seconds to minutes). Why: a consumer that dies while sending never releases it, and "
        "without an expiry every later delivery of that event finds it claimed and the payment "
        "is never notified. Keys the dead consumer left, with their TTL (-1 = never expires): "
        f"{forever}"
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
    stray = "/no-such-route/" + uuid.uuid4().hex[:10]
    client.get(stray)
    metrics = client.get("/metrics")
    assert metrics.status_code == 200, f"{service} needs GET /metrics: {show(metrics)}"
    assert metrics.headers.get("content-type", "").startswith("text/plain"), (
        f"{service}: /metrics must use the Prometheus text format, got "
        f"{metrics.headers.get('content-type')}"
    )
    samples = [s for fam in text_string_to_metric_families(metrics.text) for s in fam.samples]
    counted = [
        s for s in samples if s.name == "http_requests_total" and s.labels.get("service") == service
    ]
    assert any(
        s.labels.get("route") == route and s.labels.get("status") == str(status) and s.value >= 1
        for s in counted
    ), (
        f"{service}: expected http_requests_total"
        f'{{service="{service}",route="{route}",status="{status}"}} '
        f">= 1 after one request; found {[(s.labels, s.value) for s in counted]}"
    )
    raw = path.split("?")[0]
    assert "{" not in route or not any(s.labels.get("route") == raw for s in counted), (
        f"{service}: label the route template ({route}), never the raw path ({raw}): ids in "
        "labels create one series per id and exhaust Prometheus"
    )
    assert any(
        s.name == "http_request_duration_seconds_count" and s.labels.get("service") == service
        for s in samples
    ), f"{service}: a http_request_duration_seconds histogram is needed for latency panels"
    leaked = sorted(
        {
            s.labels.get("route")
            for s in samples
            if stray.rsplit("/", 1)[-1] in str(s.labels.get("route"))
        }
    )
    assert not leaked, (
        f"{service}: a request that matches no route must be labelled with one fixed value (say "
        f"'unmatched'), never its path: anyone can send random paths and create a series each. "
        f"GET {stray} produced route labels {leaked}"
    )

    import redis as redis_lib
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    down = redis_lib.Redis(
        host="127.0.0.1",
        port=1,
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    broken = TestClient(
        load(f"{service}.app").create_app(redis=down, namespace=ns), raise_server_exceptions=False
    )
    live, ready = broken.get("/healthz"), broken.get("/readyz")
    assert live.status_code == 200 and ready.status_code == 503, (
        f"{service} with Redis unreachable: liveness must stay 200 (a restart cannot fix Redis) "
        f"and readiness must be 503 (stop sending traffic): /healthz {live.status_code}, /readyz "
        f"{ready.status_code}"
    )
    failed = broken.get(path)
    assert failed.status_code >= 500, (
        f"{service} with Redis unreachable cannot serve {path}: {show(failed)}"
    )
    crashed = [
        s
        for fam in text_string_to_metric_families(broken.get("/metrics").text)
        for s in fam.samples
        if s.name == "http_requests_total" and s.labels.get("route") == route and s.value >= 1
    ]
    assert any(s.labels.get("status") == str(failed.status_code) for s in crashed), (
        f"{service}: a request whose handler raised must still be counted, with the status the "
        f"client got ({failed.status_code}): those are the errors the SLO alerts divide by. After "
        f"GET {path} failed, http_requests_total for {route} was "
        f"{[(s.labels, s.value) for s in crashed]}"
    )
