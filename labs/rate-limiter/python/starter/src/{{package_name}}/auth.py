"""Accounts, sessions and the HTTP routes that expose them.

A login starts a session ("family"): one access JWT plus an opaque refresh
token. Refreshing rotates the refresh token; presenting an already-used one is
treated as theft and revokes the whole family (RFC 9700). Logout denylists the
access token's `jti` and ends its family.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .clock import Clock
from .passwords import hash_password, needs_rehash, verify_password
from .problems import problem
from .settings import Settings
from .store import Store
from .tokens import TokenError, TokenService

log = logging.getLogger(__name__)


class Unauthorized(Exception):
    """No valid credentials; always answered with the same 401."""


class InvalidCredentials(Exception):
    """Unknown user or wrong password: deliberately indistinguishable."""


class LoginThrottled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed logins")
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }


def _normalise(username: str) -> str:
    return username.strip().lower()


def _digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class AuthService:
    def __init__(
        self, store: Store, tokens: TokenService, clock: Clock, settings: Settings
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self._settings = settings

    def register(self, username: str, password: str) -> bool:
        return self._store.create_user(_normalise(username), hash_password(password))

    def login(self, username: str, password: str) -> TokenPair:
        name = _normalise(username)
        # TODO(lab:auth): throttle failed logins per account (settings.login_max_failures
        # per settings.login_failure_window_seconds, on the injected clock), whatever IP
        # they come from; a throttled client is told to come back when the oldest counted
        # failure leaves the window. Answer unknown users exactly like wrong passwords:
        # same status, body and headers, and the same argon2 work.
        stored = self._store.password_hash(name)
        if stored is None:
            raise InvalidCredentials("No such user")
        if not verify_password(stored, password):
            log.warning("login failed", extra={"event": "login_failed", "username": name})
            raise InvalidCredentials("Wrong password")
        if needs_rehash(stored):
            self._store.set_password_hash(name, hash_password(password))
        log.info("login succeeded", extra={"event": "login_succeeded", "username": name})
        return self._issue(name, family_id=uuid.uuid4().hex)

    def _issue(self, username: str, family_id: str) -> TokenPair:
        access, _ = self._tokens.issue_access(username, family_id)
        refresh = secrets.token_urlsafe(32)
        expires_at = self._clock.now() + self._settings.refresh_token_ttl_seconds
        self._store.add_refresh_token(_digest(refresh), family_id, username, expires_at)
        return TokenPair(access, refresh, self._settings.access_token_ttl_seconds)

    def refresh(self, refresh_token: str) -> TokenPair:
        # TODO(lab:auth): rotate. Look the token up by its digest, refuse unknown,
        # expired (by the injected clock) or revoked ones, claim it with
        # store.mark_refresh_used, and if it had already been used, revoke its whole
        # family (store.revoke_family). mark_refresh_used is a compare-and-set: when it
        # returns False a concurrent request claimed the token first, which is reuse too.
        raise NotImplementedError("TODO(lab:auth): AuthService.refresh")

    def authenticate(self, token: str) -> dict[str, Any]:
        try:
            claims = self._tokens.decode_access(token)
        except TokenError as exc:
            log.info("access token rejected", extra={"event": "token_rejected", "reason": str(exc)})
            raise Unauthorized from exc
        # TODO(lab:auth): refuse tokens whose jti was denylisted at logout, and
        # tokens whose session family has been revoked.
        return claims

    def logout(self, claims: dict[str, Any]) -> None:
        # TODO(lab:auth): denylist this token's jti (until its exp) and end its session,
        # so that the session's refresh token stops working too.
        raise NotImplementedError("TODO(lab:auth): AuthService.logout")


class Credentials(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=12, max_length=1024)


class LoginRequest(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=512)


def current_claims(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """Dependency: the verified claims of the request's bearer token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized
    service: AuthService = request.app.state.auth
    return service.authenticate(token.strip())


Claims = Annotated[dict[str, Any], Depends(current_claims)]


def build_auth_router(service: AuthService) -> APIRouter:
    router = APIRouter()

    @router.post("/auth/register", status_code=201, response_model=None)
    def register(body: Credentials) -> JSONResponse | dict[str, str]:
        if not service.register(body.username, body.password):
            return problem(409, "Username already registered")
        return {"username": _normalise(body.username)}

    @router.post("/auth/login", response_model=None)
    def login(body: LoginRequest) -> JSONResponse | dict[str, Any]:
        try:
            return service.login(body.username, body.password).as_json()
        except LoginThrottled as exc:
            retry = str(max(1, math.ceil(exc.retry_after)))
            return problem(429, "Too many failed logins", headers={"Retry-After": retry})
        except InvalidCredentials as exc:
            return problem(401, "Invalid credentials", detail=str(exc))

    @router.post("/auth/refresh", response_model=None)
    def refresh(body: RefreshRequest) -> dict[str, Any]:
        return service.refresh(body.refresh_token).as_json()

    @router.post("/auth/logout", status_code=204)
    def logout(claims: Claims) -> Response:
        service.logout(claims)
        return Response(status_code=204)

    @router.get("/api/me")
    def me(claims: Claims) -> dict[str, str]:
        return {"username": str(claims["sub"])}

    return router


def unauthorized_response() -> JSONResponse:
    return problem(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})
