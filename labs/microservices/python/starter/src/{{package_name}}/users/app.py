"""The users service."""

from __future__ import annotations

import redis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..common import settings
from ..common.web import instrument, problem


class Registration(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)


def create_app(*, redis: redis.Redis | None = None, namespace: str | None = None) -> FastAPI:
    client = redis if redis is not None else settings.redis_from_env()
    ns = settings.namespace() if namespace is None else namespace
    app = FastAPI(title="users")
    instrument(app, "users", ready=lambda: bool(client.ping()))

    @app.post("/users", status_code=201)
    def register(body: Registration) -> JSONResponse:
        # TODO(lab:services): validate and normalise the email (lower case), claim it
        # atomically so two registrations cannot both win (409 for the loser), store the user
        # under keys prefixed with `ns`, answer 201 with {"id", "email", "name"}.
        return problem(501, "Not implemented", "TODO(lab:services): POST /users")

    @app.get("/users/{user_id}")
    def get_user(user_id: str) -> JSONResponse:
        # TODO(lab:services): 200 with the user, 404 (problem+json) when unknown.
        return problem(501, "Not implemented", f"TODO(lab:services): GET /users/{user_id}")

    _ = (client, ns)
    return app
