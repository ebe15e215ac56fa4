"""The HTTP face of rate limiting.

Pinned to draft-ietf-httpapi-ratelimit-headers-10: a `RateLimit-Policy` field
(`"name";q=<quota>;w=<window seconds>`) and a `RateLimit` field
(`"name";r=<remaining>;t=<seconds until reset>`), both Structured Field lists
(RFC 9651). Rejections are 429 (RFC 6585) with `Retry-After` in delay-seconds
(RFC 9110) and an RFC 9457 problem body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response

from .observability import Metrics
from .ratelimit import Decision, RateLimiter

log = logging.getLogger(__name__)

LIMITED_PREFIX = "/api/"
QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"
_POLICY_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Policy:
    name: str
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        # Names go into an sf-string unescaped, so keep them to a safe alphabet.
        if not _POLICY_NAME.match(self.name):
            raise ValueError(f"invalid policy name {self.name!r}")


def policy_field(policy: Policy) -> str:
    """The RateLimit-Policy field value, e.g. `"default";q=60;w=60`."""
    # TODO(lab:http-contract): serialise the policy as a Structured Field list item.
    raise NotImplementedError("TODO(lab:http-contract): policy_field")


def ratelimit_field(policy: Policy, decision: Decision) -> str:
    """The RateLimit field value, e.g. `"default";r=41;t=17`."""
    # TODO(lab:http-contract): r = remaining, t = whole seconds until reset, rounded
    # up (19.25 s left is t=20) so a client never believes the quota is back too early.
    raise NotImplementedError("TODO(lab:http-contract): ratelimit_field")


def retry_after_seconds(decision: Decision) -> int:
    # TODO(lab:http-contract): Retry-After is delay-seconds: a whole number, never early,
    # so the ceiling of the wait (19.25 s is 20), not a truncated or padded one.
    raise NotImplementedError("TODO(lab:http-contract): retry_after_seconds")


def client_key(request: Request) -> str:
    # The connecting peer. X-Forwarded-For and friends are written by the client
    # itself; trusting them lets anyone pick a fresh quota per request.
    host = request.client.host if request.client else "unknown"
    return f"ip:{host}"


Handler = Callable[[Request], Awaitable[Response]]


def install_rate_limiting(
    app: FastAPI, limiter: RateLimiter, policy: Policy, *, fail_open: bool, metrics: Metrics
) -> None:
    @app.middleware("http")
    async def enforce_rate_limit(request: Request, call_next: Handler) -> Response:
        # TODO(lab:http-contract): for paths under LIMITED_PREFIX, ask the limiter
        # (off the event loop: starlette.concurrency.run_in_threadpool), add the
        # RateLimit-Policy and RateLimit fields to every answer (2xx, the handler's
        # 4xx, and the 429 itself), and reject with 429 + Retry-After + a
        # problem+json body (see problems.py) when denied, without running the handler.
        # Count rejections with metrics.record_rejection(policy.name).
        # TODO(lab:distributed): when the limiter raises LimiterUnavailable, answer
        # as README "When Redis is down" says (fail_open decides).
        return await call_next(request)
