"""Time, injected: the server never reads the wall clock anywhere else.

Every expiry, not-before, code lifetime, key-rotation overlap and rate-limit window is
measured with `Clock.now()`, so tests can move time forward without sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()
