"""The SQLite store: users, sessions, clients, pending consents, codes, tokens, keys.

Plain storage, no policy: what a code or token means, and when it is valid, is decided
by the modules that use it. Secrets that the server hands out (codes, refresh tokens,
session cookies) are stored only as SHA-256 digests, so a copy of the database does not
let anyone use them. One connection, shared by the worker threads behind a lock.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    sub TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, sub TEXT NOT NULL, auth_time REAL NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auth_requests (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS families (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS codes (
    digest TEXT PRIMARY KEY, data TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, family TEXT NOT NULL, data TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tokens_family ON tokens (family);
CREATE TABLE IF NOT EXISTS assertions (
    client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (client_id, jti));
CREATE TABLE IF NOT EXISTS keys (
    kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at REAL NOT NULL,
    retired_at REAL);
"""


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a handed-out secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Client:
    client_id: str
    redirect_uris: list[str]
    # "client_secret_basic", "private_key_jwt" or "none" (a public client).
    auth_method: str
    grant_types: list[str]
    # The scopes the client may ask for.
    scopes: list[str]
    # The digest of the client secret (client_secret_basic only).
    secret_digest: str | None = None
    # The client's public keys as a JWK Set (private_key_jwt only).
    jwks: dict[str, Any] | None = None


@dataclass
class AuthRequest:
    """An authorization request the user has not yet answered on the consent page."""

    id: str
    sub: str
    auth_time: float
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str
    created_at: float


@dataclass
class CodeRecord:
    client_id: str
    sub: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    auth_time: float
    expires_at: float
    # Every token issued from this code belongs to this family.
    family: str


@dataclass
class TokenRecord:
    # The access token's `jti`, or the refresh token's digest.
    key: str
    kind: str  # "access" or "refresh"
    family: str
    client_id: str
    sub: str | None
    scope: str
    issued_at: float
    expires_at: float
    extra: dict[str, Any] = field(default_factory=dict)
    used: bool = False
    revoked: bool = False


@dataclass
class StoredKey:
    kid: str
    private_pem: str
    created_at: float
    retired_at: float | None


class Store:
    def __init__(self, path: str, synchronous: str = "NORMAL") -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            if synchronous not in ("OFF", "NORMAL", "FULL"):
                raise ValueError(f"database_synchronous must be OFF, NORMAL or FULL: {synchronous}")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # Users and their login sessions.
    def add_user(self, username: str, password_hash: str) -> str:
        sub = uuid.uuid4().hex
        self._run("INSERT INTO users VALUES (?, ?, ?)", (sub, username, password_hash))
        return sub

    def user_by_name(self, username: str) -> tuple[str, str] | None:
        row = self._one("SELECT sub, password_hash FROM users WHERE username = ?", (username,))
        return None if row is None else (row[0], row[1])

    def username(self, sub: str) -> str | None:
        row = self._one("SELECT username FROM users WHERE sub = ?", (sub,))
        return None if row is None else str(row[0])

    def save_session(self, secret: str, sub: str, auth_time: float, expires_at: float) -> None:
        self._run(
            "INSERT INTO sessions VALUES (?, ?, ?, ?)", (digest(secret), sub, auth_time, expires_at)
        )

    def session(self, secret: str) -> tuple[str, float, float] | None:
        """(sub, auth_time, expires_at) of a login session, or None."""
        row = self._one(
            "SELECT sub, auth_time, expires_at FROM sessions WHERE digest = ?", (digest(secret),)
        )
        return None if row is None else (row[0], row[1], row[2])

    # Clients.
    def save_client(self, client: Client) -> None:
        self._run(
            "INSERT OR REPLACE INTO clients VALUES (?, ?)",
            (client.client_id, json.dumps(asdict(client))),
        )

    def client(self, client_id: str) -> Client | None:
        row = self._one("SELECT data FROM clients WHERE client_id = ?", (client_id,))
        return None if row is None else Client(**json.loads(row[0]))

    # Authorization requests waiting for consent.
    def save_auth_request(self, request: AuthRequest) -> None:
        self._run(
            "INSERT INTO auth_requests VALUES (?, ?)", (request.id, json.dumps(asdict(request)))
        )

    def take_auth_request(self, request_id: str) -> AuthRequest | None:
        """Remove and return a pending request: each can be answered once."""
        with self._lock:
            row = self._db.execute(
                "DELETE FROM auth_requests WHERE id = ? RETURNING data", (request_id,)
            ).fetchone()
        return None if row is None else AuthRequest(**json.loads(row[0]))

    # Token families: a code and every token issued from it, directly or by refreshing.
    def new_family(self, client_id: str) -> str:
        family = uuid.uuid4().hex
        self._run("INSERT INTO families (id, client_id) VALUES (?, ?)", (family, client_id))
        return family

    def revoke_family(self, family: str) -> None:
        self._run("UPDATE families SET revoked = 1 WHERE id = ?", (family,))

    def family_revoked(self, family: str) -> bool:
        row = self._one("SELECT revoked FROM families WHERE id = ?", (family,))
        return row is None or bool(row[0])

    # Authorization codes, stored by digest.
    def save_code(self, code: str, record: CodeRecord) -> None:
        self._run(
            "INSERT INTO codes (digest, data) VALUES (?, ?)",
            (digest(code), json.dumps(asdict(record))),
        )

    def claim_code(self, code: str) -> tuple[CodeRecord | None, bool]:
        """(the code's record or None, whether this call is the first to claim it).

        Marking the code used and learning whether it already was is one atomic step.
        """
        key = digest(code)
        with self._lock:
            row = self._db.execute("SELECT data FROM codes WHERE digest = ?", (key,)).fetchone()
            if row is None:
                return None, False
            first = (
                self._db.execute(
                    "UPDATE codes SET used = 1 WHERE digest = ? AND used = 0", (key,)
                ).rowcount
                == 1
            )
        return CodeRecord(**json.loads(row[0])), first

    # Access tokens (by jti) and refresh tokens (by digest).
    def save_token(self, record: TokenRecord) -> None:
        data = asdict(record)
        for column in ("key", "kind", "family", "used", "revoked"):
            data.pop(column)
        self._run(
            "INSERT INTO tokens (key, kind, family, data) VALUES (?, ?, ?, ?)",
            (record.key, record.kind, record.family, json.dumps(data)),
        )

    def token(self, key: str) -> TokenRecord | None:
        row = self._one(
            "SELECT key, kind, family, data, used, revoked FROM tokens WHERE key = ?", (key,)
        )
        if row is None:
            return None
        return TokenRecord(
            key=row[0],
            kind=row[1],
            family=row[2],
            used=bool(row[4]),
            revoked=bool(row[5]),
            **json.loads(row[3]),
        )

    def mark_token_used(self, key: str) -> bool:
        """Mark a refresh token used; True only for the call that changed it."""
        return self._run("UPDATE tokens SET used = 1 WHERE key = ? AND used = 0", (key,)) == 1

    def revoke_token(self, key: str) -> None:
        self._run("UPDATE tokens SET revoked = 1 WHERE key = ?", (key,))

    def family_tokens(self, family: str) -> list[TokenRecord]:
        with self._lock:
            keys = [
                row[0]
                for row in self._db.execute("SELECT key FROM tokens WHERE family = ?", (family,))
            ]
        return [record for key in keys if (record := self.token(key)) is not None]

    # Client assertion ids (private_key_jwt), remembered until the assertion expires.
    def remember_assertion(self, client_id: str, jti: str, expires_at: float, now: float) -> bool:
        """False when this client already used this jti (a replay)."""
        with self._lock:
            self._db.execute("DELETE FROM assertions WHERE expires_at < ?", (now,))
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO assertions VALUES (?, ?, ?)", (client_id, jti, expires_at)
            ).rowcount
        return inserted == 1

    # Signing keys.
    def save_key(self, key: StoredKey) -> None:
        self._run(
            "INSERT INTO keys VALUES (?, ?, ?, ?)",
            (key.kid, key.private_pem, key.created_at, key.retired_at),
        )

    def retire_key(self, kid: str, at: float) -> None:
        self._run("UPDATE keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL", (at, kid))

    def signing_keys(self) -> list[StoredKey]:
        """Every key, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kid, private_pem, created_at, retired_at FROM keys"
                " ORDER BY created_at, rowid"
            ).fetchall()
        return [StoredKey(*row) for row in rows]
