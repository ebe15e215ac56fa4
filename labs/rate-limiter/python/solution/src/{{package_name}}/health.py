"""Liveness ("restart me if this fails") and readiness ("send me traffic").

/livez checks only that the process can answer; it must not depend on Redis
or the database, or an outage of either would get every instance restarted.
/readyz checks the dependencies a request needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .problems import problem
from .store import Store

log = logging.getLogger(__name__)


def build_health_router(store: Store, redis_client: redis.Redis | None) -> APIRouter:
    router = APIRouter()

    @router.get("/livez")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", response_model=None)
    def readyz() -> JSONResponse | dict[str, object]:
        failed = [name for name, ok in _checks(store, redis_client).items() if not ok]
        if failed:
            return problem(503, "Not ready", detail="Failing checks: " + ", ".join(failed))
        return {"status": "ready"}

    return router


def _checks(store: Store, redis_client: redis.Redis | None) -> dict[str, bool]:
    results = {"database": _ok(store.ping)}
    if redis_client is not None:
        results["redis"] = _ok(redis_client.ping)
    return results


def _ok(check: Callable[[], object]) -> bool:
    try:
        check()
    except Exception:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness check failed", exc_info=True)
        return False
    return True
