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
