"""Calls from one service to another: timeouts, retries with backoff and jitter, a breaker.

Everything that depends on time is injected (`clock`, `sleep`, `rng`), so the behaviour can be
tested exactly, without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

# Statuses worth another try: the peer or a proxy in front of it is briefly unable to answer.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class PeerUnavailable(Exception):
    """The peer could not give a usable answer within the retry budget."""


class CircuitOpenError(PeerUnavailable):
    """The breaker is open: the call was refused without touching the network."""


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter.

    The delay before retry n (n = 1 for the first retry) is uniform in
    [0, min(max_delay, base_delay * 2 ** (n - 1))): clients that failed together do not
    retry together.
    """

    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    rng: Callable[[], float] = field(default=random.random)

    def backoff(self, retry: int) -> float:
        ceiling: float
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return self.rng() * ceiling


class CircuitBreaker:
    """closed -> open after `failure_threshold` consecutive failures; open -> half_open after
    `reset_timeout` seconds; half_open lets exactly one trial call through: its success closes
    the breaker, its failure opens it again for another `reset_timeout`."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    def _current(self) -> str:
        if self._state == self.OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._state = self.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    @property
    def state(self) -> str:
        with self._lock:
            return self._current()

    def allow(self) -> bool:
        with self._lock:
            state = self._current()
            if state == self.CLOSED:
                return True
            if state == self.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state = self.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            state = self._current()
            if state == self.HALF_OPEN:
                self._trip()
                return
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._trip()

    def _trip(self) -> None:
        self._state = self.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._trial_in_flight = False


class ServiceClient:
    """An HTTP client for one peer service."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 2.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        # One budget for connect, read, write and waiting for a pooled connection.
        self._http = httpx.Client(
            base_url=base_url, transport=transport, timeout=httpx.Timeout(timeout)
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS
        attempts = max(1, self.retry.attempts) if idempotent else 1
        problem = "no attempt made"
        for attempt in range(1, attempts + 1):
            if not self.breaker.allow():
                raise CircuitOpenError(f"{method} {path}: circuit open, failing fast")
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # timeouts, refused connections, resets
                self.breaker.record_failure()
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRYABLE_STATUSES:
                    self.breaker.record_success()
                    return response
                self.breaker.record_failure()
                problem = f"HTTP {response.status_code}"
            if attempt < attempts:
                self._sleep(self.retry.backoff(attempt))
        raise PeerUnavailable(f"{method} {path} failed after {attempts} attempt(s): {problem}")

    def close(self) -> None:
        self._http.close()
