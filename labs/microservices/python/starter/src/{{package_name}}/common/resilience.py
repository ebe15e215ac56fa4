"""Calls from one service to another: timeouts, retries with backoff and jitter, a breaker.

Everything that depends on time is injected (`clock`, `sleep`, `rng`), so the behaviour can be
tested exactly, without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


class PeerUnavailable(Exception):
    """The peer could not give a usable answer within the retry budget."""


class CircuitOpenError(PeerUnavailable):
    """The breaker is open: the call was refused without touching the network."""


@dataclass
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    rng: Callable[[], float] = field(default=random.random)

    def backoff(self, retry: int) -> float:
        """Delay before retry number `retry` (1 for the first retry)."""
        # TODO(lab:resilience): capped exponential backoff with full jitter (README, stage 2).
        delay: float = self.base_delay * (2 ** (retry - 1))
        return delay


class CircuitBreaker:
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

    # TODO(lab:resilience): closed -> open after `failure_threshold` consecutive failures;
    # open -> half_open once `reset_timeout` has passed on the injected clock; half_open lets
    # one trial call through, whose success closes and whose failure reopens the breaker.
    @property
    def state(self) -> str:
        return self.CLOSED

    def allow(self) -> bool:
        return True

    def record_success(self) -> None:
        pass

    def record_failure(self) -> None:
        pass


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
        self._timeout = timeout
        # TODO(lab:resilience): no timeout at all: a slow peer holds this worker forever.
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=None)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # TODO(lab:resilience): retry transient failures of idempotent calls with
        # self.retry.backoff() between attempts, go through self.breaker, and raise
        # PeerUnavailable (never a raw httpx error) when the budget is spent.
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise PeerUnavailable(f"{method} {path}: {exc}") from exc

    def close(self) -> None:
        self._http.close()
