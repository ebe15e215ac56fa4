"""Application factory: wires settings, clock, storage, limiter and routes."""

from __future__ import annotations

import logging

import redis
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .auth import AuthService, Unauthorized, build_auth_router, unauthorized_response
from .clock import Clock, SystemClock
from .distributed import RedisRateLimiter
from .health import build_health_router
from .http_limits import Policy, install_rate_limiting
from .observability import Metrics, install_observability
from .ratelimit import FixedWindow, RateLimiter
from .settings import Settings
from .store import Store
from .tokens import TokenService

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    redis_client: redis.Redis | None = None,
) -> FastAPI:
    """Build the service. Tests pass their own clock and Redis client."""
    clock = clock or SystemClock()
    if redis_client is None and settings.redis_url:
        redis_client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    if settings.jwt_private_key_pem is None:
        log.warning("no jwt_private_key_pem configured; using a throwaway signing key")

    store = Store(settings.database_path, synchronous=settings.database_synchronous)
    store.init_schema()
    metrics = Metrics()
    policy = Policy(settings.rate_limit_policy, settings.rate_limit, settings.rate_window_seconds)
    auth = AuthService(store, TokenService(settings, clock), clock, settings)

    app = FastAPI(title="rate-limited auth service")
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.auth = auth

    # Middleware added last runs first: observability wraps rate limiting, so
    # rejected requests are still counted and logged.
    install_rate_limiting(
        app,
        _build_limiter(settings, policy, clock, redis_client),
        policy,
        fail_open=settings.rate_limit_fail_open,
        metrics=metrics,
    )
    install_observability(app, metrics)

    @app.exception_handler(Unauthorized)
    async def on_unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        return unauthorized_response()

    app.include_router(build_health_router(store, redis_client))
    app.include_router(build_auth_router(auth))

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/api/ping")
    def ping() -> dict[str, str]:
        return {"pong": "ok"}

    @app.get("/api/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    return app


def _build_limiter(
    settings: Settings, policy: Policy, clock: Clock, redis_client: redis.Redis | None
) -> RateLimiter:
    if redis_client is None:
        # Per-process counters: correct for one instance, wrong behind a load balancer.
        return FixedWindow(policy.limit, policy.window_seconds, clock)
    return RedisRateLimiter(
        redis_client,
        limit=policy.limit,
        window_seconds=policy.window_seconds,
        clock=clock,
        prefix=settings.redis_key_prefix,
    )
