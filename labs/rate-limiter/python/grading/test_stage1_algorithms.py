"""Stage `algorithms`: four limiters, exact on an injected clock."""

from __future__ import annotations

import time
from typing import Any

import pytest

# 2_199_999_960 is a multiple of 60 (and of 10), so window arithmetic below is exact.
W0 = 2_199_999_960.0


def admitted(limiter: Any, key: str, attempts: int) -> int:
    """How many of `attempts` back-to-back hits are allowed."""
    return sum(limiter.hit(key).allowed for _ in range(attempts))


def test_token_bucket_allows_burst_then_denies(load, clock):
    rl = load("ratelimit")
    bucket = rl.TokenBucket(capacity=5, refill_per_second=2.0, clock=clock)

    decisions = [bucket.hit("k") for _ in range(5)]
    assert all(d.allowed for d in decisions), "a full bucket must admit a burst of `capacity`"
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]

    denied = bucket.hit("k")
    assert not denied.allowed, "the hit after the burst must be denied"
    # One token is missing and tokens arrive at 2/s: exactly half a second.
    assert denied.retry_after == pytest.approx(0.5)


def test_token_bucket_refills_at_rate_and_never_above_capacity(load, clock):
    rl = load("ratelimit")
    bucket = rl.TokenBucket(capacity=4, refill_per_second=1.0, clock=clock)
    assert admitted(bucket, "k", 4) == 4

    clock.advance(2.5)  # 2.5 tokens: two whole hits, half a token left over
    assert admitted(bucket, "k", 5) == 2, "after 2.5 s at 1 token/s exactly 2 hits fit"
    assert bucket.hit("k").retry_after == pytest.approx(0.5), "half a token was kept"

    clock.advance(10_000)  # a long idle period must not bank more than `capacity`
    assert admitted(bucket, "k", 10) == 4, "the bucket must be capped at its capacity"


def test_fixed_window_resets_exactly_at_boundary(load, clock):
    rl = load("ratelimit")
    limiter = rl.FixedWindow(limit=3, window_seconds=10, clock=clock)
    clock.t = W0 + 9.5  # half a second before the window [W0, W0 + 10) ends

    assert admitted(limiter, "k", 3) == 3
    denied = limiter.hit("k")
    assert not denied.allowed
    assert denied.retry_after == pytest.approx(0.5), "retry_after is the time left in the window"

    clock.advance(0.5)  # exactly on the boundary: a brand-new window
    assert admitted(limiter, "k", 5) == 3, (
        "windows are aligned to multiples of their length: at W0 + 10 a new one starts "
        "(which is why a fixed window can admit 2x the limit within one second)"
    )


def test_sliding_window_counter_weights_previous_window(load, clock):
    rl = load("ratelimit")
    limiter = rl.SlidingWindowCounter(limit=10, window_seconds=60, clock=clock)
    clock.t = W0 + 30
    assert admitted(limiter, "k", 12) == 10

    # 25% into the next window the previous 10 hits weigh 10 * 0.75 = 7.5,
    # so only 2 more fit (7.5 + 2 = 9.5; a third would make 10.5).
    clock.t = W0 + 60 + 15
    assert admitted(limiter, "k", 5) == 2, "estimate = previous * (1 - progress) + current"
    denied = limiter.hit("k")
    assert not denied.allowed and denied.retry_after > 0

    # Halfway: 10 * 0.5 + 2 = 7, so exactly 3 more.
    clock.t = W0 + 60 + 30
    assert admitted(limiter, "k", 5) == 3

    # Two windows later the window just before was empty: nothing carries over.
    clock.t = W0 + 180 + 5
    assert admitted(limiter, "k", 12) == 10, "only the immediately previous window counts"


def test_gcra_spacing_and_exact_retry_after(load, clock):
    rl = load("ratelimit")
    # 10 per minute: emission interval T = 6 s; burst 3: tolerance tau = 12 s.
    gcra = rl.GCRA(limit=10, period_seconds=60, burst=3, clock=clock)
    t0 = clock.now()

    assert admitted(gcra, "k", 3) == 3, "`burst` hits may arrive at once"
    denied = gcra.hit("k")
    assert not denied.allowed
    # TAT is now t0 + 18, so the next hit conforms at TAT - tau = t0 + 6.
    assert denied.retry_after == pytest.approx(6.0)

    clock.t = t0 + 5
    late = gcra.hit("k")
    assert not late.allowed and late.retry_after == pytest.approx(1.0)

    for step in range(1, 5):  # after the burst, exactly one hit every T seconds
        clock.t = t0 + 6 * step
        assert gcra.hit("k").allowed, (
            f"a hit exactly T after the previous one must conform ({step})"
        )
        assert not gcra.hit("k").allowed, "and only one"

    clock.advance(1_000)  # idle time restores the burst, and no more than the burst
    assert admitted(gcra, "k", 10) == 3, "TAT must be max(TAT, now) + T, not TAT + T"


def _limiters(rl: Any, clock: Any) -> dict[str, tuple[Any, int, float]]:
    """name -> (limiter, hits it admits at once, seconds after which it admits again)."""
    return {
        "token_bucket": (rl.TokenBucket(capacity=3, refill_per_second=1.0, clock=clock), 3, 1.0),
        "fixed_window": (rl.FixedWindow(limit=3, window_seconds=60, clock=clock), 3, 60.0),
        "sliding_window": (
            rl.SlidingWindowCounter(limit=3, window_seconds=60, clock=clock),
            3,
            120.0,
        ),
        "gcra": (rl.GCRA(limit=3, period_seconds=60, burst=3, clock=clock), 3, 20.0),
    }


ALGORITHMS = ["token_bucket", "fixed_window", "sliding_window", "gcra"]


@pytest.mark.parametrize("name", ALGORITHMS)
def test_algorithms_read_only_the_injected_clock(load, clock, monkeypatch, name):
    rl = load("ratelimit")
    limiter, burst, recovery = _limiters(rl, clock)[name]

    def wall_clock(*_: object) -> float:
        raise AssertionError("limiters must take time from the injected clock, not the time module")

    for attr in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"):
        monkeypatch.setattr(time, attr, wall_clock)

    assert admitted(limiter, "k", burst + 1) == burst
    # Only the fake clock moves; a limiter that looks at real time would stay shut.
    clock.advance(recovery)
    assert limiter.hit("k").allowed, "advancing the injected clock must restore quota"


@pytest.mark.parametrize("name", ALGORITHMS)
def test_algorithm_keys_are_isolated(load, clock, name):
    rl = load("ratelimit")
    limiter, burst, _ = _limiters(rl, clock)[name]
    assert admitted(limiter, "alice", burst + 2) == burst
    assert admitted(limiter, "bob", burst + 2) == burst, "one key's usage must not affect another's"
    assert not limiter.hit("alice").allowed


# Exactness below relies on dyadic fractions (0.25, 0.5, 0.75, ...): they are exact in binary
# floating point, so "admitted at exactly now + retry_after" has one right answer.


def fresh(rl: Any, clock: Any, name: str) -> Any:
    """One limiter per algorithm with a quota of 5 at once (cost tests)."""
    return {
        "token_bucket": lambda: rl.TokenBucket(capacity=5, refill_per_second=1.0, clock=clock),
        "fixed_window": lambda: rl.FixedWindow(limit=5, window_seconds=60, clock=clock),
        "sliding_window": lambda: rl.SlidingWindowCounter(limit=5, window_seconds=60, clock=clock),
        "gcra": lambda: rl.GCRA(limit=5, period_seconds=60, burst=5, clock=clock),
    }[name]()


@pytest.mark.parametrize("name", ALGORITHMS)
def test_cost_takes_that_many_units_in_every_algorithm(load, clock, name):
    limiter = fresh(load("ratelimit"), clock, name)
    first = limiter.hit("k", cost=3)
    assert first.allowed, f"{name}: a hit of cost 3 fits a fresh quota of 5"
    assert first.remaining == 2, (
        f"{name}: a hit of cost 3 takes 3 units of a quota of 5, leaving 2 (got {first.remaining})"
    )
    assert not limiter.hit("k", cost=3).allowed, (
        f"{name}: a second hit of cost 3 does not fit in the 2 units left"
    )
    last = limiter.hit("k", cost=2)
    assert last.allowed and last.remaining == 0, (
        f"{name}: after a denied hit the 2 units left still admit a hit of cost 2 "
        f"(got allowed={last.allowed}, remaining={last.remaining})"
    )
    assert not limiter.hit("k").allowed, f"{name}: 3 + 2 units exhaust a quota of 5"


# name -> (build, prelude) where prelude leaves the key with part of its quota used.
def _denial_setups(rl: Any, clock: Any) -> dict[str, Any]:
    def token_bucket() -> Any:
        bucket = rl.TokenBucket(capacity=4, refill_per_second=2.0, clock=clock)
        assert bucket.hit("k", cost=4).allowed
        clock.advance(0.25)  # half a token back
        return bucket

    def fixed_window() -> Any:
        limiter = rl.FixedWindow(limit=3, window_seconds=10, clock=clock)
        clock.t = W0 + 9.25
        assert limiter.hit("k", cost=2).allowed
        return limiter

    def sliding_window() -> Any:
        limiter = rl.SlidingWindowCounter(limit=4, window_seconds=60, clock=clock)
        clock.t = W0 + 30
        assert admitted(limiter, "k", 4) == 4
        clock.t = W0 + 75  # previous window (4 hits) weighs 4 * 0.75 = 3
        assert limiter.hit("k").allowed  # estimate 3 + 1 = 4
        return limiter

    def gcra() -> Any:
        # T = 0.5 s, tau = 0.5 s: two at once, then one every half second.
        limiter = rl.GCRA(limit=4, period_seconds=2, burst=2, clock=clock)
        assert admitted(limiter, "k", 2) == 2
        return limiter

    return {
        "token_bucket": token_bucket,
        "fixed_window": fixed_window,
        "sliding_window": sliding_window,
        "gcra": gcra,
    }


# name -> (cost of the denied hit, its exact retry_after in seconds)
EXACT_RETRY = {
    # 0.5 token left, 1.5 missing for a cost of 2, 2 tokens per second: 0.75 s
    "token_bucket": (2, 0.75),
    # 1 unit left of 3, cost 2 waits for the window end at W0 + 10
    "fixed_window": (2, 0.75),
    # estimate 3 + 1 = 4; cost 2 fits once 4 * (1 - p) + 1 + 2 <= 4, at p = 0.75: 30 s
    "sliding_window": (2, 30.0),
    # TAT = t0 + 1; cost 2 conforms once now >= TAT + 2T - T - tau = t0 + 1
    "gcra": (2, 1.0),
}


@pytest.mark.parametrize("name", ALGORITHMS)
def test_retry_after_is_the_exact_next_admissible_time(load, clock, name):
    limiter = _denial_setups(load("ratelimit"), clock)[name]()
    cost, expected = EXACT_RETRY[name]
    denied_at = clock.now()
    denied = limiter.hit("k", cost=cost)
    assert not denied.allowed
    assert denied.retry_after == pytest.approx(expected, abs=1e-9), (
        f"{name}: retry_after must be the exact wait until a hit of cost {cost} fits "
        f"({expected} s here), got {denied.retry_after}"
    )
    clock.t = denied_at + expected - 0.25
    assert not limiter.hit("k", cost=cost).allowed, (
        f"{name}: a quarter second before retry_after the hit must still be denied"
    )
    clock.t = denied_at + expected
    assert limiter.hit("k", cost=cost).allowed, (
        f"{name}: at exactly now + retry_after the same hit must be admitted "
        "(and the denied hits in between must not have consumed anything)"
    )


@pytest.mark.parametrize("name", ALGORITHMS)
def test_denied_hits_consume_nothing_in_every_algorithm(load, clock, name):
    limiter = _denial_setups(load("ratelimit"), clock)[name]()
    cost, expected = EXACT_RETRY[name]
    denied_at = clock.now()
    for _ in range(5):  # a client hammering while over the limit
        assert not limiter.hit("k", cost=cost).allowed
    clock.t = denied_at + expected
    assert limiter.hit("k", cost=cost).allowed, (
        f"{name}: denied hits must consume nothing, so a client that kept retrying is "
        f"admitted at the same moment as one that waited ({expected} s)"
    )


# name -> (build a limiter and bring it to a state with a fractional quota left)
def _fractional_states(rl: Any, clock: Any) -> dict[str, Any]:
    def token_bucket() -> Any:
        bucket = rl.TokenBucket(capacity=5, refill_per_second=2.0, clock=clock)
        assert bucket.hit("k", cost=5).allowed
        clock.advance(1.75)  # 3.5 tokens
        return bucket

    def fixed_window() -> Any:
        limiter = rl.FixedWindow(limit=5, window_seconds=60, clock=clock)
        assert limiter.hit("k", cost=2).allowed
        return limiter

    def sliding_window() -> Any:
        limiter = rl.SlidingWindowCounter(limit=10, window_seconds=60, clock=clock)
        clock.t = W0 + 30
        assert admitted(limiter, "k", 10) == 10
        clock.t = W0 + 75  # 10 * 0.75 = 7.5 carried over: 2.5 units of room
        return limiter

    def gcra() -> Any:
        limiter = rl.GCRA(limit=10, period_seconds=60, burst=4, clock=clock)  # T = 6, tau = 18
        assert admitted(limiter, "k", 4) == 4
        clock.advance(9)  # one and a half intervals have drained
        return limiter

    return {
        "token_bucket": token_bucket,
        "fixed_window": fixed_window,
        "sliding_window": sliding_window,
        "gcra": gcra,
    }


@pytest.mark.parametrize("name", ALGORITHMS)
def test_remaining_counts_the_hits_still_admitted(load, clock, name):
    limiter = _fractional_states(load("ratelimit"), clock)[name]()
    decisions = []
    for _ in range(12):
        decisions.append(limiter.hit("k"))
        if not decisions[-1].allowed:
            break
    allowed = [d for d in decisions if d.allowed]
    assert allowed and not decisions[-1].allowed
    reported = [d.remaining for d in decisions]
    expected = [len(allowed) - n - 1 for n in range(len(allowed))] + [0]
    assert reported == expected, (
        f"{name}: `remaining` must be the number of further hits (cost 1) admitted right now, "
        f"rounded down: {len(allowed)} hits fitted, so remaining should read {expected}, "
        f"got {reported}"
    )


# name -> (build, hits to make, expected reset_after)
def _reset_cases(rl: Any, clock: Any) -> dict[str, tuple[Any, list[int], float]]:
    return {
        # 3 of 4 tokens used, 2 per second: full again in 1.5 s
        "token_bucket": (
            rl.TokenBucket(capacity=4, refill_per_second=2.0, clock=clock),
            [3],
            1.5,
        ),
        # START is 40 s into a 60 s window; 0.75 s later 19.25 s are left
        "fixed_window": (rl.FixedWindow(limit=4, window_seconds=60, clock=clock), [1, 1], 19.25),
        "sliding_window": (
            rl.SlidingWindowCounter(limit=4, window_seconds=60, clock=clock),
            [2],
            19.25,
        ),
        # T = 6 s; TAT = now + 3 * 6 = now + 18
        "gcra": (rl.GCRA(limit=10, period_seconds=60, burst=4, clock=clock), [1, 2], 18.0),
    }


@pytest.mark.parametrize("name", ALGORITHMS)
def test_reset_after_is_when_the_quota_is_restored(load, clock, name):
    limiter, costs, expected = _reset_cases(load("ratelimit"), clock)[name]
    clock.advance(0.75)
    decisions = [limiter.hit("k", cost=c) for c in costs]
    assert all(d.allowed for d in decisions)
    assert decisions[-1].reset_after == pytest.approx(expected, abs=1e-9), (
        f"{name}: reset_after (the RateLimit `t`) must be {expected} s here: "
        "for the windows the time left in the current window, for the token bucket and GCRA "
        f"the time until the full quota is back; got {decisions[-1].reset_after}"
    )
