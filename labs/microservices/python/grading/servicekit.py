"""Helpers the service and resilience tests share: in-process apps, recording fakes."""

from __future__ import annotations

import threading
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
    def __init__(self, fail_times: int = 0, while_sending=None):
        self.fail_times = fail_times
        self.while_sending = while_sending
        self.attempts = 0
        self.sent: list[tuple[str, str]] = []

    def send(self, user_id, message):
        self.attempts += 1
        if self.while_sending is not None:
            # Something else happens while this send is on the wire (once).
            hook, self.while_sending = self.while_sending, None
            hook()
        if self.attempts <= self.fail_times:
            raise RuntimeError("notification provider timed out (simulated)")
        self.sent.append((user_id, message))


def forward_to(app) -> httpx.MockTransport:
    """A transport that hands each request to an in-process app, as a network would."""
    client = TestClient(app, raise_server_exceptions=False)

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        answer = client.request(
            request.method,
            request.url.path,
            params=request.url.params,
            content=request.content,
            headers=headers,
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
        redis=redis_client,
        namespace=ns,
        notifier=notifier,
        consumer_name=name,
        redeliver_after_ms=redeliver_after_ms,
    )


def show(response) -> str:
    request = response.request
    return f"{request.method} {request.url.path} -> {response.status_code}: {response.text[:300]}"


def register(client: TestClient, email: str | None = None) -> dict:
    email = email or f"ada-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/users", json={"email": email, "name": "Ada Lovelace"})
    assert response.status_code == 201, f"registration should answer 201 Created: {show(response)}"
    return response.json()


def payment_event(user_id: str) -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "type": "payment.succeeded",
        "payment_id": uuid.uuid4().hex,
        "user_id": user_id,
        "amount_cents": 1250,
        "currency": "EUR",
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }


def run_worker(app) -> int:
    """One batch of the app's worker; a worker that lets a handler error escape counts 0."""
    try:
        return app.state.worker.run_once()
    except NotImplementedError:
        raise
    except Exception:
        return 0


# Redis commands that change data (redis-py method names), plus the ways to batch them.
WRITES = frozenset(
    {
        "set",
        "setnx",
        "setex",
        "psetex",
        "mset",
        "msetnx",
        "getset",
        "getdel",
        "getex",
        "hset",
        "hsetnx",
        "hmset",
        "hdel",
        "hincrby",
        "delete",
        "unlink",
        "expire",
        "pexpire",
        "incr",
        "incrby",
        "decr",
        "decrby",
        "lpush",
        "rpush",
        "sadd",
        "srem",
        "zadd",
        "xadd",
        "eval",
        "evalsha",
        "fcall",
        "execute_command",
        "pipeline",
        "transaction",
        "register_script",
    }
)


class Interleaved:
    """The Redis client of one replica, which lets a second replica run a whole request just
    before this one's first write. A check-then-write that is not atomic loses that race every
    time, so the outcome does not depend on thread timing."""

    def __init__(self, client, before_first_write):
        self._client = client
        self._hook = before_first_write
        self.fired = False

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in WRITES or not callable(attr):
            return attr

        def write(*args, **kwargs):
            if not self.fired:
                self.fired = True
                self._hook()
            return attr(*args, **kwargs)

        return write


def in_thread(call):
    """Run `call` to completion in another thread (a second replica) and return its result."""
    box: dict = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="second-replica", daemon=True)
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():
        raise AssertionError("the second replica's request did not finish within 60 s (deadlock?)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def race(redis_client, first, second):
    """`first(client)` runs against an interleaving client; `second()` runs to completion just
    before first's first Redis write (or after it, when first writes nothing). Returns both."""
    answers: dict = {}
    racing = Interleaved(redis_client, lambda: answers.setdefault("second", in_thread(second)))
    answers["first"] = first(racing)
    if "second" not in answers:
        answers["second"] = second()
    return answers["first"], answers["second"]


def keys_under(redis_client, prefix: str) -> set[str]:
    return set(redis_client.scan_iter(match=f"{prefix}*", count=500))


def pending(redis_client, ns) -> int:
    """Messages of the payments stream that the notifications group received, never acknowledged."""
    import redis

    stream = load("common.events").stream_key(ns, "payments")
    group = load("notifications.app").GROUP
    try:
        return int(redis_client.xpending(stream, group).get("pending") or 0)
    except redis.ResponseError:  # no such group: nothing was ever delivered
        return 0
