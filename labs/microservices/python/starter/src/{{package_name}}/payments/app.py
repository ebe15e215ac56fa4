"""The payments service.

POST /payments needs an `Idempotency-Key` header (see the README, stage 1).
"""

from __future__ import annotations

import os

import redis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..common import settings
from ..common.events import EventPublisher, RedisStreamPublisher
from ..common.resilience import ServiceClient
from ..common.web import instrument, problem

TOPIC = "payments"


class PaymentRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    amount_cents: int = Field(gt=0, le=100_000_000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


def create_app(
    *,
    redis: redis.Redis | None = None,
    namespace: str | None = None,
    publisher: EventPublisher | None = None,
    users: ServiceClient | None = None,
) -> FastAPI:
    client = redis if redis is not None else settings.redis_from_env()
    ns = settings.namespace() if namespace is None else namespace
    events = publisher or RedisStreamPublisher(client, namespace=ns)
    users_client = users or ServiceClient(os.environ.get("USERS_URL", "http://localhost:8001"))
    app = FastAPI(title="payments")
    instrument(app, "payments", ready=lambda: bool(client.ping()))

    @app.post("/payments", status_code=201)
    def create_payment(body: PaymentRequest) -> JSONResponse:
        # TODO(lab:services): require an Idempotency-Key header (400 without one); replay the
        # stored response for a repeated key and body; 422 for the same key with another body;
        # check the user exists through `users_client`; store the payment; publish one
        # "payment.succeeded" event on TOPIC through `events`.
        # TODO(lab:resilience): when the users service is unreachable, answer 503 and leave
        # the key unused so the client can retry.
        return problem(501, "Not implemented", "TODO(lab:services): POST /payments")

    @app.get("/payments/{payment_id}")
    def get_payment(payment_id: str) -> JSONResponse:
        return problem(501, "Not implemented", f"TODO(lab:services): GET /payments/{payment_id}")

    _ = (events, users_client, ns)
    return app
