"""A fixed-window limiter whose counters live in Redis, shared by every instance.

Requirements (the grading suite checks them):

* the read-check-increment-expire step is ONE Lua script run by Redis, never
  separate INCR/EXPIRE calls (a crash between them leaves a key with no TTL, and
  two instances can race past the limit);
* every key it writes expires when its window ends: never later, and not
  before (PEXPIRE takes milliseconds);
* a hit of cost n takes n units, all or nothing, and a denied hit consumes
  nothing, in the script as well;
* the window comes from the injected clock (pass what the script needs in
  ARGV); Redis's own clock decides nothing;
* keys start with `prefix`;
* decisions follow the rules of ratelimit.py: `limit`, `remaining` after this hit,
  `reset_after` the time left in the window, `retry_after` 0.0 when admitted;
* a limit or window below 1, or a cost outside 1..limit, raises ValueError;
* any `redis.RedisError` (a refused connection, a timeout, an error reply such
  as READONLY or OOM) surfaces as `LimiterUnavailable`, which the HTTP layer
  turns into the documented behaviour (see README, "When Redis is down").
"""

from __future__ import annotations

import redis

from .clock import Clock
from .ratelimit import Decision


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
        self.limit = limit
        self.window = window_seconds
        self.prefix = prefix
        self._client = client
        self._clock = clock

    def hit(self, key: str, cost: int = 1) -> Decision:
        # TODO(lab:distributed): register a Lua script once (client.register_script)
        # and call it here with KEYS=[prefix + key + window id] and the limit, cost
        # and remaining window time in ARGV. Wrap redis.RedisError.
        raise NotImplementedError("TODO(lab:distributed): RedisRateLimiter.hit")
