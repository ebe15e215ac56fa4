"""Settings, read from the environment by `Settings.from_env()`."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    # The issuer identifier: an https URL (http only on loopback) with no trailing slash,
    # no query and no fragment. Every endpoint lives under it.
    issuer: str
    database_path: str = "data/oauth2.db"
    # "NORMAL" is safe with SQLite's WAL; tests use "OFF" on throwaway databases.
    database_synchronous: str = "NORMAL"
    # Lifetimes, in seconds.
    code_ttl: int = 60
    access_token_ttl: int = 300
    id_token_ttl: int = 300
    refresh_token_ttl: int = 14 * 24 * 3600
    session_ttl: int = 8 * 3600
    # How long a retired signing key stays in the JWKS after a rotation. It must be at
    # least the longest lifetime of a token signed with it.
    key_overlap: int = 900
    # The token endpoint admits this many requests per client address per window.
    token_rate_limit: int = 60
    token_rate_window: int = 60

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            issuer=os.environ.get("OAUTH2_ISSUER", "http://127.0.0.1:8000"),
            database_path=os.environ.get("OAUTH2_DATABASE_PATH", "data/oauth2.db"),
            token_rate_limit=int(os.environ.get("OAUTH2_TOKEN_RATE_LIMIT", "60")),
        )
