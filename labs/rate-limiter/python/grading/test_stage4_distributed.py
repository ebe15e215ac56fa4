"""Stage `distributed`: one limit shared through Redis, atomically, with TTLs."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

WINDOW = 60


def limiter(load: Any, client: Any, clock: Any, prefix: str, limit: int = 5) -> Any:
    distributed = load("distributed")
    return distributed.RedisRateLimiter(
        client, limit=limit, window_seconds=WINDOW, clock=clock, prefix=prefix
    )


def test_two_instances_share_one_limit_under_concurrency(make_client, redis_backend, redis_prefix):
    settings = {"rate_limit": 10, "rate_window_seconds": WINDOW, "redis_key_prefix": redis_prefix}
    # Two app instances, each with its own connection to the same Redis.
    instances = [make_client(redis_client=redis_backend.client(), **settings) for _ in range(2)]
    requests = 50
    barrier = threading.Barrier(requests)
    statuses: list[int] = []
    lock = threading.Lock()

    def fire(n: int) -> None:
        barrier.wait(timeout=30)
        status = instances[n % 2].get("/api/ping").status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=fire, args=(n,)) for n in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    tally = Counter(statuses)
    assert len(statuses) == requests, "every request must complete"
    assert tally[200] == 10 and tally[429] == 40, (
        f"two instances sharing one Redis must admit exactly the limit (10), got {dict(tally)}"
    )


def test_limiter_makes_one_atomic_script_call_per_hit(load, redis_backend, redis_prefix, clock):
    client = redis_backend.client()
    commands: list[str] = []
    original = client.execute_command

    def recording(*args: Any, **options: Any) -> Any:
        commands.append(str(args[0]).upper())
        return original(*args, **options)

    client.execute_command = recording  # the instance attribute shadows the method
    shared = limiter(load, client, clock, redis_prefix, limit=3)
    decisions = [shared.hit("k") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]

    scripted = {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL"}
    allowed = scripted | {"SCRIPT LOAD", "SCRIPT", "SCRIPT EXISTS"}
    stray = sorted(set(commands) - allowed)
    assert not stray, (
        f"{stray} sent outside a script: check-and-increment plus expiry must be one atomic "
        "Lua script (separate INCR/EXPIRE can leave immortal keys or overshoot the limit)"
    )
    runs = sum(1 for c in commands if c in scripted)
    assert 5 <= runs <= 6, f"expected one script call per hit (a NOSCRIPT retry aside), got {runs}"


def test_every_limiter_key_expires_with_its_window(load, redis_backend, redis_prefix, clock):
    client = redis_backend.client()
    shared = limiter(load, client, clock, redis_prefix, limit=2)
    for key in ("alice", "bob", "carol"):
        for _ in range(4):  # both admitted and rejected hits
            shared.hit(key)
    keys = list(client.scan_iter(match=redis_prefix + "*"))
    assert keys, f"the limiter must store its keys under the configured prefix {redis_prefix!r}"
    left_ms = (WINDOW - clock.now() % WINDOW) * 1000
    for key in keys:
        ttl = client.pttl(key)
        assert ttl > 0, f"{key!r} has no TTL (pttl={ttl}); it would live forever"
        assert ttl <= left_ms + 1000, (
            f"{key!r} outlives its window: pttl={ttl} ms, window ends in {left_ms:.0f} ms"
        )


def test_redis_limiter_follows_the_injected_clock(load, redis_backend, redis_prefix, clock):
    shared = limiter(load, redis_backend.client(), clock, redis_prefix, limit=2)
    assert [shared.hit("k").allowed for _ in range(3)] == [True, True, False]
    denied = shared.hit("k")
    assert denied.retry_after == pytest.approx(WINDOW - clock.now() % WINDOW), (
        "retry_after comes from the injected clock, not Redis's TIME"
    )
    clock.advance(WINDOW)  # only the fake clock moves
    assert shared.hit("k").allowed, "a new window (by the injected clock) must admit again"
    other = limiter(load, redis_backend.client(), clock, redis_prefix, limit=2)
    assert other.hit("k").allowed and not other.hit("k").allowed, (
        "a second limiter on the same Redis and prefix shares the same counter"
    )


def test_redis_outage_fails_closed_by_default(make_client, down_redis, load):
    closed = make_client(redis_client=down_redis, rate_limit=5)
    response = closed.get("/api/ping")
    assert response.status_code == 503, (
        "with Redis down the documented default is to fail closed: 503, not 500 and not a free pass"
    )
    assert response.headers.get("content-type", "").startswith("application/problem+json")
    assert response.headers.get("Retry-After", "").isdigit()
    assert closed.get("/livez").status_code == 200

    distributed = load("distributed")
    assert issubclass(distributed.LimiterUnavailable, Exception)
    opened = make_client(redis_client=down_redis, rate_limit=5, rate_limit_fail_open=True)
    assert opened.get("/api/ping").status_code == 200, (
        "rate_limit_fail_open=True lets traffic through"
    )
