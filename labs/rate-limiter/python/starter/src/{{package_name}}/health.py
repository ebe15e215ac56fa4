"""Liveness ("restart me if this fails") and readiness ("send me traffic")."""

from __future__ import annotations

import redis
from fastapi import APIRouter

from .store import Store


def build_health_router(store: Store, redis_client: redis.Redis | None) -> APIRouter:
    router = APIRouter()

    @router.get("/livez")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz() -> dict[str, str]:
        # TODO(lab:http-contract): readiness must reflect the dependencies a request
        # needs (the database, and Redis when configured): 503 problem+json when one
        # is down. Liveness must not depend on them.
        return {"status": "ready"}

    return router
