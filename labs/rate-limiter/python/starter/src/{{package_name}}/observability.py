"""Metrics (Prometheus text exposition) and structured logs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TextIO

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, generate_latest

PACKAGE_LOGGER = __name__.rpartition(".")[0]
REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class Metrics:
    """One registry per app instance, so several apps (or tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # TODO(lab:observability): define http_requests_total{method,route,status},
        # http_request_duration_seconds{method,route} (a histogram, observed in seconds,
        # with bucket bounds in seconds), rate_limit_rejections_total{policy} and
        # rate_limit_backend_errors_total on self.registry. Label values stay bounded:
        # a method outside the standard set is counted under one shared value.

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        pass  # TODO(lab:observability)

    def record_rejection(self, policy: str) -> None:
        pass  # TODO(lab:observability)

    def record_limiter_error(self) -> None:
        """Called for every rate-limiter backend failure, failing open or closed."""
        pass  # TODO(lab:observability)

    def render(self) -> tuple[bytes, str]:
        # TODO(lab:observability): the content type Prometheus scrapers expect.
        return generate_latest(self.registry), "text/plain"


def configure_logging(stream: TextIO | None = None, level: str = "INFO") -> None:
    """Send this package's logs to `stream` (stderr by default)."""
    # TODO(lab:observability): one JSON object per line, with the request id and
    # the record's `extra` fields, but never a password or token (drop or redact
    # fields such as password, token, refresh_token, authorization), on error
    # paths as well.
    logger = logging.getLogger(PACKAGE_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


Handler = Callable[[Request], Awaitable[Response]]


def install_observability(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next: Handler) -> Response:
        # TODO(lab:observability): give every request an id (honour an incoming
        # X-Request-ID only if it is short and plain, otherwise generate one; echo it
        # back), make it visible to log records, write one access-log line per request
        # (with its status), and feed metrics.observe_request with the duration in
        # seconds and the route *template* (never the raw path). Recent FastAPI keeps a
        # router added with include_router as one route object; its own routes, with
        # their templates, are in `route.original_router.routes`.
        return await call_next(request)
