"""Rate-limiting algorithms, all driven by an injected clock.

Each limiter keeps per-key state in memory and answers `hit(key, cost)` with a
`Decision`. A denied hit consumes nothing. None of them reads the wall clock:
time comes only from `clock.now()`, so behaviour is exact and testable.
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
    # Seconds until the quota is restored (the RateLimit `t` parameter): the end of the
    # current window, or when the bucket (or GCRA burst) is full again.
    reset_after: float
    # Seconds until the same hit would be admitted; 0.0 when allowed.
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
    """Bursts up to `capacity`, then refills at `refill_per_second`, never above capacity."""

    def __init__(self, capacity: int, refill_per_second: float, clock: Clock) -> None:
        if capacity < 1 or refill_per_second <= 0:
            raise ValueError("capacity must be >= 1 and refill_per_second > 0")
        self.capacity = capacity
        self.rate = refill_per_second
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        _check_cost(cost, self.capacity)
        with self._lock:
            now = self._clock.now()
            tokens, updated = self._state.get(key, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + max(0.0, now - updated) * self.rate)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            self._state[key] = (tokens, now)
        retry_after = 0.0 if allowed else (cost - tokens) / self.rate
        return Decision(
            allowed=allowed,
            limit=self.capacity,
            remaining=math.floor(tokens),
            reset_after=(self.capacity - tokens) / self.rate,
            retry_after=retry_after,
        )


class FixedWindow:
    """One counter per aligned window; cheap, but allows up to 2x the limit across a boundary."""

    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._state: dict[str, tuple[float, int]] = {}  # key -> (window_start, count)
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        _check_cost(cost, self.limit)
        with self._lock:
            now = self._clock.now()
            start = _window_start(now, self.window)
            seen_start, count = self._state.get(key, (start, 0))
            if seen_start != start:
                count = 0
            allowed = count + cost <= self.limit
            if allowed:
                count += cost
            self._state[key] = (start, count)
        reset_after = start + self.window - now
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=self.limit - count,
            reset_after=reset_after,
            retry_after=0.0 if allowed else reset_after,
        )


class SlidingWindowCounter:
    """Weights the previous window by how much of it still overlaps the sliding window.

    estimate = previous * (1 - progress) + current, where progress is the
    fraction of the current window already elapsed. A hit is admitted when
    estimate + cost <= limit.
    """

    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        # key -> (current_window_start, current_count, previous_count)
        self._state: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        _check_cost(cost, self.limit)
        with self._lock:
            now = self._clock.now()
            start = _window_start(now, self.window)
            current, previous = self._roll(key, start)
            progress = (now - start) / self.window
            estimate = previous * (1.0 - progress) + current
            allowed = estimate + cost <= self.limit
            if allowed:
                current += cost
                estimate += cost
            self._state[key] = (start, current, previous)
        retry_after = 0.0
        if not allowed:
            retry_after = self._wait(now, start, current, previous, cost)
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, math.floor(self.limit - estimate)),
            reset_after=start + self.window - now,
            retry_after=retry_after,
        )

    def _roll(self, key: str, start: float) -> tuple[int, int]:
        seen_start, current, previous = self._state.get(key, (start, 0, 0))
        if seen_start == start:
            return current, previous
        # Only the window immediately before this one carries weight.
        adjacent = math.isclose(start - seen_start, self.window)
        return 0, current if adjacent else 0

    def _wait(self, now: float, start: float, current: int, previous: int, cost: int) -> float:
        """Seconds until estimate + cost <= limit, assuming no other traffic."""
        room = self.limit - current - cost
        if previous > 0 and room >= 0:
            # Still inside this window: wait for the previous window's weight to shrink.
            needed_progress = 1.0 - room / previous
            return max(0.0, start + needed_progress * self.window - now)
        # Next window: today's count becomes the weighted "previous".
        next_start = start + self.window
        needed_progress = max(0.0, 1.0 - (self.limit - cost) / current) if current else 0.0
        return next_start + needed_progress * self.window - now


class GCRA:
    """Generic cell rate algorithm: one "theoretical arrival time" (TAT) per key.

    Emission interval T = period / limit and tolerance tau = (burst - 1) * T, so
    `burst` hits may arrive at once and after that one every T seconds.
    """

    def __init__(self, limit: int, period_seconds: float, burst: int, clock: Clock) -> None:
        if limit < 1 or period_seconds <= 0 or burst < 1:
            raise ValueError("limit and burst must be >= 1 and period_seconds > 0")
        self.limit = limit
        self.burst = burst
        self.interval = period_seconds / limit
        self.tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, cost: int = 1) -> Decision:
        _check_cost(cost, self.burst)
        with self._lock:
            now = self._clock.now()
            tat = max(self._tat.get(key, now), now)
            new_tat = tat + cost * self.interval
            # The last unit of this hit conforms if now >= new_tat - T - tau.
            allow_at = new_tat - self.interval - self.tolerance
            allowed = now >= allow_at
            if allowed:
                self._tat[key] = new_tat
                tat = new_tat
        # Capacity left: how many more intervals fit before the tolerance is exhausted.
        horizon = now + self.tolerance + self.interval - tat
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=max(0, math.floor(horizon / self.interval)),
            reset_after=max(0.0, tat - now),
            retry_after=0.0 if allowed else allow_at - now,
        )
