//! Stage `http-contract`: 429 + Retry-After, RateLimit fields (draft -10), problem+json, health.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::StatusCode;
use common::{Answer, FakeClock, app, down_store, parse_list, settings};
use service::Clock;

/// The app's window in these tests; the FakeClock starts 40 s into one.
const WINDOW: u64 = 60;

fn seconds_left(clock: &Arc<FakeClock>) -> i64 {
    (WINDOW as f64 - clock.now() % WINDOW as f64).ceil() as i64
}

fn limited(limit: u64) -> service::Settings {
    settings(|s| {
        s.rate_limit = limit;
        s.rate_window_seconds = WINDOW;
    })
}

fn is_delay_seconds(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test]
async fn over_limit_returns_429_with_retry_after_seconds() {
    let clock = FakeClock::new();
    clock.advance(0.25); // 19.75 s left in the window: times sent to clients must round up
    let client = app(limited(3), &clock, None);
    for n in 0..3 {
        assert_eq!(
            client.get("/api/ping").await.status,
            StatusCode::OK,
            "request {n} is within the limit"
        );
    }

    let rejected = client.get("/api/ping").await;
    assert_eq!(
        rejected.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the 4th request within the window must get 429 (RFC 6585)"
    );
    let retry_after = rejected
        .header("retry-after")
        .expect("a 429 must say when to come back");
    assert!(
        is_delay_seconds(&retry_after),
        "Retry-After must be delay-seconds, got {retry_after:?}"
    );
    let retry_after: i64 = retry_after.parse().expect("digits");
    assert_eq!(
        retry_after,
        seconds_left(&clock),
        "Retry-After must be the time left in the window, rounded up (never early)"
    );

    let limit = parse_list(&rejected, "RateLimit");
    assert_eq!(limit[0].int("r"), Some(0), "nothing remains");
    let reset = limit[0].int("t").expect("RateLimit carries t on a 429");
    assert!(
        retry_after >= reset,
        "Retry-After must not point earlier than the RateLimit reset `t`"
    );
}

#[tokio::test]
async fn ratelimit_policy_field_is_a_structured_list() {
    let clock = FakeClock::new();
    let client = app(limited(7), &clock, None);
    let response = client.get("/api/ping").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.header("RateLimit-Limit").is_none(),
        "RateLimit-Limit belongs to drafts <= -06"
    );

    let policies = parse_list(&response, "RateLimit-Policy");
    let names: HashSet<_> = policies.iter().map(|m| m.name.clone()).collect();
    assert_eq!(names.len(), policies.len(), "policy names must be unique");
    assert!(
        policies
            .iter()
            .any(|p| p.int("q") == Some(7) && p.int("w") == Some(WINDOW as i64)),
        "expected a policy with q=7;w={WINDOW}, got {:?}",
        response.header("RateLimit-Policy")
    );
    for policy in &policies {
        let q = policy
            .int("q")
            .expect("q is a required integer (booleans and decimals do not count)");
        assert!(q >= 0, "q is a non-negative integer");
        if policy.params.contains_key("w") {
            assert!(
                policy.int("w").is_some_and(|w| w > 0),
                "w is a positive integer"
            );
        }
    }
}

fn declared(response: &Answer) -> HashSet<String> {
    parse_list(response, "RateLimit-Policy")
        .into_iter()
        .map(|m| m.name)
        .collect()
}

#[tokio::test]
async fn ratelimit_field_counts_down_and_names_a_declared_policy() {
    let clock = FakeClock::new();
    clock.advance(0.25); // 19.75 s left in the window
    let client = app(limited(3), &clock, None);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = client.get("/api/ping").await;
        let members = parse_list(&response, "RateLimit");
        assert_eq!(members.len(), 1, "one RateLimit member for the one policy");
        let member = &members[0];
        assert!(
            declared(&response).contains(&member.name),
            "RateLimit must name a policy from RateLimit-Policy"
        );
        let r = member
            .int("r")
            .expect("r (remaining) is a required integer");
        assert_eq!(
            member.int("t"),
            Some(seconds_left(&clock)),
            "t is the seconds until the window resets, rounded up to a whole number"
        );
        remaining.push(r);
    }
    assert_eq!(
        remaining,
        [2, 1, 0],
        "r must count down with every admitted request"
    );

    clock.advance(seconds_left(&clock) as f64); // next window
    let members = parse_list(&client.get("/api/ping").await, "RateLimit");
    assert_eq!(members[0].int("r"), Some(2));
    assert_eq!(members[0].int("t"), Some(WINDOW as i64));
}

#[tokio::test]
async fn ratelimit_fields_on_every_api_response_kind() {
    let clock = FakeClock::new();
    let client = app(limited(3), &clock, None);
    let answers = [
        ("200 from /api/ping", client.get("/api/ping").await),
        (
            "401 from /api/me without a token",
            client.get("/api/me").await,
        ),
        (
            "200 from /api/items/{item_id}",
            client.get("/api/items/7").await,
        ),
        ("429 once the quota is spent", client.get("/api/ping").await),
    ];
    let statuses: Vec<u16> = answers.iter().map(|(_, a)| a.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [200, 401, 200, 429],
        "statuses of {:?}",
        answers.map(|a| a.0)
    );
    let mut remaining = Vec::new();
    for (kind, answer) in &answers {
        for field in ["RateLimit-Policy", "RateLimit"] {
            assert!(
                answer.header(field).is_some(),
                "{kind}: every /api/* response carries {field}, whatever its status"
            );
        }
        let policies = parse_list(answer, "RateLimit-Policy");
        assert!(
            policies.iter().any(|p| p.int("q") == Some(3)),
            "{kind}: RateLimit-Policy announces the quota (q=3)"
        );
        let limit = parse_list(answer, "RateLimit");
        assert!(
            declared(answer).contains(&limit[0].name),
            "{kind}: RateLimit must name a policy from RateLimit-Policy"
        );
        remaining.push(limit[0].int("r"));
    }
    assert_eq!(
        remaining,
        [Some(2), Some(1), Some(0), Some(0)],
        "every request under /api/ counts, whatever its answer"
    );
}

#[tokio::test]
async fn limit_keys_on_the_peer_address_not_forwarded_headers() {
    let clock = FakeClock::new();
    let client = app(limited(1), &clock, None);
    assert_eq!(client.get("/api/ping").await.status, StatusCode::OK);
    for (header, value) in [
        ("x-forwarded-for", "198.51.100.77"),
        ("forwarded", "for=198.51.100.78"),
        ("x-real-ip", "198.51.100.79"),
    ] {
        assert_eq!(
            client
                .get_with("/api/ping", &[(header, value)])
                .await
                .status,
            StatusCode::TOO_MANY_REQUESTS,
            "{header}: any client can send it, so a limit keyed on it is escaped by changing it \
             on every request; key on the peer address (no trusted proxy is configured)"
        );
    }
    let neighbour = client.from_addr("203.0.113.99:5555");
    assert_eq!(
        neighbour.get("/api/ping").await.status,
        StatusCode::OK,
        "another client address has a quota of its own"
    );
}

#[tokio::test]
async fn rejection_body_is_problem_json() {
    let clock = FakeClock::new();
    let client = app(limited(1), &clock, None);
    client.get("/api/ping").await;
    let rejected = client.get("/api/ping").await;
    assert_eq!(rejected.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        rejected.media_type(),
        "application/problem+json",
        "errors are RFC 9457 problem details"
    );
    let body = rejected.json();
    assert_eq!(
        body["status"], 429,
        "the problem's status member must match the response"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "a problem needs a title"
    );
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "a problem needs a type URI"
    );
}

#[tokio::test]
async fn liveness_ignores_redis_but_readiness_needs_it() {
    let clock = FakeClock::new();
    let healthy = app(settings(|_| {}), &clock, None);
    assert_eq!(healthy.get("/livez").await.status, StatusCode::OK);
    assert_eq!(
        healthy.get("/readyz").await.status,
        StatusCode::OK,
        "no Redis configured and the store is fine: ready"
    );

    let degraded = app(settings(|_| {}), &clock, Some(down_store()));
    assert_eq!(
        degraded.get("/livez").await.status,
        StatusCode::OK,
        "liveness must not depend on Redis, or an outage restarts every instance"
    );
    let not_ready = degraded.get("/readyz").await;
    assert_eq!(
        not_ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "readiness must fail while Redis is unreachable"
    );
    assert_eq!(not_ready.media_type(), "application/problem+json");
}

#[tokio::test]
async fn health_and_metrics_are_never_rate_limited() {
    let clock = FakeClock::new();
    let client = app(limited(1), &clock, None);
    client.get("/api/ping").await;
    assert_eq!(
        client.get("/api/ping").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the limiter must be active on /api/*"
    );
    for path in ["/livez", "/readyz", "/metrics"] {
        for _ in 0..3 {
            assert_eq!(
                client.get(path).await.status,
                StatusCode::OK,
                "{path} must bypass rate limiting"
            );
        }
    }
}
