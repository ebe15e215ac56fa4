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


# Sliding window: where the wait for a denied hit ends. (setup, cost, exact retry_after)
# Window 60 s unless said otherwise; W0 is a window start.
def _sliding_waits(rl: Any, clock: Any) -> dict[str, tuple[Any, int, float]]:
    def next_window_only_current_counts() -> Any:
        # 4 hits at W0 + 30, nothing before: they only start to shrink once they are the
        # previous window. At W0 + 75 they weigh 4 * 0.75 = 3, so one more fits: wait 45 s.
        limiter = rl.SlidingWindowCounter(limit=4, window_seconds=60, clock=clock)
        clock.t = W0 + 30
        assert admitted(limiter, "k", 4) == 4
        return limiter

    def next_window_with_previous_weight() -> Any:
        # 4 hits in [W0, W0 + 60); at W0 + 90 they weigh 2, and 2 more fit. A hit of cost 3
        # cannot fit in this window even once the 4 weigh nothing (2 + 3 > 4); next window,
        # the 2 weigh 1 at W0 + 150, and 1 + 3 = 4 fits: wait 60 s.
        limiter = rl.SlidingWindowCounter(limit=4, window_seconds=60, clock=clock)
        clock.t = W0 + 30
        assert admitted(limiter, "k", 4) == 4
        clock.t = W0 + 90
        assert admitted(limiter, "k", 2) == 2
        return limiter

    def same_window_under_a_second() -> Any:
        # Window 8 s. 4 hits in [W0, W0 + 8); at W0 + 11.5 they weigh 4 * 0.5625 = 2.25 and
        # one more fits (3.25). The next one fits once they weigh 2, at W0 + 12: wait 0.5 s.
        limiter = rl.SlidingWindowCounter(limit=4, window_seconds=8, clock=clock)
        clock.t = W0 + 4
        assert admitted(limiter, "k", 4) == 4
        clock.t = W0 + 11.5
        assert limiter.hit("k").allowed
        return limiter

    return {
        "next_window_only_current_counts": (next_window_only_current_counts, 1, 45.0),
        "next_window_with_previous_weight": (next_window_with_previous_weight, 3, 60.0),
        "same_window_under_a_second": (same_window_under_a_second, 1, 0.5),
    }


SLIDING_WAITS = [
    "next_window_only_current_counts",
    "next_window_with_previous_weight",
    "same_window_under_a_second",
]


@pytest.mark.parametrize("case", SLIDING_WAITS)
def test_sliding_window_retry_after_is_exact_in_either_window(load, clock, case):
    build, cost, expected = _sliding_waits(load("ratelimit"), clock)[case]
    limiter = build()
    denied_at = clock.now()
    denied = limiter.hit("k", cost=cost)
    assert not denied.allowed
    assert denied.retry_after == pytest.approx(expected, abs=1e-9), (
        f"{case}: retry_after must be the exact wait until estimate + cost <= limit "
        f"({expected} s here), whether that moment is later in this window (the previous "
        "window's weight shrinks) or in the next one (this window's count becomes the weighted "
        f"previous); got {denied.retry_after}"
    )
    clock.t = denied_at + expected - 0.25
    assert not limiter.hit("k", cost=cost).allowed, (
        f"{case}: a quarter second before retry_after the hit must still be denied"
    )
    clock.t = denied_at + expected
    assert limiter.hit("k", cost=cost).allowed, (
        f"{case}: at exactly now + retry_after the same hit must be admitted"
    )


def _smallest(rl: Any, clock: Any) -> dict[str, tuple[Any, float]]:
    """name -> (a limiter admitting one hit at once, seconds until it admits the next)."""
    return {
        "token_bucket": (rl.TokenBucket(capacity=1, refill_per_second=1.0, clock=clock), 1.0),
        "fixed_window": (rl.FixedWindow(limit=1, window_seconds=1, clock=clock), 1.0),
        "sliding_window": (rl.SlidingWindowCounter(limit=1, window_seconds=1, clock=clock), 2.0),
        "gcra": (rl.GCRA(limit=1, period_seconds=1, burst=1, clock=clock), 1.0),
    }


@pytest.mark.parametrize("name", ALGORITHMS)
def test_smallest_quota_of_one_hit_per_second_works(load, clock, name):
    try:
        limiter, wait = _smallest(load("ratelimit"), clock)[name]
    except ValueError as exc:
        pytest.fail(f"{name}: a quota of 1 hit per 1 s is a valid configuration: {exc}")
    clock.t = W0
    first = limiter.hit("k")
    assert first.allowed and first.remaining == 0, (
        f"{name}: a quota of 1 admits exactly one hit at once (got {first})"
    )
    denied = limiter.hit("k")
    assert not denied.allowed and denied.retry_after == pytest.approx(wait, abs=1e-9), (
        f"{name}: the second hit waits {wait} s (got {denied})"
    )
    clock.t = W0 + wait
    assert limiter.hit("k").allowed, f"{name}: {wait} s later one hit fits again"


# name -> (build, the quota it reports as `limit`, reset_after of each of three admitted hits)
def _quotas(rl: Any, clock: Any) -> dict[str, tuple[Any, set[int], list[float]]]:
    return {
        # 1, 2, 3 tokens missing at 2 per second
        "token_bucket": (
            rl.TokenBucket(capacity=4, refill_per_second=2.0, clock=clock),
            {4},
            [0.5, 1.0, 1.5],
        ),
        # 30 s left in the window
        "fixed_window": (rl.FixedWindow(limit=4, window_seconds=60, clock=clock), {4}, [30.0] * 3),
        "sliding_window": (
            rl.SlidingWindowCounter(limit=4, window_seconds=60, clock=clock),
            {4},
            [30.0] * 3,
        ),
        # T = 0.5 s: TAT runs 0.5, 1.0, 1.5 s ahead. GCRA's quota at once is its burst;
        # its rate limit per period is accepted as `limit` too.
        "gcra": (
            rl.GCRA(limit=8, period_seconds=4, burst=4, clock=clock),
            {4, 8},
            [0.5, 1.0, 1.5],
        ),
    }


@pytest.mark.parametrize("name", ALGORITHMS)
def test_admitted_hits_report_no_wait_and_the_quota(load, clock, name):
    limiter, quotas, resets = _quotas(load("ratelimit"), clock)[name]
    clock.t = W0 + 30
    decisions = [limiter.hit("k") for _ in range(3)]
    decisions.append(limiter.hit("k", cost=2))  # does not fit: 3 + 2 > 4
    for n, decision in enumerate(decisions[:3]):
        assert decision.allowed
        assert decision.retry_after == 0.0, (
            f"{name}: an admitted hit has nothing to wait for, so retry_after is 0.0 "
            f"(hit {n + 1} reported {decision.retry_after})"
        )
        assert decision.reset_after == pytest.approx(resets[n], abs=1e-9), (
            f"{name}: after hit {n + 1} the quota is restored in {resets[n]} s (reset_after), "
            f"got {decision.reset_after}"
        )
    assert not decisions[-1].allowed and decisions[-1].retry_after > 0
    for decision in decisions:
        assert decision.limit in quotas, (
            f"{name}: Decision.limit is the limiter's quota ({sorted(quotas)}), on admitted and "
            f"denied hits alike; got {decision.limit}"
        )


# Configurations with no sensible meaning: a zero quota, a zero (or negative) rate, window or
# period. Each would divide by zero or deny forever at the first hit; refuse them up front.
INVALID_CONFIGURATIONS = [
    ("token_bucket_capacity_0", "TokenBucket", {"capacity": 0, "refill_per_second": 1.0}),
    ("token_bucket_rate_0", "TokenBucket", {"capacity": 3, "refill_per_second": 0.0}),
    ("fixed_window_limit_0", "FixedWindow", {"limit": 0, "window_seconds": 60}),
    ("fixed_window_window_0", "FixedWindow", {"limit": 3, "window_seconds": 0}),
    ("sliding_window_limit_0", "SlidingWindowCounter", {"limit": 0, "window_seconds": 60}),
    ("sliding_window_window_0", "SlidingWindowCounter", {"limit": 3, "window_seconds": 0}),
    ("gcra_limit_0", "GCRA", {"limit": 0, "period_seconds": 60, "burst": 3}),
    ("gcra_period_0", "GCRA", {"limit": 3, "period_seconds": 0, "burst": 3}),
    ("gcra_burst_0", "GCRA", {"limit": 3, "period_seconds": 60, "burst": 0}),
]


def value_error_or_outcome(action: Any) -> str | None:
    """None when action() raises ValueError, otherwise what it did instead."""
    try:
        result = action()
    except ValueError:
        return None
    except Exception as exc:  # reported to the learner below
        return f"raised {exc!r}"
    return f"returned {result!r}"


@pytest.mark.parametrize(
    ("case", "cls", "kwargs"), INVALID_CONFIGURATIONS, ids=[c[0] for c in INVALID_CONFIGURATIONS]
)
def test_invalid_configurations_are_refused_up_front(load, clock, case, cls, kwargs):
    rl = load("ratelimit")
    outcome = value_error_or_outcome(lambda: getattr(rl, cls)(clock=clock, **kwargs))
    assert outcome is None, (
        f"{case}: {cls}({kwargs}) has no sensible meaning (a zero quota, rate, window or "
        "period would divide by zero or deny forever): the constructor must raise ValueError; "
        f"it {outcome}"
    )


@pytest.mark.parametrize("name", ALGORITHMS)
def test_costs_outside_the_quota_are_refused(load, clock, name):
    limiter = fresh(load("ratelimit"), clock, name)  # a quota of 5
    for cost in (0, -1, 6):
        outcome = value_error_or_outcome(lambda c=cost: limiter.hit("k", cost=c))
        assert outcome is None, (
            f"{name}: a hit of cost {cost} is never right with a quota of 5 (0 or less would be "
            "free or give quota back, more would wait forever): raise ValueError, as "
            f"_check_cost does; it {outcome}"
        )
    assert limiter.hit("k", cost=5).allowed, f"{name}: a cost of the whole quota is valid"
