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
    # One request from another address first: its counter must be in the shared Redis.
    other = make_client(app=instances[0].app, client_addr=("198.51.100.250", 45000))
    assert other.get("/api/ping").status_code == 200
    assert list(redis_backend.client().scan_iter(match=redis_prefix + "*")), (
        f"the limiter must keep its counters in the shared Redis, under the prefix {redis_prefix!r}"
    )
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
        # Generous slack for the real time this test takes; a key must not expire early.
        assert ttl >= left_ms / 2, (
            f"{key!r} expires long before its window ends: pttl={ttl} ms, window ends in "
            f"{left_ms:.0f} ms (PEXPIRE takes milliseconds); an early expiry resets the count"
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


def test_redis_limiter_cost_is_all_or_nothing(load, redis_backend, redis_prefix, clock):
    shared = limiter(load, redis_backend.client(), clock, redis_prefix, limit=5)
    first = shared.hit("k", cost=3)
    assert first.allowed and first.remaining == 2, (
        f"a hit of cost 3 takes 3 of the 5 units, leaving 2 (got {first})"
    )
    for _ in range(3):
        denied = shared.hit("k", cost=3)
        assert not denied.allowed, "a hit of cost 3 does not fit in the 2 units left"
        assert denied.remaining == 2, (
            "a denied hit must consume nothing, in the script as well "
            f"(remaining should stay 2, got {denied.remaining})"
        )
    last = shared.hit("k", cost=2)
    assert last.allowed and last.remaining == 0, (
        f"after denied hits the 2 units left still admit a hit of cost 2 (got {last})"
    )
    assert not shared.hit("k").allowed, "3 + 2 units exhaust a limit of 5"


REDIS_FAILURES = ["timeout", "readonly_replica", "out_of_memory"]


@pytest.mark.parametrize("failure", REDIS_FAILURES)
def test_every_redis_error_makes_the_limiter_unavailable(
    load, redis_backend, redis_prefix, clock, failure
):
    import redis

    error = {
        "timeout": redis.exceptions.TimeoutError("Timeout reading from socket"),
        "readonly_replica": redis.exceptions.ReadOnlyError(
            "You can't write against a read only replica."
        ),
        "out_of_memory": redis.exceptions.ResponseError(
            "OOM command not allowed when used memory > 'maxmemory'."
        ),
    }[failure]
    client = redis_backend.client()

    def failing(*_: Any, **__: Any) -> Any:
        raise error

    client.execute_command = failing  # every command now fails the way a sick Redis does
    distributed = load("distributed")
    shared = limiter(load, client, clock, redis_prefix, limit=3)
    try:
        decision = shared.hit("k")
    except distributed.LimiterUnavailable:
        return
    except Exception as exc:
        pytest.fail(
            "every redis.RedisError must surface as LimiterUnavailable (a timeout or an error "
            f"reply as well as a refused connection), got {exc!r}"
        )
    pytest.fail(f"a Redis that answers every command with an error cannot admit a hit: {decision}")


def test_redis_limiter_decisions_are_exact_down_to_a_limit_of_one(
    load, redis_backend, redis_prefix, clock
):
    clock.advance(0.75)  # START is 40 s into a 60 s window: 19.25 s are left
    left = WINDOW - clock.now() % WINDOW
    try:
        single = limiter(load, redis_backend.client(), clock, redis_prefix, limit=1)
    except ValueError as exc:
        pytest.fail(f"a limit of 1 per window is a valid configuration: {exc}")
    first = single.hit("k")
    assert first.allowed, "a limit of 1 admits one hit (of cost 1, the whole limit)"
    assert (first.limit, first.remaining, first.retry_after) == (1, 0, 0.0), (
        "an admitted hit reports the limit, what is left of it (0) and no wait (retry_after 0.0); "
        f"got limit={first.limit}, remaining={first.remaining}, retry_after={first.retry_after}"
    )
    assert first.reset_after == pytest.approx(left), "reset_after is the time left in the window"
    denied = single.hit("k")
    assert not denied.allowed and denied.limit == 1 and denied.remaining == 0
    assert denied.retry_after == pytest.approx(left), "a denied hit waits for the next window"

    distributed = load("distributed")
    try:
        short = distributed.RedisRateLimiter(
            redis_backend.client(), limit=3, window_seconds=1, clock=clock, prefix=redis_prefix
        )
    except ValueError as exc:
        pytest.fail(f"a window of 1 s is a valid configuration: {exc}")
    assert short.hit("short").allowed, "a fresh key in a 1 s window admits its first hit"


def test_redis_limiter_refuses_invalid_limits_and_costs(load, redis_backend, redis_prefix, clock):
    distributed = load("distributed")
    client = redis_backend.client()

    def outcome(action: Any) -> str | None:
        try:
            result = action()
        except ValueError:
            return None
        except Exception as exc:  # reported below
            return f"raised {exc!r}"
        return f"returned {result!r}"

    for limit, window in ((0, WINDOW), (5, 0)):
        got = outcome(
            lambda lim=limit, win=window: distributed.RedisRateLimiter(
                client, limit=lim, window_seconds=win, clock=clock, prefix=redis_prefix
            )
        )
        assert got is None, (
            f"limit={limit}, window_seconds={window} has no sensible meaning: the constructor "
            f"must raise ValueError; it {got}"
        )
    shared = limiter(load, client, clock, redis_prefix, limit=5)
    for cost in (0, -2, 6):
        got = outcome(lambda c=cost: shared.hit("k", cost=c))
        assert got is None, (
            f"a hit of cost {cost} is never right with a limit of 5 (a negative INCRBY would give "
            f"quota back): raise ValueError before touching Redis; it {got}"
        )
    assert shared.hit("k", cost=5).allowed, "the untouched limit of 5 admits a hit of cost 5"
