"""SQLite persistence (standard library `sqlite3`): users, refresh-token
families, the access-token denylist and failed-login records.

One short-lived connection per operation keeps it safe to call from FastAPI's
thread pool. This file is plumbing, not part of any stage: the security logic
that uses it lives in `auth.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    username TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
CREATE TABLE IF NOT EXISTS revoked_families (family_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS denied_jti (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (username TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (username, at);
"""


@dataclass(frozen=True)
class RefreshRecord:
    family_id: str
    username: str
    expires_at: float
    used: bool
    family_revoked: bool


# SQLite's `PRAGMA synchronous` levels (https://www.sqlite.org/pragma.html#pragma_synchronous).
SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


class Store:
    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        level = synchronous.upper()
        if level not in SYNCHRONOUS_LEVELS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_LEVELS}: {synchronous!r}")
        self.path = path
        self._synchronous = level

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=5.0)) as conn, conn:
            # Per connection; checked against SYNCHRONOUS_LEVELS above, so safe to interpolate.
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            yield conn

    def init_schema(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            # One transaction: one commit (and one fsync) instead of one per statement.
            conn.executescript(f"BEGIN;\n{_SCHEMA}\nCOMMIT;")

    def ping(self) -> None:
        with self._connect() as conn:
            conn.execute("SELECT 1").fetchone()

    # Users
    def create_user(self, username: str, password_hash: str) -> bool:
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO users (username, password_hash) VALUES (?, ?)",
                    (username, password_hash),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def password_hash(self, username: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
            )

    # Refresh tokens (only their SHA-256 is stored)
    def add_refresh_token(
        self, token_hash: str, family_id: str, username: str, expires_at: float
    ) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, family_id, username, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, family_id, username, expires_at),
            )

    def refresh_token(self, token_hash: str) -> RefreshRecord | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT t.family_id, t.username, t.expires_at, t.used_at IS NOT NULL,"
                " r.family_id IS NOT NULL"
                " FROM refresh_tokens t LEFT JOIN revoked_families r USING (family_id)"
                " WHERE t.token_hash = ?",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        return RefreshRecord(row[0], row[1], float(row[2]), bool(row[3]), bool(row[4]))

    def mark_refresh_used(self, token_hash: str, at: float) -> bool:
        """Atomically claim a refresh token; False if it was already used."""
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                (at, token_hash),
            )
        return cursor.rowcount == 1

    def revoke_family(self, family_id: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO revoked_families (family_id) VALUES (?)", (family_id,)
            )

    def is_family_revoked(self, family_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM revoked_families WHERE family_id = ?", (family_id,)
            ).fetchone()
        return row is not None

    # Access-token denylist
    def deny_jti(self, jti: str, expires_at: float) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO denied_jti (jti, expires_at) VALUES (?, ?)",
                (jti, expires_at),
            )

    def is_jti_denied(self, jti: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT 1 FROM denied_jti WHERE jti = ?", (jti,)).fetchone()
        return row is not None

    # Failed logins
    def record_login_failure(self, username: str, at: float) -> None:
        with self._connect() as conn:
            conn.execute("INSERT INTO login_failures (username, at) VALUES (?, ?)", (username, at))

    def login_failures_since(self, username: str, since: float) -> list[float]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT at FROM login_failures WHERE username = ? AND at > ? ORDER BY at",
                (username, since),
            ).fetchall()
        return [float(row[0]) for row in rows]

    def clear_login_failures(self, username: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM login_failures WHERE username = ?", (username,))
