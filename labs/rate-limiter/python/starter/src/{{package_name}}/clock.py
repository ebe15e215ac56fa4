"""Time as a dependency.

Everything that depends on "now" (limiters, token expiry, login throttling)
takes a `Clock`, so tests can drive time explicitly instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, as a float."""
        ...


class SystemClock:
    """The real wall clock; the only place the service reads it."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to; handy in your own tests."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        self._now += seconds
