"""A fixed-window limiter whose counters live in Redis, shared by every instance.

One Lua script does the whole read-check-increment-expire step, so it is atomic
on the server: no lost EXPIRE can leave an immortal key, and no two instances
can both see "one left". The caller's clock picks the window and is passed in
ARGV, so Redis's own clock never decides anything.
"""

from __future__ import annotations

import math

import redis

from .clock import Clock
from .ratelimit import Decision

# KEYS[1]: counter for the current window.
# ARGV: limit, cost, milliseconds left in the window (from the caller's clock).
# Returns {allowed (0/1), count after this hit}.
_FIXED_WINDOW_LUA = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local allowed = 0
if count + cost <= limit then
  count = redis.call('INCRBY', KEYS[1], cost)
  allowed = 1
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {allowed, count}
"""


class LimiterUnavailable(RuntimeError):
    """The shared limiter's backend could not be reached."""


class RedisRateLimiter:
    def __init__(
        self,
        client: redis.Redis,
        *,
        limit: int,
        window_seconds: int,
        clock: Clock,
        prefix: str = "rl:",
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be >= 1")
        self.limit = limit
        self.window = window_seconds
        self.prefix = prefix
        self._clock = clock
        self._script = client.register_script(_FIXED_WINDOW_LUA)

    def hit(self, key: str, cost: int = 1) -> Decision:
        if cost < 1 or cost > self.limit:
            raise ValueError(f"cost must be between 1 and {self.limit}, got {cost}")
        now = self._clock.now()
        window_index = math.floor(now / self.window)
        reset_after = (window_index + 1) * self.window - now
        ttl_ms = max(1, math.ceil(reset_after * 1000))
        redis_key = f"{self.prefix}{key}:{window_index}"
        try:
            allowed, count = self._script(keys=[redis_key], args=[self.limit, cost, ttl_ms])
        except redis.RedisError as exc:
            raise LimiterUnavailable(str(exc)) from exc
        admitted = bool(allowed)
        return Decision(
            allowed=admitted,
            limit=self.limit,
            remaining=max(0, self.limit - int(count)),
            reset_after=reset_after,
            retry_after=0.0 if admitted else reset_after,
        )
