//! Service configuration, read from environment variables (12-factor style).

use std::env;
use std::fmt;
use std::str::FromStr;

/// Everything the service can be configured with. `Default` gives the
/// development values; [`Settings::from_env`] overrides them from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server binds to.
    pub bind_addr: String,
    /// `None` means "no Redis": a per-process, in-memory limiter (one instance only).
    pub redis_url: Option<String>,
    /// Prefix of every key the shared limiter writes.
    pub redis_key_prefix: String,
    /// The SQLite database of users and sessions (`:memory:` for a throwaway one).
    pub database_path: String,

    /// Name of the rate-limit policy applied to `/api/*` routes.
    pub rate_limit_policy: String,
    /// Requests admitted per window.
    pub rate_limit: u64,
    /// Window length in seconds.
    pub rate_window_seconds: u64,
    /// What to do when the limiter's backend is unreachable; see the README.
    pub rate_limit_fail_open: bool,

    /// RSA private key (PKCS#8 or PKCS#1 PEM) that signs access tokens. Required.
    pub jwt_private_key_pem: String,
    /// The `iss` claim we issue and require.
    pub jwt_issuer: String,
    /// The `aud` claim we issue and require.
    pub jwt_audience: String,
    /// Clock-skew tolerance for `exp`, `nbf` and `iat`, in seconds.
    pub jwt_leeway_seconds: u64,
    /// Lifetime of an access token, in seconds.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_token_ttl_seconds: u64,

    /// Failed logins per account tolerated within the window.
    pub login_max_failures: usize,
    /// The failed-login window, in seconds.
    pub login_failure_window_seconds: u64,

    /// Longest time a request may take before it is answered 503, in seconds.
    pub request_timeout_seconds: u64,

    /// Log level: error, warn, info, debug or trace.
    pub log_level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind_addr: "0.0.0.0:8000".into(),
            redis_url: None,
            redis_key_prefix: "rl:".into(),
            database_path: "data/app.db".into(),
            rate_limit_policy: "default".into(),
            rate_limit: 60,
            rate_window_seconds: 60,
            rate_limit_fail_open: false,
            jwt_private_key_pem: String::new(),
            jwt_issuer: "http://localhost:8000".into(),
            jwt_audience: "lab-api".into(),
            jwt_leeway_seconds: 30,
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 14 * 24 * 3600,
            login_max_failures: 5,
            login_failure_window_seconds: 900,
            request_timeout_seconds: 10,
            log_level: "info".into(),
        }
    }
}

/// A variable that is set but cannot be used.
#[derive(Debug)]
pub struct SettingsError(String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Read `APP_<FIELD>` variables (plus plain `REDIS_URL`, and
    /// `APP_JWT_PRIVATE_KEY_FILE` as an alternative to the PEM itself).
    /// `main` loads a `.env` file into the environment first.
    pub fn from_env() -> Result<Self, SettingsError> {
        let mut s = Self::default();
        set_string(&mut s.bind_addr, "APP_BIND_ADDR");
        s.redis_url = var("APP_REDIS_URL").or_else(|| var("REDIS_URL"));
        set_string(&mut s.redis_key_prefix, "APP_REDIS_KEY_PREFIX");
        set_string(&mut s.database_path, "APP_DATABASE_PATH");
        set_string(&mut s.rate_limit_policy, "APP_RATE_LIMIT_POLICY");
        set_parsed(&mut s.rate_limit, "APP_RATE_LIMIT")?;
        set_parsed(&mut s.rate_window_seconds, "APP_RATE_WINDOW_SECONDS")?;
        if let Some(raw) = var("APP_RATE_LIMIT_FAIL_OPEN") {
            s.rate_limit_fail_open = matches!(
                raw.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            );
        }
        set_string(&mut s.jwt_private_key_pem, "APP_JWT_PRIVATE_KEY_PEM");
        if let Some(path) = var("APP_JWT_PRIVATE_KEY_FILE") {
            s.jwt_private_key_pem = std::fs::read_to_string(&path)
                .map_err(|e| SettingsError(format!("APP_JWT_PRIVATE_KEY_FILE={path}: {e}")))?;
        }
        set_string(&mut s.jwt_issuer, "APP_JWT_ISSUER");
        set_string(&mut s.jwt_audience, "APP_JWT_AUDIENCE");
        set_parsed(&mut s.jwt_leeway_seconds, "APP_JWT_LEEWAY_SECONDS")?;
        set_parsed(
            &mut s.access_token_ttl_seconds,
            "APP_ACCESS_TOKEN_TTL_SECONDS",
        )?;
        set_parsed(
            &mut s.refresh_token_ttl_seconds,
            "APP_REFRESH_TOKEN_TTL_SECONDS",
        )?;
        set_parsed(&mut s.login_max_failures, "APP_LOGIN_MAX_FAILURES")?;
        set_parsed(
            &mut s.login_failure_window_seconds,
            "APP_LOGIN_FAILURE_WINDOW_SECONDS",
        )?;
        set_parsed(
            &mut s.request_timeout_seconds,
            "APP_REQUEST_TIMEOUT_SECONDS",
        )?;
        set_string(&mut s.log_level, "APP_LOG_LEVEL");
        Ok(s)
    }
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.is_empty())
}

fn set_string(field: &mut String, name: &str) {
    if let Some(value) = var(name) {
        *field = value;
    }
}

fn set_parsed<T: FromStr>(field: &mut T, name: &str) -> Result<(), SettingsError> {
    if let Some(raw) = var(name) {
        *field = raw
            .trim()
            .parse()
            .map_err(|_| SettingsError(format!("{name}={raw:?} is not a valid value")))?;
    }
    Ok(())
}
