"""RFC 9700 hardening: the audit log, the token endpoint's rate limit, redirect URI rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import Response

from .clock import Clock

if TYPE_CHECKING:
    from .services import Services

AUDIT_LOGGER = "oauth2.audit"


class Audit:
    """Security events as one JSON object per log line on the `oauth2.audit` logger.

    Fields say who and what (event, client_id, sub, reason), never a secret: no codes,
    tokens, client secrets, assertions, code verifiers or passwords, not even in part.
    Events the suite looks for: login_failed, code_replay, refresh_reuse and
    client_auth_failed (the last three with the client_id).
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger(AUDIT_LOGGER)

    def event(self, event: str, **fields: str | None) -> None:
        # TODO(lab:hardening) one JSON object per line: {"event": ..., **fields}.
        pass


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

    def hit(self, key: str) -> RateDecision:
        # TODO(lab:hardening) count hits per key in the current window (injected clock).
        return RateDecision(True, 0)


def check_redirect_uri(uri: str) -> None:
    """Refuse, at registration, a redirect URI a client must never have (ValueError).

    An absolute https URI, or http on a loopback host (RFC 8252 section 7.3); no
    fragment (RFC 6749 section 3.1.2), no user information, no wildcard.
    """
    # TODO(lab:hardening)


def rate_limit(svc: Services, request: Request) -> Response | None:
    """429 with Retry-After once a client address has used up its token-endpoint window."""
    # TODO(lab:hardening)
    return None
