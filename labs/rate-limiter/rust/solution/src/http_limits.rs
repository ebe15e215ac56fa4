//! The HTTP face of rate limiting.
//!
//! Pinned to draft-ietf-httpapi-ratelimit-headers-10: a `RateLimit-Policy`
//! field (`"name";q=<quota>;w=<window seconds>`) and a `RateLimit` field
//! (`"name";r=<remaining>;t=<seconds until reset>`), both Structured Field
//! lists (RFC 9651). Rejections are 429 (RFC 6585) with `Retry-After` in
//! delay-seconds (RFC 9110) and an RFC 9457 problem body.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::error;

use crate::app::SharedState;
use crate::distributed::{LimiterUnavailable, SharedLimiter};
use crate::problems::Problem;
use crate::ratelimit::{Decision, FixedWindow, RateLimiter};

/// Only paths under this prefix are rate limited.
pub const LIMITED_PREFIX: &str = "/api/";
/// The problem type of a 429 (IANA HTTP problem types registry).
pub const QUOTA_EXCEEDED: &str = "https://iana.org/assignments/http-problem-types#quota-exceeded";

/// A named quota, as announced in `RateLimit-Policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name: `[a-z][a-z0-9_-]{0,31}`, so it needs no escaping.
    pub name: String,
    /// Requests per window (`q`).
    pub limit: u64,
    /// Window length in seconds (`w`).
    pub window_seconds: u64,
}

impl Policy {
    /// A policy, or an error when the name is outside the safe alphabet.
    pub fn new(name: &str, limit: u64, window_seconds: u64) -> Result<Self, String> {
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !first_ok || !rest_ok || name.len() > 32 {
            return Err(format!("invalid policy name {name:?}"));
        }
        if limit == 0 || window_seconds == 0 {
            return Err("rate limit and window must be positive".into());
        }
        Ok(Self {
            name: name.to_owned(),
            limit,
            window_seconds,
        })
    }
}

/// The `RateLimit-Policy` field value, e.g. `"default";q=60;w=60`.
pub fn policy_field(policy: &Policy) -> String {
    format!(
        "\"{}\";q={};w={}",
        policy.name, policy.limit, policy.window_seconds
    )
}

/// The `RateLimit` field value, e.g. `"default";r=41;t=17`.
pub fn ratelimit_field(policy: &Policy, decision: &Decision) -> String {
    let reset = decision.reset_after.max(0.0).ceil() as u64;
    format!("\"{}\";r={};t={}", policy.name, decision.remaining, reset)
}

/// `Retry-After` in delay-seconds, rounded up so clients never come back early.
pub fn retry_after_seconds(decision: &Decision) -> u64 {
    (decision.retry_after.ceil() as u64).max(1)
}

/// Which limiter the service uses.
pub enum Limiter {
    /// Per-process counters: right for one instance, wrong behind a load balancer.
    Local(FixedWindow),
    /// Counters in a store shared by every instance.
    Shared(SharedLimiter),
}

impl Limiter {
    /// One hit of cost 1 on `key`.
    pub async fn hit(&self, key: &str) -> Result<Decision, LimiterUnavailable> {
        match self {
            Self::Local(limiter) => Ok(limiter.hit(key, 1)),
            Self::Shared(limiter) => limiter.hit(key, 1).await,
        }
    }
}

/// The key a request is counted under: its client address.
pub fn client_key(request: &Request) -> String {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    match address {
        Some(ip) => format!("ip:{ip}"),
        None => "ip:unknown".into(),
    }
}

/// Middleware: enforce the policy on `/api/*`, announcing it on every answer.
pub async fn enforce_rate_limit(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with(LIMITED_PREFIX) {
        return next.run(request).await;
    }
    let decision = match state.limiter.hit(&client_key(&request)).await {
        Ok(decision) => decision,
        Err(error) => return limiter_down(&state, error, request, next).await,
    };
    let policy = &state.policy;
    let fields = [
        (
            HeaderName::from_static("ratelimit-policy"),
            policy_field(policy),
        ),
        (
            HeaderName::from_static("ratelimit"),
            ratelimit_field(policy, &decision),
        ),
    ];
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        state.metrics.record_rejection(&policy.name);
        reject(policy, &decision)
    };
    for (name, value) in fields {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The 429 problem for a denied request.
fn reject(policy: &Policy, decision: &Decision) -> Response {
    Problem::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
        .type_uri(QUOTA_EXCEEDED)
        .detail(&format!("Quota of policy {:?} exhausted.", policy.name))
        .extension("violated-policies", json!([policy.name]))
        .header(RETRY_AFTER, &retry_after_seconds(decision).to_string())
        .into_response()
}

/// The limiter's backend is down: fail closed (503) unless configured to fail open.
async fn limiter_down(
    state: &SharedState,
    error: LimiterUnavailable,
    request: Request,
    next: Next,
) -> Response {
    error!(event = "limiter_unavailable", error = %error, "rate limiter unavailable");
    state.metrics.record_limiter_error();
    if state.settings.rate_limit_fail_open {
        return next.run(request).await;
    }
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Rate limiter unavailable")
        .detail("The request was not processed; try again shortly.")
        .header(RETRY_AFTER, "1")
        .into_response()
}
