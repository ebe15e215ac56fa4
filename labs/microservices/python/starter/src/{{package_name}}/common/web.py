"""HTTP plumbing every service shares: health endpoints, RED metrics, problem responses."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse


def problem(status: int, title: str, detail: str = "") -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def instrument(app: FastAPI, service: str, ready: Callable[[], bool]) -> None:
    """Add /healthz, /readyz and /metrics, and count every request by route and status."""

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        # Liveness: the process answers.
        return {"status": "ok"}

    # TODO(lab:services): GET /readyz: 200 while `ready()` is true, 503 (problem+json) when it
    # is false or raises. Liveness and readiness answer different questions: "restart me?" and
    # "send me traffic?". Which one may depend on Redis?

    # TODO(lab:services): GET /metrics in the Prometheus text format, from a CollectorRegistry
    # of this app (not the global one: tests build many apps in one process), with
    #   http_requests_total{service, method, route, status}      (counter)
    #   http_request_duration_seconds{service, method, route}    (histogram)
    # recorded by an HTTP middleware. `route` is the route template ("/users/{user_id}"),
    # never the raw path. See the README, stage 1.
