"""What every endpoint needs, built once per app by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from .clock import Clock
from .hardening import Audit, TokenRateLimiter
from .keys import KeyRing
from .settings import Settings
from .store import Store


@dataclass
class Services:
    settings: Settings
    clock: Clock
    store: Store
    keys: KeyRing
    audit: Audit
    limiter: TokenRateLimiter


def services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result
