"""HTTP plumbing every service shares: health endpoints, RED metrics, problem responses."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.routing import Match

UNMATCHED_ROUTE = "unmatched"
UNINSTRUMENTED = frozenset({"/metrics", "/healthz", "/readyz"})


def problem(status: int, title: str, detail: str = "") -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _route_template(app: FastAPI, request: Request) -> str:
    # Label by the route template, never the raw path: ids in paths would explode cardinality.
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return getattr(route, "path", UNMATCHED_ROUTE)
    return UNMATCHED_ROUTE


def instrument(app: FastAPI, service: str, ready: Callable[[], bool]) -> CollectorRegistry:
    """Add /healthz, /readyz and /metrics, and count every request by route and status."""
    registry = CollectorRegistry()
    requests_total = Counter(
        "http_requests_total",
        "HTTP requests handled, by route template and status code.",
        ["service", "method", "route", "status"],
        registry=registry,
    )
    duration = Histogram(
        "http_request_duration_seconds",
        "Time spent handling an HTTP request.",
        ["service", "method", "route"],
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        registry=registry,
    )

    @app.middleware("http")
    async def record(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path in UNINSTRUMENTED:
            return await call_next(request)
        route = _route_template(app, request)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            elapsed = time.perf_counter() - started
            requests_total.labels(service, request.method, route, str(status)).inc()
            duration.labels(service, request.method, route).observe(elapsed)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        # Liveness: the process answers. It must not depend on Redis, or a Redis outage
        # would make Kubernetes restart every pod for nothing.
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False, response_model=None)
    def readyz() -> JSONResponse | dict[str, str]:
        # Readiness: send traffic only while the pod can serve it.
        try:
            ok = ready()
        except Exception:  # any failure means "not ready"
            ok = False
        if not ok:
            return problem(503, "Not ready", "a dependency is unreachable")
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics_registry = registry
    return registry
