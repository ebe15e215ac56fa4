"""The HTTP face of rate limiting.

Pinned to draft-ietf-httpapi-ratelimit-headers-10: a `RateLimit-Policy` field
(`"name";q=<quota>;w=<window seconds>`) and a `RateLimit` field
(`"name";r=<remaining>;t=<seconds until reset>`), both Structured Field lists
(RFC 9651). Rejections are 429 (RFC 6585) with `Retry-After` in delay-seconds
(RFC 9110) and an RFC 9457 problem body.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from .distributed import LimiterUnavailable
from .observability import Metrics
from .problems import problem
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
    return f'"{policy.name}";q={policy.limit};w={policy.window_seconds}'


def ratelimit_field(policy: Policy, decision: Decision) -> str:
    reset = max(0, math.ceil(decision.reset_after))
    return f'"{policy.name}";r={max(0, decision.remaining)};t={reset}'


def retry_after_seconds(decision: Decision) -> int:
    # delay-seconds is a whole number; round up so clients never retry too early.
    return max(1, math.ceil(decision.retry_after))


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
        if not request.url.path.startswith(LIMITED_PREFIX):
            return await call_next(request)
        try:
            # Limiter backends may block (Redis round trip): keep them off the event loop.
            decision = await run_in_threadpool(limiter.hit, client_key(request))
        except LimiterUnavailable:
            log.error("rate limiter unavailable", extra={"event": "limiter_unavailable"})
            metrics.record_limiter_error()
            if fail_open:
                return await call_next(request)
            return problem(
                503,
                "Rate limiter unavailable",
                detail="The request was not processed; try again shortly.",
                headers={"Retry-After": "1"},
            )
        headers = {
            "RateLimit-Policy": policy_field(policy),
            "RateLimit": ratelimit_field(policy, decision),
        }
        if not decision.allowed:
            metrics.record_rejection(policy.name)
            headers["Retry-After"] = str(retry_after_seconds(decision))
            return problem(
                429,
                "Too Many Requests",
                type_=QUOTA_EXCEEDED,
                detail=f"Quota of policy {policy.name!r} exhausted.",
                headers=headers,
                **{"violated-policies": [policy.name]},
            )
        response = await call_next(request)
        response.headers.update(headers)
        return response
