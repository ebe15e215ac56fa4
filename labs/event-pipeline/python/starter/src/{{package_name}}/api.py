"""The order service: FastAPI over PostgreSQL, events through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, Field

from . import db
from .backpressure import PipelineCollector
from .outbox import place_order


class OrderIn(BaseModel):
    customer: str = Field(min_length=1, max_length=200)
    amount_cents: int = Field(gt=0)


def create_app(
    database_url: str,
    depth_probe: Callable[[], int],
    *,
    queue: str = "billing",
    consumer: str = "billing",
    max_queue_depth: int = 1000,
    retry_after_seconds: int = 5,
) -> FastAPI:
    app = FastAPI(title="orders")
    registry = CollectorRegistry()
    registry.register(PipelineCollector(database_url, depth_probe, queue, consumer))

    @app.get("/livez")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/orders", status_code=201, response_model=None)
    def create_order(order: Annotated[OrderIn, Body()]) -> dict[str, Any] | JSONResponse:
        # TODO(lab:backpressure): shed load here, before any work: when depth_probe() is past
        # max_queue_depth, answer 429 with a Retry-After header (backpressure.retry_after).
        with db.connect(database_url) as conn:
            placed = place_order(conn, order.customer, order.amount_cents)
        return {"order_id": placed.order_id, "event_id": placed.event_id}

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, Any]:
        with db.connect(database_url) as conn:
            row = conn.execute(
                "SELECT id, customer, amount_cents, status FROM orders WHERE id = %s",
                (order_id,),
            ).fetchone()
        if row is None:
            raise HTTPException(404, "no such order")
        return {"order_id": row[0], "customer": row[1], "amount_cents": row[2], "status": row[3]}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
