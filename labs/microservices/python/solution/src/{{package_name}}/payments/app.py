"""The payments service.

POST /payments needs an `Idempotency-Key` header (IETF draft-ietf-httpapi-idempotency-key-header):
the first request with a key does the work and stores the response; a retry with the same key
and the same body gets the stored response back and causes no second charge and no second event;
the same key with a different body is a client error (422); a retry while the first request is
still running gets 409.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import redis
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..common import settings
from ..common.events import EventPublisher, RedisStreamPublisher
from ..common.resilience import PeerUnavailable, ServiceClient
from ..common.web import instrument, problem

TOPIC = "payments"
IN_FLIGHT_TTL_S = 60
REPLAY_TTL_S = 24 * 3600


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
    def create_payment(
        body: PaymentRequest,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> JSONResponse:
        if not idempotency_key:
            return problem(400, "Idempotency-Key header required")
        fingerprint = hashlib.sha256(
            json.dumps(body.model_dump(), sort_keys=True).encode()
        ).hexdigest()
        key = f"{ns}payments:idempotency:{idempotency_key}"
        claim = json.dumps({"state": "in_flight", "fingerprint": fingerprint})
        if not client.set(key, claim, nx=True, ex=IN_FLIGHT_TTL_S):
            stored = json.loads(client.get(key) or "{}")
            if stored.get("fingerprint") != fingerprint:
                return problem(422, "Idempotency-Key reused with a different request")
            if stored.get("state") != "done":
                return problem(409, "A request with this Idempotency-Key is in progress")
            return JSONResponse(
                stored["body"],
                status_code=stored["status"],
                headers={"Idempotent-Replayed": "true"},
            )

        try:
            found = users_client.get(f"/users/{body.user_id}")
        except PeerUnavailable as exc:
            client.delete(key)  # nothing happened: the same key may be retried later
            return problem(503, "Users service unavailable", str(exc))
        if found.status_code == 404:
            client.delete(key)
            return problem(422, "Unknown user")
        if found.status_code != 200:
            client.delete(key)
            return problem(502, "Unexpected answer from users service", f"HTTP {found.status_code}")

        payment = {
            "id": uuid.uuid4().hex,
            "user_id": body.user_id,
            "amount_cents": body.amount_cents,
            "currency": body.currency,
            "status": "succeeded",
            "created_at": datetime.now(UTC).isoformat(),
        }
        client.set(f"{ns}payments:payment:{payment['id']}", json.dumps(payment))
        events.publish(
            TOPIC,
            {
                "event_id": uuid.uuid4().hex,
                "type": "payment.succeeded",
                "payment_id": payment["id"],
                "user_id": payment["user_id"],
                "amount_cents": payment["amount_cents"],
                "currency": payment["currency"],
                "occurred_at": payment["created_at"],
            },
        )
        done = {"state": "done", "fingerprint": fingerprint, "status": 201, "body": payment}
        client.set(key, json.dumps(done), ex=REPLAY_TTL_S)
        return JSONResponse(payment, status_code=201)

    @app.get("/payments/{payment_id}", response_model=None)
    def get_payment(payment_id: str) -> JSONResponse | dict[str, Any]:
        raw = client.get(f"{ns}payments:payment:{payment_id}")
        if raw is None:
            return problem(404, "No such payment")
        payment: dict[str, Any] = json.loads(raw)
        return payment

    return app
