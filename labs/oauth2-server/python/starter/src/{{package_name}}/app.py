"""The application factory: `create_app(settings, clock)` wires everything together."""

from __future__ import annotations

from fastapi import FastAPI

from . import authorize, discovery, introspection, tokens, web
from .clock import Clock, SystemClock
from .hardening import Audit, TokenRateLimiter
from .keys import KeyRing
from .passwords import hash_password
from .services import Services
from .settings import Settings
from .store import Store


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    store = Store(settings.database_path, settings.database_synchronous)
    svc = Services(
        settings=settings,
        clock=clock,
        store=store,
        keys=KeyRing(store, clock, settings),
        audit=Audit(),
        limiter=TokenRateLimiter(clock, settings.token_rate_limit, settings.token_rate_window),
    )
    app = FastAPI(title="Authorization server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = svc
    for module in (discovery, web, authorize, tokens, introspection):
        app.include_router(module.router)
    return app


def add_user(app: FastAPI, username: str, password: str) -> str:
    """Create a user; returns its `sub`."""
    services: Services = app.state.services
    return services.store.add_user(username, hash_password(password))
