"""Metrics (Prometheus text exposition) and structured JSON logs.

Label values are bounded by construction: routes are reported by template
(`/api/items/{item_id}`), unknown paths collapse into "unmatched", and odd
methods into "other". Nothing user-controlled becomes a label.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

PACKAGE_LOGGER = __name__.rpartition(".")[0]
REQUEST_ID_HEADER = "X-Request-ID"
# The classic text format every Prometheus server scrapes (newer clients default to 1.0.0).
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Fields that must never reach a log line, even if someone passes them as `extra`.
_SECRET_FIELDS = frozenset(
    {"password", "token", "access_token", "refresh_token", "authorization", "cookie", "secret"}
)
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class Metrics:
    """One registry per app instance, so several apps (or tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time spent producing a response, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.rejections = Counter(
            "rate_limit_rejections_total",
            "Requests answered 429 by the rate limiter, by policy.",
            ["policy"],
            registry=self.registry,
        )
        self.limiter_errors = Counter(
            "rate_limit_backend_errors_total",
            "Rate-limiter backend failures (e.g. Redis unreachable).",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _KNOWN_METHODS else "other"
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.duration.labels(method=method, route=route).observe(seconds)

    def record_rejection(self, policy: str) -> None:
        self.rejections.labels(policy=policy).inc()

    def record_limiter_error(self) -> None:
        self.limiter_errors.inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), METRICS_CONTENT_TYPE


def _routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        # Recent FastAPI keeps a router added with include_router as one route object
        # wrapping the router; its routes (with their templates) are inside it.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def route_template(app: FastAPI, scope: Scope) -> str:
    """The matched route's path template, never the raw path."""
    partial: str | None = None
    for route in _routes(app.router.routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
        if match is Match.PARTIAL and partial is None:
            partial = str(getattr(route, "path", "unmatched"))
    return partial or "unmatched"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, carrying the current request id."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key.startswith("_"):
                continue
            payload[key] = "[redacted]" if key.lower() in _SECRET_FIELDS else value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(stream: TextIO | None = None, level: str = "INFO") -> None:
    """Send this package's logs, as JSON lines, to `stream` (stderr by default)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def _request_id(header: str | None) -> str:
    # Accept a caller's id only if it is short and plain; anything else could
    # forge or break log lines.
    if header and _REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


Handler = Callable[[Request], Awaitable[Response]]


def install_observability(app: FastAPI, metrics: Metrics) -> None:
    access_log = logging.getLogger(f"{PACKAGE_LOGGER}.access")

    @app.middleware("http")
    async def observe(request: Request, call_next: Handler) -> Response:
        request_id = _request_id(request.headers.get(REQUEST_ID_HEADER))
        context = request_id_var.set(request_id)
        route = route_template(app, request.scope)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe_request(request.method, route, status, elapsed)
            access_log.info(
                "request",
                extra={
                    "event": "request",
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            request_id_var.reset(context)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
