"""The users service."""

from __future__ import annotations

import re
import uuid
from typing import cast

import redis
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..common import settings
from ..common.web import instrument, problem

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Registration(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)


def create_app(*, redis: redis.Redis | None = None, namespace: str | None = None) -> FastAPI:
    client = redis if redis is not None else settings.redis_from_env()
    ns = settings.namespace() if namespace is None else namespace
    app = FastAPI(title="users")
    instrument(app, "users", ready=lambda: bool(client.ping()))

    def user_key(user_id: str) -> str:
        return f"{ns}users:user:{user_id}"

    @app.post("/users", status_code=201, response_model=None)
    def register(body: Registration, response: Response) -> JSONResponse | dict[str, str]:
        email = body.email.strip().lower()
        if not EMAIL.match(email):
            return problem(422, "Invalid email", "the email address is not well formed")
        user_id = uuid.uuid4().hex
        # SET NX makes the email claim atomic: two concurrent registrations cannot both win.
        if not client.set(f"{ns}users:email:{email}", user_id, nx=True):
            return problem(409, "Email already registered")
        user = {"id": user_id, "email": email, "name": body.name}
        client.hset(user_key(user_id), mapping=dict(user.items()))
        response.headers["Location"] = f"/users/{user_id}"
        return user

    @app.get("/users/{user_id}", response_model=None)
    def get_user(user_id: str) -> JSONResponse | dict[str, str]:
        user = cast("dict[str, str]", client.hgetall(user_key(user_id)))
        if not user:
            return problem(404, "No such user")
        return user

    return app
