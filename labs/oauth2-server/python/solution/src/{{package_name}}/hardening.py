"""RFC 9700 hardening: the audit log, the token endpoint's rate limit, redirect URI rules."""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from .clock import Clock

if TYPE_CHECKING:
    from .services import Services

AUDIT_LOGGER = "oauth2.audit"


class Audit:
    """Security events as one JSON object per log line on the `oauth2.audit` logger.

    Fields say who and what (event, client_id, sub, reason), never a secret: no codes,
    tokens, client secrets, assertions, code verifiers or passwords, not even in part.
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger(AUDIT_LOGGER)

    def event(self, event: str, **fields: str | None) -> None:
        record = {"event": event, **{k: v for k, v in fields.items() if v is not None}}
        self._logger.info(json.dumps(record, sort_keys=True))


@dataclass
class RateDecision:
    allowed: bool
    retry_after: int  # whole seconds until the next window; 0 when allowed


class TokenRateLimiter:
    """A fixed window per client address, aligned to multiples of `window` seconds."""

    def __init__(self, clock: Clock, limit: int, window: int) -> None:
        if limit < 1 or window < 1:
            raise ValueError("token rate limit and window must be at least 1")
        self._clock = clock
        self._limit = limit
        self._window = window
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> RateDecision:
        now = self._clock.now()
        index = math.floor(now / self._window)
        with self._lock:
            window_index, count = self._counts.get(key, (index, 0))
            if window_index != index:
                count = 0
            if count >= self._limit:
                retry = math.ceil((index + 1) * self._window - now)
                return RateDecision(False, max(retry, 1))
            self._counts[key] = (index, count + 1)
        return RateDecision(True, 0)


def check_redirect_uri(uri: str) -> None:
    """Refuse, at registration, a redirect URI a client must never have.

    An absolute https URI, or http on a loopback host (RFC 8252 section 7.3); no
    fragment (RFC 6749 section 3.1.2), no user information, no wildcard.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"redirect URI must be an absolute http(s) URI: {uri!r}")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"redirect URI must use https unless on loopback: {uri!r}")
    if "#" in uri:
        raise ValueError(f"redirect URI must not have a fragment: {uri!r}")
    if "@" in parts.netloc:
        raise ValueError(f"redirect URI must not carry user information: {uri!r}")
    if "*" in uri:
        raise ValueError(f"redirect URI must not hold a wildcard: {uri!r}")


def rate_limit(svc: Services, request: Request) -> Response | None:
    """429 with Retry-After once a client address has used up its token-endpoint window."""
    peer = request.client.host if request.client else "unknown"
    decision = svc.limiter.hit(peer)
    if decision.allowed:
        return None
    svc.audit.event("rate_limited", peer=peer)
    return JSONResponse(
        {"error": "slow_down", "error_description": "too many token requests"},
        status_code=429,
        headers={"Retry-After": str(decision.retry_after), "Cache-Control": "no-store"},
    )
