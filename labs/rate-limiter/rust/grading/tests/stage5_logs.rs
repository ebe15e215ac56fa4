//! Stage `observability`: JSON logs with request ids and without secrets.
//!
//! This test has a test binary of its own on purpose: it installs a
//! thread-local `tracing` subscriber, and tracing caches per-callsite interest
//! globally, so other tests hitting the same callsites on other threads at the
//! same moment could make it miss the request span.

mod common;

use common::{Captured, FakeClock, PASSWORD, app, settings, unique};
use serde_json::{Value, json};

/// The request id of a log record, wherever the formatter put it: top level,
/// under `fields`, in the current `span`, or in any of the `spans`.
fn request_id_of(record: &Value) -> Option<&str> {
    let direct = [
        &record["request_id"],
        &record["fields"]["request_id"],
        &record["span"]["request_id"],
    ];
    direct.into_iter().find_map(Value::as_str).or_else(|| {
        record["spans"]
            .as_array()?
            .iter()
            .find_map(|s| s["request_id"].as_str())
    })
}

fn event_of(record: &Value) -> Option<&str> {
    record["event"]
        .as_str()
        .or_else(|| record["fields"]["event"].as_str())
}

#[tokio::test]
async fn json_logs_carry_request_id_and_no_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = service::observability::subscriber(move || writer.clone(), "info");
    // This test runs on one thread (tokio's current-thread runtime), so a
    // thread-local default catches every line the app logs.
    let guard = tracing::subscriber::set_default(subscriber);

    let clock = FakeClock::new();
    let client = app(settings(|_| {}), &clock, None);
    let username = unique("user");
    let credentials = json!({"username": username, "password": PASSWORD});
    client.post_json("/auth/register", &credentials).await;
    let tokens = client.post_json("/auth/login", &credentials).await.json();
    let wrong = json!({"username": username, "password": format!("wrong {PASSWORD}")});
    let failed = client
        .post_json_with(
            "/auth/login",
            &wrong,
            &[("x-request-id", "grading-failed-login-1")],
        )
        .await;
    assert_eq!(
        failed.header("x-request-id").as_deref(),
        Some("grading-failed-login-1"),
        "echo the request id"
    );
    let access = tokens["access_token"].as_str().unwrap_or("no-access-token");
    let refresh = tokens["refresh_token"]
        .as_str()
        .unwrap_or("no-refresh-token");
    let generated = client
        .get_with("/api/me", &[("authorization", &format!("Bearer {access}"))])
        .await;
    let generated_id = generated
        .header("x-request-id")
        .expect("every response carries a request id");

    // Ids a client invents are echoed and logged only when short and plain.
    for insane in [
        r#"x"}{"level":"ERROR","message":"<script>forged</script>"#.to_owned(),
        "a".repeat(300),
    ] {
        let answer = client
            .get_with("/api/ping", &[("x-request-id", &insane)])
            .await;
        let echoed = answer.header("x-request-id").unwrap_or_default();
        assert!(
            !echoed.is_empty() && echoed != insane,
            "a request id that is too long or has unsafe characters is replaced by a fresh \
             one, never echoed (nor logged): got {:?}",
            echoed.chars().take(40).collect::<String>()
        );
    }

    // Error paths: a reused refresh token, a revoked and a forged access token.
    let rotated = client
        .post_json("/auth/refresh", &json!({ "refresh_token": refresh }))
        .await
        .json();
    client
        .post_json("/auth/refresh", &json!({ "refresh_token": refresh }))
        .await;
    let rotated_access = rotated["access_token"]
        .as_str()
        .unwrap_or("no-rotated-access");
    let rotated_refresh = rotated["refresh_token"]
        .as_str()
        .unwrap_or("no-rotated-refresh");
    let forged = format!(
        "{}.{}",
        access.rsplit_once('.').map_or(access, |(head, _)| head),
        "Zm9yZ2VkLXNpZ25hdHVyZS1mb3ItZ3JhZGluZw"
    );
    for token in [rotated_access, forged.as_str()] {
        client
            .get_with("/api/me", &[("authorization", &format!("Bearer {token}"))])
            .await;
    }
    drop(guard);

    let text = captured.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "nothing was logged");
    let records: Vec<Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| {
                panic!(
                    "every log line must be one JSON object, got {:?}",
                    line.chars().take(80).collect::<String>()
                )
            })
        })
        .collect();
    let missing: Vec<&Value> = records
        .iter()
        .filter(|r| request_id_of(r).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "every record carries a request_id field; these do not: {missing:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| request_id_of(r) == Some("grading-failed-login-1")
                && event_of(r) == Some("login_failed")),
        "the failed login is logged (event=login_failed) with the caller's request id"
    );
    assert!(
        records
            .iter()
            .any(|r| event_of(r) == Some("login_succeeded")),
        "successful logins are logged"
    );
    assert!(
        records
            .iter()
            .any(|r| request_id_of(r) == Some(generated_id.as_str()))
    );

    assert!(
        !text.contains("<script>") && !text.contains(&"a".repeat(100)),
        "a request id that was not accepted must not reach the logs either"
    );
    for (what, secret) in [
        ("the password", PASSWORD),
        ("an access token", access),
        ("a refresh token", refresh),
        ("a reused refresh token's successor", rotated_refresh),
        ("a revoked access token", rotated_access),
        ("a forged access token", forged.as_str()),
    ] {
        assert!(
            !text.contains(secret),
            "{what} was logged: passwords and tokens must never be logged, on error paths \
             least of all"
        );
    }
    let signature = access.rsplit('.').next().unwrap_or(access);
    assert!(!text.contains(signature), "not even a token's signature");
}
