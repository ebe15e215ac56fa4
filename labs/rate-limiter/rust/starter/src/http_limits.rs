//! The HTTP face of rate limiting.
//!
//! Pinned to draft-ietf-httpapi-ratelimit-headers-10: a `RateLimit-Policy`
//! field (`"name";q=<quota>;w=<window seconds>`) and a `RateLimit` field
//! (`"name";r=<remaining>;t=<seconds until reset>`), both Structured Field
//! lists (RFC 9651). Rejections are 429 (RFC 6585) with `Retry-After` in
//! delay-seconds (RFC 9110) and an RFC 9457 problem body.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::SharedState;
use crate::distributed::{LimiterUnavailable, SharedLimiter};
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
    // TODO(lab:http-contract): serialise the policy as a Structured Field list item.
    let _ = policy;
    todo!("TODO(lab:http-contract): policy_field")
}

/// The `RateLimit` field value, e.g. `"default";r=41;t=17`.
pub fn ratelimit_field(policy: &Policy, decision: &Decision) -> String {
    // TODO(lab:http-contract): r = remaining, t = whole seconds until reset.
    let _ = (policy, decision);
    todo!("TODO(lab:http-contract): ratelimit_field")
}

/// `Retry-After` in delay-seconds.
pub fn retry_after_seconds(decision: &Decision) -> u64 {
    // TODO(lab:http-contract): Retry-After is delay-seconds: a whole number, never early.
    let _ = decision;
    todo!("TODO(lab:http-contract): retry_after_seconds")
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

/// Middleware: enforce the policy on `/api/*`.
pub async fn enforce_rate_limit(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    // TODO(lab:http-contract): for paths under LIMITED_PREFIX, ask state.limiter,
    // add the RateLimit-Policy and RateLimit fields to every answer, and reject with
    // 429 + Retry-After + a problem+json body (see problems.rs) when denied.
    // Count rejections with state.metrics.record_rejection(&state.policy.name).
    // TODO(lab:distributed): when the limiter answers LimiterUnavailable, respond
    // as README "When Redis is down" says (state.settings.rate_limit_fail_open decides).
    let _ = (&state, client_key(&request));
    next.run(request).await
}
