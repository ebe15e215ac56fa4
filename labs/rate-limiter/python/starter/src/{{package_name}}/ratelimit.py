"""Rate-limiting algorithms, all driven by an injected clock.

Each limiter keeps per-key state in memory and answers `hit(key, cost)` with a
`Decision`. Rules every limiter here follows (the grading suite checks them):

* time comes only from `clock.now()`, never from `time` or `datetime`;
* a hit of cost n takes n units at once, all or nothing;
* a denied hit consumes nothing;
* a configuration without sensible meaning (a quota, rate, window or period of
  zero or less) raises ValueError in the constructor, and a cost outside
  1..quota raises ValueError in hit() (see _check_cost);
* keys are independent;
* `limit` is the quota the limiter admits at once (for GCRA, its burst);
* `remaining` is how many more hits of cost 1 would be admitted right now
  (rounded down);
* `retry_after` is the exact number of seconds until the same hit would be
  admitted (0.0 when allowed);
* `reset_after` is the seconds until the quota is restored (it becomes the
  RateLimit header's `t`): for FixedWindow and SlidingWindowCounter the time
  left in the current window, for TokenBucket and GCRA the time until the full
  burst is available again.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

from .clock import Clock


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


class RateLimiter(Protocol):
    def hit(self, key: str, cost: int = 1) -> Decision: ...


def _check_cost(cost: int, limit: int) -> None:
    if cost < 1 or cost > limit:
        raise ValueError(f"cost must be between 1 and {limit}, got {cost}")


def _window_start(now: float, window: float) -> float:
    # Windows are aligned to multiples of their length since the epoch, so every
    # instance (and every key) agrees on where a window begins.
    return math.floor(now / window) * window


class TokenBucket:
    """Bursts up to `capacity`, then refills at `refill_per_second`, never above capacity.

    A key seen for the first time starts with a full bucket.
    """

    def __init__(self, capacity: int, refill_per_second: float, clock: Clock) -> None:
        self.capacity = capacity
        self.rate = refill_per_second
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        # TODO(lab:algorithms): refill by elapsed * rate (capped at capacity), then
        # take `cost` tokens if there are enough. retry_after = missing tokens / rate.
        raise NotImplementedError("TODO(lab:algorithms): TokenBucket.hit")


class FixedWindow:
    """One counter per aligned window [k*window, (k+1)*window).

    Cheap, and it admits up to 2x the limit across a window boundary: the
    grading suite expects exactly that behaviour.
    """

    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        # TODO(lab:algorithms): count hits per (key, window start); when denied,
        # retry_after is the time left until the window ends.
        raise NotImplementedError("TODO(lab:algorithms): FixedWindow.hit")


class SlidingWindowCounter:
    """Weights the previous window by how much of it still overlaps.

    estimate = previous * (1 - progress) + current, where progress is the
    fraction of the current (aligned) window already elapsed, and `previous` is
    the count of the window immediately before this one (0 if that window saw
    no traffic). A hit is admitted when estimate + cost <= limit.
    """

    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        # TODO(lab:algorithms): keep (window start, current, previous) per key.
        raise NotImplementedError("TODO(lab:algorithms): SlidingWindowCounter.hit")


class GCRA:
    """Generic cell rate algorithm: one "theoretical arrival time" (TAT) per key.

    Emission interval T = period / limit and tolerance tau = (burst - 1) * T, so
    `burst` hits may arrive at once and after that one every T seconds.
    A hit conforms when now >= TAT - tau; then TAT = max(TAT, now) + T.
    When it does not, retry_after = TAT - tau - now.
    """

    def __init__(self, limit: int, period_seconds: float, burst: int, clock: Clock) -> None:
        self.limit = limit
        self.burst = burst
        self.interval = period_seconds / limit
        self.tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        # TODO(lab:algorithms): store one TAT per key; a key never seen has TAT = now.
        raise NotImplementedError("TODO(lab:algorithms): GCRA.hit")
