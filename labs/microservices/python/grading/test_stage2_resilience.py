"""Stage `resilience`: calls between services have timeouts, retry with capped exponential
backoff and full jitter, and go through a circuit breaker. Time is faked: no test sleeps."""

from __future__ import annotations

import contextlib
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from labkit import load


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Peer:
    """A scripted peer: each call takes the next outcome (a status code or an exception)."""

    def __init__(self, *outcomes, default=503):
        self.outcomes = list(outcomes)
        self.default = default
        self.calls = 0
        self.timeouts: list[dict] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.requests.append(request)
        self.timeouts.append(request.extensions.get("timeout"))
        outcome = self.outcomes.pop(0) if self.outcomes else self.default
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome("simulated", request=request)
        return httpx.Response(outcome, json={"ok": outcome < 400})


def resilience():
    return load("common.resilience")


def expect_unavailable(call, why: str):
    """The call must raise PeerUnavailable (or a subclass)."""
    r = resilience()
    try:
        result = call()
    except r.PeerUnavailable as exc:
        return exc
    pytest.fail(f"expected PeerUnavailable, got a return value ({result!r}). {why}", pytrace=False)


def make_client(
    peer: Peer, *, attempts=3, threshold=100, clock=None, rng=lambda: 0.5, sleeps=None, timeout=2.0
):
    r = resilience()
    return r.ServiceClient(
        "http://peer.test",
        transport=httpx.MockTransport(peer),
        timeout=timeout,
        retry=r.RetryPolicy(attempts=attempts, base_delay=0.1, max_delay=1.0, rng=rng),
        breaker=r.CircuitBreaker(
            failure_threshold=threshold, reset_timeout=10.0, clock=clock or FakeClock()
        ),
        sleep=(sleeps.append if sleeps is not None else (lambda _s: None)),
    )


def test_every_peer_call_has_a_timeout():
    peer = Peer(200)
    make_client(peer, timeout=1.5).get("/ping")
    timeout = peer.timeouts[0] or {}
    missing = [k for k in ("connect", "read", "write", "pool") if not timeout.get(k)]
    assert not missing and all(
        0 < timeout[k] <= 1.5 for k in ("connect", "read", "write", "pool")
    ), (
        "rule: every service-to-service call carries a timeout on connect, read, write and pool "
        "(the configured 1.5 s here). Why: without one a slow peer holds a worker forever and "
        f"the stall spreads upstream. The request went out with timeout={timeout}"
    )


def test_transient_failures_are_retried_until_success():
    r = resilience()
    sleeps: list[float] = []
    peer = Peer(503, httpx.ReadTimeout, 200)
    response = make_client(peer, attempts=3, sleeps=sleeps).get(
        "/users/1", params={"expand": "profile"}, headers={"X-Request-Id": "req-42"}
    )
    assert response.status_code == 200 and peer.calls == 3, (
        "rule: retry transient failures (502/503/504, timeouts, refused connections) of "
        "idempotent calls. Why: most such failures last less than a second. Peer answered 503, "
        f"then timed out, then 200; got {response.status_code} after {peer.calls} call(s)"
    )
    assert sleeps == pytest.approx([0.05, 0.1]), (
        "the client must wait policy.backoff(n) before retry n (rng=0.5 gives [0.05, 0.1]); slept "
        f"{sleeps}"
    )
    sent = [(q.url.params.get("expand"), q.headers.get("x-request-id")) for q in peer.requests]
    assert sent == [("profile", "req-42")] * 3, (
        "rule: every attempt, retries included, sends the request the caller asked for: the "
        "query parameters, headers and body passed to get()/request() must reach the peer. "
        'get("/users/1", params={"expand": "profile"}, headers={"X-Request-Id": '
        f'"req-42"}}) reached the peer as (expand, X-Request-Id) per attempt: {sent}'
    )
    not_found = Peer(404)
    answer = make_client(not_found, attempts=3).get("/users/2")
    assert answer.status_code == 404 and not_found.calls == 1, (
        "rule: never retry a 4xx: the peer answered and the answer will not change. "
        f"Called {not_found.calls} time(s) for a 404"
    )
    assert issubclass(r.CircuitOpenError, r.PeerUnavailable), (
        "CircuitOpenError must be a kind of PeerUnavailable so callers handle both in one place"
    )
    for method in ("POST", "PATCH"):
        once = Peer(503, 200)
        with contextlib.suppress(r.PeerUnavailable):
            make_client(once, attempts=3).request(method, "/payments", json={"amount_cents": 100})
        assert once.calls == 1, (
            f"rule: never retry a non-idempotent request ({method}) on your own. Why: a 503 or a "
            "timeout does not say whether the peer acted; a second POST can create a second "
            f"record. The peer answered 503 once; {method} was sent {once.calls} time(s)"
        )
        body = once.requests[0].content
        assert body and json.loads(body) == {"amount_cents": 100}, (
            f"the body passed to request({method!r}, ..., json=...) must reach the peer; it sent "
            f"{body!r}"
        )


def test_backoff_is_exponential_capped_with_full_jitter():
    r = resilience()
    top = r.RetryPolicy(attempts=8, base_delay=0.1, max_delay=1.0, rng=lambda: 1.0)
    ceiling = [top.backoff(n) for n in range(1, 7)]
    assert ceiling == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]), (
        "rule: the backoff ceiling doubles each retry from base_delay and is capped at max_delay. "
        f"With rng()=1.0 expected [0.1, 0.2, 0.4, 0.8, 1.0, 1.0], got {ceiling}"
    )
    quarter = r.RetryPolicy(attempts=8, base_delay=0.1, max_delay=1.0, rng=lambda: 0.25)
    jittered = [quarter.backoff(n) for n in range(1, 7)]
    assert jittered == pytest.approx([c * 0.25 for c in ceiling]), (
        "rule: full jitter, delay = rng() * ceiling (uniform in [0, ceiling)). Why: without "
        "jitter every client that failed together retries together and the peer is hit by "
        f"synchronised waves. With rng()=0.25 expected a quarter of {ceiling}, got {jittered}"
    )
    zero = r.RetryPolicy(attempts=8, base_delay=0.1, max_delay=1.0, rng=lambda: 0.0)
    assert [zero.backoff(n) for n in range(1, 4)] == pytest.approx([0, 0, 0]), (
        "rng()=0 gives no wait"
    )


def test_retries_stop_after_budget_with_peer_unavailable():
    r = resilience()
    sleeps: list[float] = []
    peer = Peer(default=503)
    client = make_client(peer, attempts=4, sleeps=sleeps)
    spent = expect_unavailable(
        lambda: client.get("/users/1"),
        "rule: when every attempt fails, raise PeerUnavailable instead of handing the caller "
        "a 503 to interpret. The peer answered 503 every time.",
    )
    assert peer.calls == 4 and len(sleeps) == 3, (
        "rule: a retry budget is finite: `attempts` calls in all, a backoff between them, none "
        f"after the last. Got {peer.calls} call(s) and {len(sleeps)} sleep(s) for attempts=4"
    )
    assert "503" in str(spent), (
        "rule: PeerUnavailable says why the peer was unusable: the last status it answered, or "
        "the transport error. Why: payments passes it on as the detail of its 503, and it is the "
        "first thing whoever is on call reads. Every attempt got a 503; the error says "
        f"{str(spent)!r}"
    )
    refused = Peer(default=httpx.ConnectError)
    try:
        make_client(refused, attempts=2).get("/users/1")
    except r.PeerUnavailable as exc:
        cause = exc.__cause__ or exc.__context__
        named = "ConnectError" in str(exc) or "simulated" in str(exc)
        assert named or isinstance(cause, httpx.ConnectError), (
            "PeerUnavailable must name the transport error that made the peer unusable (in its "
            "message, or chained with `raise ... from`): the connection was refused with "
            f"ConnectError('simulated'); got {str(exc)!r}"
        )
    except Exception as exc:
        pytest.fail(
            "a peer that cannot be reached must surface as PeerUnavailable, not as a raw "
            f"transport error ({type(exc).__name__}): callers should not know httpx",
            pytrace=False,
        )
    else:
        pytest.fail(
            "a refused connection must raise PeerUnavailable after the retries", pytrace=False
        )


def test_breaker_opens_after_consecutive_failures_and_fails_fast():
    r = resilience()
    clock = FakeClock()
    peer = Peer(503, 503, 200, 503, 503, default=503)
    client = make_client(peer, attempts=1, threshold=3, clock=clock)
    why = "with attempts=1 each 503 must raise PeerUnavailable and count as one breaker failure"
    for _ in range(2):
        expect_unavailable(lambda: client.get("/x"), why)
    assert client.get("/x").status_code == 200
    for _ in range(2):
        expect_unavailable(lambda: client.get("/x"), why)
    assert client.breaker.state == "closed", (
        "rule: the breaker counts consecutive failures; a success resets the count. Two failures, "
        "a success, two failures must leave it closed (threshold 3), it is "
        f"{client.breaker.state!r}"
    )
    expect_unavailable(lambda: client.get("/x"), why)
    assert client.breaker.state == "open", (
        "three consecutive failures (threshold 3) must open the breaker; it is "
        f"{client.breaker.state!r}"
    )
    calls = peer.calls
    refused = expect_unavailable(lambda: client.get("/x"), "an open breaker refuses the call")
    assert isinstance(refused, r.CircuitOpenError) and peer.calls == calls, (
        "rule: an open breaker fails fast without touching the network. Why: a struggling "
        "peer needs less load, not more, and callers need an answer now"
    )

    answers = Peer(default=404)
    picky = make_client(answers, attempts=1, threshold=2, clock=FakeClock())
    statuses = [picky.get("/users/unknown").status_code for _ in range(4)]
    assert statuses == [404] * 4 and answers.calls == 4 and picky.breaker.state == "closed", (
        "rule: only peer failures (5xx that mean 'unavailable', timeouts, refused connections) "
        "count towards opening the breaker; a 4xx is the peer working and answering. Why: "
        "otherwise a run of lookups for unknown ids cuts payments off from a healthy users "
        f"service. Four 404s with threshold 2 gave {statuses}, {answers.calls} call(s), breaker "
        f"{picky.breaker.state!r}"
    )

    down = Peer(default=503)
    retrying = make_client(down, attempts=5, threshold=2, clock=FakeClock())
    expect_unavailable(lambda: retrying.get("/x"), "every attempt fails")
    assert down.calls == 2, (
        "rule: every attempt, retries included, asks the breaker first. Why: a breaker "
        "consulted once per call lets the retries of that call keep hammering a peer it has "
        "just declared down. With threshold 2 and attempts=5 against a dead peer, the third "
        f"attempt must be refused; the peer was called {down.calls} time(s)"
    )


def test_breaker_half_opens_once_then_closes_or_reopens():
    r = resilience()
    clock = FakeClock()
    breaker = r.CircuitBreaker(failure_threshold=2, reset_timeout=10.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow(), (
        f"two failures open it: {breaker.state!r}"
    )
    clock.advance(9.9)
    assert breaker.state == "open" and not breaker.allow(), "still open before reset_timeout"
    clock.advance(0.1)
    assert breaker.state == "half_open", (
        "rule: after reset_timeout the breaker half-opens to probe the peer. Why: a breaker that "
        f"never half-opens stays open forever after the peer recovers. State: {breaker.state!r}"
    )
    assert breaker.allow() is True and breaker.allow() is False, (
        "half-open lets exactly one trial call through; the rest still fail fast"
    )
    breaker.record_failure()
    assert breaker.state == "open", (
        "a failed trial call reopens the breaker at once (not after `failure_threshold` more "
        f"failures): state {breaker.state!r}"
    )
    clock.advance(10.0)
    assert breaker.allow() is True
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow(), "a successful trial closes the breaker"

    late = r.CircuitBreaker(failure_threshold=2, reset_timeout=10.0, clock=FakeClock())
    late.record_failure()
    late.record_failure()
    try:
        late.record_failure()  # a call that started before the breaker opened fails late
    except Exception as exc:
        pytest.fail(
            "an open breaker must accept record_failure() from a call that was already in flight "
            f"when it opened (concurrent requests do that); it raised {type(exc).__name__}: {exc}",
            pytrace=False,
        )
    assert late.state == "open", f"a late failure keeps the breaker open: {late.state!r}"

    peer = Peer(503, 503, 200)
    client = make_client(peer, attempts=1, threshold=2, clock=clock)
    for _ in range(2):
        expect_unavailable(lambda: client.get("/x"), "each 503 fails the call")
    clock.advance(10.0)
    assert client.get("/x").status_code == 200 and client.breaker.state == "closed", (
        "through the client: after reset_timeout one call goes through and its success closes the "
        "breaker"
    )


def test_payments_answers_503_when_users_is_down_without_burning_the_key(redis_client, ns):
    from servicekit import RecordingPublisher, forward_to, register, show, users_app

    r = resilience()
    users = users_app(redis_client, ns)
    user = register(TestClient(users))
    forward = forward_to(users)
    down = {"value": True}

    def handler(request):
        if down["value"]:
            raise httpx.ConnectError("connection refused (simulated)", request=request)
        return forward.handle_request(request)

    peer = r.ServiceClient(
        "http://users.test",
        transport=httpx.MockTransport(handler),
        timeout=1.0,
        retry=r.RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.1, rng=lambda: 0.0),
        breaker=r.CircuitBreaker(failure_threshold=50, reset_timeout=1.0, clock=FakeClock()),
        sleep=lambda _s: None,
    )
    publisher = RecordingPublisher()
    app = load("payments.app").create_app(
        redis=redis_client, namespace=ns, users=peer, publisher=publisher
    )
    client = TestClient(app, raise_server_exceptions=False)
    body = {"user_id": user["id"], "amount_cents": 700, "currency": "EUR"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    failed = client.post("/payments", json=body, headers=key)
    assert failed.status_code == 503, (
        "rule: when a dependency is down, answer 503 (retryable) instead of crashing with 500 "
        f"or hanging. Users service unreachable: {show(failed)}"
    )
    assert publisher.events == [], "no payment happened, so no event may be published"
    down["value"] = False
    retried = client.post("/payments", json=body, headers=key)
    assert retried.status_code == 201, (
        "rule: a request that failed before doing anything must not burn its Idempotency-Key; "
        f"the client's retry with the same key must succeed once the peer is back: {show(retried)}"
    )
    assert len(publisher.events) == 1, publisher.events
