"""Service configuration, read from environment variables (12-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    # Storage
    database_path: str = "data/app.db"
    # SQLite's PRAGMA synchronous. FULL syncs every commit to disk, so a power cut loses
    # nothing; OFF skips the syncs, for throwaway databases such as a test's.
    database_synchronous: str = "FULL"
    # None means "no Redis": a per-process, in-memory limiter (single instance only).
    redis_url: str | None = None
    redis_key_prefix: str = "rl:"

    # The "default" rate-limit policy applied to /api/* routes.
    rate_limit_policy: str = "default"
    rate_limit: int = 60
    rate_window_seconds: int = 60
    # What to do when the limiter's backend (Redis) is unreachable; see README.
    rate_limit_fail_open: bool = False

    # Access tokens are RS256 JWTs. Without a key a throwaway one is generated at
    # start-up, which is fine for development and wrong for more than one instance.
    jwt_private_key_pem: str | None = None
    jwt_issuer: str = "http://localhost:8000"
    jwt_audience: str = "lab-api"
    jwt_leeway_seconds: int = 30
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600

    # Per-account brute-force protection.
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900

    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from `APP_<FIELD>` variables (plus plain `REDIS_URL`)."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(f"APP_{field.name.upper()}")
            if raw is None and field.name == "redis_url":
                raw = env.get("REDIS_URL")
            if raw is None or raw == "":
                continue
            values[field.name] = _coerce(raw, field.default)
        return cls(**values)


def _coerce(raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw
