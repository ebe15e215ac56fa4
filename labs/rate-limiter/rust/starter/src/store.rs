//! In-memory persistence: users, refresh-token families, the access-token
//! denylist and failed-login records.
//!
//! This file is plumbing, not part of any stage: the security logic that uses
//! it lives in `auth.rs`. It keeps everything in process memory behind one
//! mutex, which is enough for a single instance; a real deployment would put
//! these tables in a database (the method names map one to one onto queries).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

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

#[derive(Debug, Clone)]
struct RefreshRow {
    family_id: String,
    username: String,
    expires_at: f64,
    used_at: Option<f64>,
}

#[derive(Debug, Default)]
struct Tables {
    users: HashMap<String, String>,
    refresh_tokens: HashMap<String, RefreshRow>,
    revoked_families: HashSet<String>,
    denied_jti: HashMap<String, f64>,
    login_failures: HashMap<String, Vec<f64>>,
}

/// The service's tables. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Store {
    tables: Mutex<Tables>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave the maps half-written in a
        // way that matters here, so keep serving rather than poisoning everything.
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the store can serve requests (always, in memory).
    pub fn ping(&self) -> Result<(), String> {
        drop(self.lock());
        Ok(())
    }

    /// Add a user; false if the name is taken.
    pub fn create_user(&self, username: &str, password_hash: &str) -> bool {
        let mut tables = self.lock();
        if tables.users.contains_key(username) {
            return false;
        }
        tables.users.insert(username.into(), password_hash.into());
        true
    }

    /// The stored password hash of a user, if the user exists.
    pub fn password_hash(&self, username: &str) -> Option<String> {
        self.lock().users.get(username).cloned()
    }

    /// Replace a user's password hash (after a parameter upgrade).
    pub fn set_password_hash(&self, username: &str, password_hash: &str) {
        if let Some(stored) = self.lock().users.get_mut(username) {
            *stored = password_hash.into();
        }
    }

    /// Remember a refresh token by its digest (the token itself is never stored).
    pub fn add_refresh_token(
        &self,
        token_hash: &str,
        family_id: &str,
        username: &str,
        expires_at: f64,
    ) {
        let row = RefreshRow {
            family_id: family_id.into(),
            username: username.into(),
            expires_at,
            used_at: None,
        };
        self.lock().refresh_tokens.insert(token_hash.into(), row);
    }

    /// Look a refresh token up by its digest.
    pub fn refresh_token(&self, token_hash: &str) -> Option<RefreshRecord> {
        let tables = self.lock();
        let row = tables.refresh_tokens.get(token_hash)?;
        Some(RefreshRecord {
            family_id: row.family_id.clone(),
            username: row.username.clone(),
            expires_at: row.expires_at,
            used: row.used_at.is_some(),
            family_revoked: tables.revoked_families.contains(&row.family_id),
        })
    }

    /// Atomically claim a refresh token; false if it was already used (or unknown).
    pub fn mark_refresh_used(&self, token_hash: &str, at: f64) -> bool {
        match self.lock().refresh_tokens.get_mut(token_hash) {
            Some(row) if row.used_at.is_none() => {
                row.used_at = Some(at);
                true
            }
            _ => false,
        }
    }

    /// Revoke every token of a session family.
    pub fn revoke_family(&self, family_id: &str) {
        self.lock().revoked_families.insert(family_id.into());
    }

    /// Whether a session family has been revoked.
    pub fn is_family_revoked(&self, family_id: &str) -> bool {
        self.lock().revoked_families.contains(family_id)
    }

    /// Put an access token's `jti` on the denylist until `expires_at`.
    pub fn deny_jti(&self, jti: &str, expires_at: f64) {
        self.lock()
            .denied_jti
            .entry(jti.into())
            .or_insert(expires_at);
    }

    /// Whether an access token's `jti` is on the denylist.
    pub fn is_jti_denied(&self, jti: &str) -> bool {
        self.lock().denied_jti.contains_key(jti)
    }

    /// Record one failed login for an account name (known or not).
    pub fn record_login_failure(&self, username: &str, at: f64) {
        self.lock()
            .login_failures
            .entry(username.into())
            .or_default()
            .push(at);
    }

    /// The times of an account's failed logins after `since`, oldest first.
    pub fn login_failures_since(&self, username: &str, since: f64) -> Vec<f64> {
        let tables = self.lock();
        let mut times: Vec<f64> = tables
            .login_failures
            .get(username)
            .map(|all| all.iter().copied().filter(|at| *at > since).collect())
            .unwrap_or_default();
        times.sort_by(f64::total_cmp);
        times
    }

    /// Forget an account's failed logins (after a successful one).
    pub fn clear_login_failures(&self, username: &str) {
        self.lock().login_failures.remove(username);
    }
}
