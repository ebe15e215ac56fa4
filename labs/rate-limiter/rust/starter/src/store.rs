//! Persistence in SQLite: users, refresh-token families, the access-token
//! denylist and failed-login records.
//!
//! This file is plumbing, not part of any stage: the security logic that uses
//! it lives in `auth.rs`. One connection behind a mutex serves the whole
//! process; each method is one statement (or one transaction), so the
//! compare-and-set in [`Store::mark_refresh_used`] stays atomic. A database
//! error never grants anything: lookups answer "unknown" or "revoked", and the
//! error is logged.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

/// What the store knows about one refresh token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRecord {
    /// The session ("family") the token belongs to.
    pub family_id: String,
    /// Whose session it is.
    pub username: String,
    /// When the token stops being valid (seconds since the epoch).
    pub expires_at: f64,
    /// Whether the token has already been exchanged.
    pub used: bool,
    /// Whether its family has been revoked.
    pub family_revoked: bool,
}

/// The database cannot be opened or used.
#[derive(Debug)]
pub struct StoreError(String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self(error.to_string())
    }
}

const SCHEMA: &str = "
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
CREATE TABLE IF NOT EXISTS revoked_families (family_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS denied_jti (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (username TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_by_user ON login_failures (username, at);
";

/// The service's tables. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A private in-memory database, gone with the process (tests use it).
    pub fn new() -> Self {
        let conn = Connection::open_in_memory().expect("SQLite can always open a memory database");
        Self::with_connection(conn).expect("the schema applies to an empty database")
    }

    /// The database at `path` (`:memory:` for none), created with its folder if missing.
    pub fn open(path: &str) -> Result<Self, StoreError> {
        if path == ":memory:" {
            return Ok(Self::new());
        }
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError(format!("{}: {e}", parent.display())))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::with_connection(conn)
    }

    fn with_connection(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite keeps the data consistent; a panic elsewhere must not stop the service.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<(), String> {
        self.lock()
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(|e| e.to_string())
    }

    /// Add a user; false if the name is taken (or the database fails).
    pub fn create_user(&self, username: &str, password_hash: &str) -> bool {
        let inserted = self.lock().execute(
            "INSERT OR IGNORE INTO users (username, password_hash) VALUES (?1, ?2)",
            params![username, password_hash],
        );
        logged(inserted).is_some_and(|rows| rows == 1)
    }

    /// The stored password hash of a user, if the user exists.
    pub fn password_hash(&self, username: &str) -> Option<String> {
        let found = self
            .lock()
            .query_row(
                "SELECT password_hash FROM users WHERE username = ?1",
                [username],
                |row| row.get(0),
            )
            .optional();
        logged(found).flatten()
    }

    /// Replace a user's password hash (after a parameter upgrade).
    pub fn set_password_hash(&self, username: &str, password_hash: &str) {
        logged(self.lock().execute(
            "UPDATE users SET password_hash = ?2 WHERE username = ?1",
            params![username, password_hash],
        ));
    }

    /// Remember a refresh token by its digest (the token itself is never stored).
    pub fn add_refresh_token(
        &self,
        token_hash: &str,
        family_id: &str,
        username: &str,
        expires_at: f64,
    ) {
        logged(self.lock().execute(
            "INSERT OR REPLACE INTO refresh_tokens (token_hash, family_id, username, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, family_id, username, expires_at],
        ));
    }

    /// Look a refresh token up by its digest.
    pub fn refresh_token(&self, token_hash: &str) -> Option<RefreshRecord> {
        let found = self
            .lock()
            .query_row(
                "SELECT t.family_id, t.username, t.expires_at, t.used_at IS NOT NULL, \
                 EXISTS (SELECT 1 FROM revoked_families r WHERE r.family_id = t.family_id) \
                 FROM refresh_tokens t WHERE t.token_hash = ?1",
                [token_hash],
                |row| {
                    Ok(RefreshRecord {
                        family_id: row.get(0)?,
                        username: row.get(1)?,
                        expires_at: row.get(2)?,
                        used: row.get(3)?,
                        family_revoked: row.get(4)?,
                    })
                },
            )
            .optional();
        logged(found).flatten()
    }

    /// Atomically claim a refresh token; false if it was already used (or unknown).
    pub fn mark_refresh_used(&self, token_hash: &str, at: f64) -> bool {
        let claimed = self.lock().execute(
            "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
            params![token_hash, at],
        );
        logged(claimed).is_some_and(|rows| rows == 1)
    }

    /// Revoke every token of a session family.
    pub fn revoke_family(&self, family_id: &str) {
        logged(self.lock().execute(
            "INSERT OR IGNORE INTO revoked_families (family_id) VALUES (?1)",
            [family_id],
        ));
    }

    /// Whether a session family has been revoked (true when the database fails).
    pub fn is_family_revoked(&self, family_id: &str) -> bool {
        let found = self.lock().query_row(
            "SELECT EXISTS (SELECT 1 FROM revoked_families WHERE family_id = ?1)",
            [family_id],
            |row| row.get(0),
        );
        logged(found).unwrap_or(true)
    }

    /// Put an access token's `jti` on the denylist until `expires_at`.
    pub fn deny_jti(&self, jti: &str, expires_at: f64) {
        logged(self.lock().execute(
            "INSERT OR IGNORE INTO denied_jti (jti, expires_at) VALUES (?1, ?2)",
            params![jti, expires_at],
        ));
    }

    /// Whether an access token's `jti` is on the denylist (true when the database fails).
    pub fn is_jti_denied(&self, jti: &str) -> bool {
        let found = self.lock().query_row(
            "SELECT EXISTS (SELECT 1 FROM denied_jti WHERE jti = ?1)",
            [jti],
            |row| row.get(0),
        );
        logged(found).unwrap_or(true)
    }

    /// Record one failed login for an account name (known or not).
    pub fn record_login_failure(&self, username: &str, at: f64) {
        logged(self.lock().execute(
            "INSERT INTO login_failures (username, at) VALUES (?1, ?2)",
            params![username, at],
        ));
    }

    /// The times of an account's failed logins after `since`, oldest first.
    pub fn login_failures_since(&self, username: &str, since: f64) -> Vec<f64> {
        let conn = self.lock();
        let times = conn
            .prepare("SELECT at FROM login_failures WHERE username = ?1 AND at > ?2 ORDER BY at")
            .and_then(|mut statement| {
                statement
                    .query_map(params![username, since], |row| row.get(0))?
                    .collect::<Result<Vec<f64>, _>>()
            });
        logged(times).unwrap_or_default()
    }

    /// Forget an account's failed logins (after a successful one).
    pub fn clear_login_failures(&self, username: &str) {
        logged(
            self.lock()
                .execute("DELETE FROM login_failures WHERE username = ?1", [username]),
        );
    }
}

/// The value, or `None` after logging the database error.
fn logged<T>(result: rusqlite::Result<T>) -> Option<T> {
    result
        .map_err(
            |error| tracing::error!(event = "database_error", error = %error, "database error"),
        )
        .ok()
}
