//! Accounts, sessions and the HTTP routes that expose them.
//!
//! A login starts a session ("family"): one access JWT plus an opaque refresh
//! token. Refreshing rotates the refresh token; presenting an already-used one
//! is treated as theft and revokes the whole family (RFC 9700). Logout
//! denylists the access token's `jti` and ends its family.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::app::SharedState;
use crate::clock::Clock;
use crate::passwords::{hash_password, needs_rehash, verify_password};
use crate::problems::Problem;
use crate::settings::Settings;
use crate::store::Store;
use crate::tokens::{AccessClaims, TokenService, hex, random_hex};

/// An access and refresh token pair, as the login and refresh endpoints return it.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    /// The RS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// The opaque, single-use refresh token.
    pub refresh_token: String,
    /// Always "bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginError {
    /// Unknown user or wrong password; the detail, if any, is sent to the client.
    InvalidCredentials(Option<&'static str>),
    /// Too many recent failures for this account; retry after this many seconds.
    Throttled(f64),
}

/// No valid credentials; always answered with the same 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

fn digest(refresh_token: &str) -> String {
    hex(&Sha256::digest(refresh_token.as_bytes()))
}

/// Run a password check off the async workers: argon2 is deliberately slow.
async fn verify_off_thread(stored: Option<String>, password: &str) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || verify_password(stored.as_deref(), &password))
        .await
        .unwrap_or(false)
}

/// The account and session logic behind the routes.
pub struct AuthService {
    store: Arc<Store>,
    tokens: TokenService,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl AuthService {
    /// Wire the service to its store, token service and clock.
    pub fn new(
        store: Arc<Store>,
        tokens: TokenService,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            tokens,
            clock,
            settings,
        }
    }

    /// Create an account; false if the name is taken.
    pub async fn register(&self, username: &str, password: &str) -> bool {
        let password = password.to_owned();
        let hashed = tokio::task::spawn_blocking(move || hash_password(&password)).await;
        match hashed {
            Ok(Ok(hash)) => self.store.create_user(&normalise(username), &hash),
            _ => false,
        }
    }

    /// Check credentials and start a session.
    ///
    /// Failed logins are throttled per account, whatever address they come
    /// from, and unknown users are answered exactly like wrong passwords.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair, LoginError> {
        let name = normalise(username);
        self.check_throttle(&name)?;
        let stored = self.store.password_hash(&name);
        // Verify even for unknown users (against a dummy hash): same work, same time.
        if !verify_off_thread(stored.clone(), password).await {
            self.store.record_login_failure(&name, self.clock.now());
            warn!(event = "login_failed", username = %name, "login failed");
            return Err(LoginError::InvalidCredentials(None));
        }
        let stored = stored.unwrap_or_default();
        self.upgrade_hash(&name, &stored, password);
        self.store.clear_login_failures(&name);
        info!(event = "login_succeeded", username = %name, "login succeeded");
        self.issue(&name, &random_hex(16))
            .map_err(|_| LoginError::InvalidCredentials(None))
    }

    /// Refuse while the account has `login_max_failures` failures in the window.
    fn check_throttle(&self, name: &str) -> Result<(), LoginError> {
        let max = self.settings.login_max_failures.max(1);
        let window = self.settings.login_failure_window_seconds as f64;
        let now = self.clock.now();
        let failures = self.store.login_failures_since(name, now - window);
        if failures.len() < max {
            return Ok(());
        }
        // Admitted again once enough failures age out to leave max - 1 in the window.
        let oldest_relevant = failures[failures.len() - max];
        warn!(event = "login_throttled", username = %name, "login throttled");
        Err(LoginError::Throttled(oldest_relevant + window - now))
    }

    /// Re-hash a password stored with weaker parameters than today's.
    fn upgrade_hash(&self, name: &str, stored: &str, password: &str) {
        if needs_rehash(stored)
            && let Ok(hash) = hash_password(password)
        {
            self.store.set_password_hash(name, &hash);
        }
    }

    /// A fresh token pair in session `family_id`.
    fn issue(&self, username: &str, family_id: &str) -> Result<TokenPair, Unauthorized> {
        let (access_token, _) = self
            .tokens
            .issue_access(username, family_id)
            .map_err(|_| Unauthorized)?;
        let refresh_token = random_hex(32);
        let expires_at = self.clock.now() + self.settings.refresh_token_ttl_seconds as f64;
        self.store
            .add_refresh_token(&digest(&refresh_token), family_id, username, expires_at);
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "bearer",
            expires_in: self.settings.access_token_ttl_seconds,
        })
    }

    /// Exchange a refresh token for a new pair; a token works once.
    ///
    /// Presenting a token that was already exchanged means two parties hold it:
    /// the whole family is revoked (RFC 9700).
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Unauthorized> {
        let token_hash = digest(refresh_token);
        let record = self.store.refresh_token(&token_hash).ok_or(Unauthorized)?;
        if record.family_revoked || record.expires_at <= self.clock.now() {
            return Err(Unauthorized);
        }
        if record.used || !self.store.mark_refresh_used(&token_hash, self.clock.now()) {
            self.store.revoke_family(&record.family_id);
            warn!(event = "refresh_token_reused", username = %record.username, "refresh token reuse: family revoked");
            return Err(Unauthorized);
        }
        self.issue(&record.username, &record.family_id)
    }

    /// The verified claims of a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<AccessClaims, Unauthorized> {
        let claims = self.tokens.decode_access(token).map_err(|error| {
            info!(event = "token_rejected", reason = %error, "access token rejected");
            Unauthorized
        })?;
        let family_revoked = claims
            .sid
            .as_deref()
            .is_some_and(|sid| self.store.is_family_revoked(sid));
        if family_revoked || self.store.is_jti_denied(&claims.jti) {
            info!(
                event = "token_rejected",
                reason = "revoked",
                "access token rejected"
            );
            return Err(Unauthorized);
        }
        Ok(claims)
    }

    /// End the session of this access token: denylist its `jti` and revoke its family.
    pub fn logout(&self, claims: &AccessClaims) {
        self.store.deny_jti(&claims.jti, claims.exp as f64);
        if let Some(sid) = claims.sid.as_deref() {
            self.store.revoke_family(sid);
        }
        info!(event = "logout", username = %claims.sub, "logged out");
    }
}

/// The 401 every authentication failure gets.
pub fn unauthorized() -> Response {
    Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized")
        .header(WWW_AUTHENTICATE, "Bearer")
        .into_response()
}

/// Extractor: the verified claims of the request's bearer token.
pub struct Authenticated(pub AccessClaims);

impl FromRequestParts<SharedState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let (scheme, token) = header.split_once(' ').unwrap_or(("", ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(unauthorized());
        }
        state
            .auth
            .authenticate(token.trim())
            .map(Authenticated)
            .map_err(|_| unauthorized())
    }
}

/// Body of `POST /auth/register` and `POST /auth/login`.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// Account name.
    pub username: String,
    /// Password in clear; never logged.
    pub password: String,
}

/// Body of `POST /auth/refresh`.
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

fn valid_username(name: &str) -> bool {
    (3..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

fn unprocessable(detail: &str) -> Response {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request")
        .detail(detail)
        .into_response()
}

/// `POST /auth/register`.
pub async fn register(State(state): State<SharedState>, Json(body): Json<Credentials>) -> Response {
    if !valid_username(&body.username) {
        return unprocessable("username: 3 to 64 of A-Z a-z 0-9 _ . @ -");
    }
    if !(12..=1024).contains(&body.password.chars().count()) {
        return unprocessable("password: 12 to 1024 characters");
    }
    if !state.auth.register(&body.username, &body.password).await {
        return Problem::new(StatusCode::CONFLICT, "Username already registered").into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({ "username": normalise(&body.username) })),
    )
        .into_response()
}

/// `POST /auth/login`.
pub async fn login(State(state): State<SharedState>, Json(body): Json<Credentials>) -> Response {
    if body.username.len() > 256 || body.password.len() > 1024 {
        return unprocessable("username or password too long");
    }
    match state.auth.login(&body.username, &body.password).await {
        Ok(pair) => Json(pair).into_response(),
        Err(LoginError::Throttled(retry_after)) => {
            let seconds = retry_after.ceil().max(1.0) as u64;
            Problem::new(StatusCode::TOO_MANY_REQUESTS, "Too many failed logins")
                .header(RETRY_AFTER, &seconds.to_string())
                .into_response()
        }
        Err(LoginError::InvalidCredentials(detail)) => {
            let problem = Problem::new(StatusCode::UNAUTHORIZED, "Invalid credentials");
            match detail {
                Some(detail) => problem.detail(detail).into_response(),
                None => problem.into_response(),
            }
        }
    }
}

/// `POST /auth/refresh`.
pub async fn refresh(
    State(state): State<SharedState>,
    Json(body): Json<RefreshRequest>,
) -> Response {
    match state.auth.refresh(&body.refresh_token) {
        Ok(pair) => Json(pair).into_response(),
        Err(Unauthorized) => unauthorized(),
    }
}

/// `POST /auth/logout`.
pub async fn logout(
    State(state): State<SharedState>,
    Authenticated(claims): Authenticated,
) -> StatusCode {
    state.auth.logout(&claims);
    StatusCode::NO_CONTENT
}

/// `GET /api/me`.
pub async fn me(Authenticated(claims): Authenticated) -> Json<serde_json::Value> {
    Json(json!({ "username": claims.sub }))
}
