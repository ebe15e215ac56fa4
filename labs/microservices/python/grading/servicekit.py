"""Helpers the service and resilience tests share: in-process apps, recording fakes."""

from __future__ import annotations

import uuid

import httpx
from fastapi.testclient import TestClient
from labkit import load


class RecordingPublisher:
    def __init__(self):
        self.events: list[tuple[str, dict]] = []

    def publish(self, topic, event):
        self.events.append((topic, dict(event)))
        return f"{len(self.events)}-0"


class RecordingNotifier:
    def __init__(self, fail_times: int = 0):
        self.fail_times = fail_times
        self.attempts = 0
        self.sent: list[tuple[str, str]] = []

    def send(self, user_id, message):
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise RuntimeError("notification provider timed out (simulated)")
        self.sent.append((user_id, message))


def forward_to(app) -> httpx.MockTransport:
    """A transport that hands each request to an in-process app, as a network would."""
    client = TestClient(app, raise_server_exceptions=False)

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = client.request(
            request.method, request.url.path, params=request.url.params,
            content=request.content, headers=headers,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handler)


def users_app(redis_client, ns):
    return load("users.app").create_app(redis=redis_client, namespace=ns)


def payments_app(redis_client, ns, users, publisher=None):
    resilience = load("common.resilience")
    peer = resilience.ServiceClient("http://users.test", transport=forward_to(users))
    return load("payments.app").create_app(
        redis=redis_client, namespace=ns, users=peer, publisher=publisher
    )


def notifications_app(redis_client, ns, notifier, name, redeliver_after_ms=0):
    return load("notifications.app").create_app(
        redis=redis_client, namespace=ns, notifier=notifier,
        consumer_name=name, redeliver_after_ms=redeliver_after_ms,
    )


def show(response) -> str:
    return f"{response.request.method} {response.request.url.path} -> {response.status_code}: {response.text[:300]}"


def register(client: TestClient, email: str | None = None) -> dict:
    email = email or f"ada-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/users", json={"email": email, "name": "Ada Lovelace"})
    assert response.status_code == 201, f"registration should answer 201 Created: {show(response)}"
    return response.json()


def payment_event(user_id: str) -> dict:
    return {
        "event_id": uuid.uuid4().hex, "type": "payment.succeeded", "payment_id": uuid.uuid4().hex,
        "user_id": user_id, "amount_cents": 1250, "currency": "EUR",
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }


def run_worker(app) -> int:
    """One batch of the app's worker; a worker that lets a handler error escape counts 0."""
    try:
        return app.state.worker.run_once()
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - a crash in the worker is what some tests simulate
        return 0
