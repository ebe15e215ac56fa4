//! Stage `auth`: argon2id, pinned JWT verification, refresh rotation, logout, login throttling.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{
    app, keys, login, me, register, settings, unique, Client, FakeClock, AUDIENCE, ISSUER, PASSWORD,
};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};
use service::passwords;
use service::Clock;

/// OWASP Password Storage Cheat Sheet: argon2id rows of (memory KiB, iterations), p=1.
const OWASP_ARGON2ID: [(u64, u64); 5] = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)];

/// Claims as the app would issue them at `now`, with overrides (`Value::Null` removes a claim).
fn claims_at(now: f64, overrides: &[(&str, Value)]) -> Value {
    let now = now as i64;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(ISSUER));
    claims.insert("aud".into(), json!(AUDIENCE));
    claims.insert("sub".into(), json!("grader"));
    claims.insert("jti".into(), json!(unique("jti")));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now + 300));
    for (name, value) in overrides {
        if value.is_null() {
            claims.remove(*name);
        } else {
            claims.insert((*name).into(), value.clone());
        }
    }
    Value::Object(claims)
}

fn rs256(claims: &Value, private_pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("grading key");
    encode(&Header::new(Algorithm::RS256), claims, &key).expect("signing works")
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

#[test]
fn password_hashes_are_argon2id_at_owasp_strength() {
    let encoded = passwords::hash_password(PASSWORD).expect("hashing works");
    // $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
    let parts: Vec<&str> = encoded.split('$').collect();
    assert!(
        parts.len() == 6 && parts[0].is_empty(),
        "expected a PHC-format argon2 hash, got {encoded:?}"
    );
    assert_eq!(
        parts[1], "argon2id",
        "OWASP asks for argon2id, got {}",
        parts[1]
    );
    assert_eq!(parts[2], "v=19");
    let params: std::collections::HashMap<&str, u64> = parts[3]
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, v.parse().unwrap_or(0)))
        .collect();
    let (memory, iterations, lanes) = (params["m"], params["t"], params["p"]);
    assert!(lanes >= 1);
    assert!(
        OWASP_ARGON2ID.iter().any(|&(m, t)| memory >= m && iterations >= t),
        "m={memory} KiB, t={iterations} is below every OWASP argon2id row (e.g. at least m=19456 KiB with t=2)"
    );
    assert!(passwords::verify_password(Some(&encoded), PASSWORD));
    assert!(!passwords::verify_password(
        Some(&encoded),
        "correct horse battery staple 43"
    ));
    assert!(
        !passwords::verify_password(None, "anything"),
        "no stored hash never verifies"
    );
}

fn alg_none(now: f64) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    format!(
        "{header}.{}.",
        b64(claims_at(now, &[]).to_string().as_bytes())
    )
}

/// The classic confusion attack: HMAC "signed" with the server's public RSA key.
fn hs256_keyed_with_rsa_public_key(now: f64) -> String {
    let key = EncodingKey::from_secret(keys::SIGNING_PUBLIC_KEY_PEM.as_bytes());
    encode(&Header::new(Algorithm::HS256), &claims_at(now, &[]), &key).expect("HMAC signing works")
}

#[tokio::test]
async fn jwt_forgeries_are_rejected() {
    let clock = FakeClock::new();
    let client = app(settings(|_| {}), &clock, None);
    let now = clock.now();
    let genuine = rs256(&claims_at(now, &[]), keys::SIGNING_KEY_PEM);
    assert_eq!(
        me(&client, &genuine).await,
        StatusCode::OK,
        "a correctly signed RS256 token must be accepted"
    );
    let forgeries = [
        ("alg_none", alg_none(now)),
        (
            "hs256_keyed_with_rsa_public_key",
            hs256_keyed_with_rsa_public_key(now),
        ),
        (
            "rs256_signed_by_foreign_key",
            rs256(&claims_at(now, &[]), keys::FOREIGN_KEY_PEM),
        ),
    ];
    for (name, forged) in forgeries {
        let response = client
            .get_with("/api/me", &[("authorization", &format!("Bearer {forged}"))])
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{name}: accept only RS256 with our key; never trust the header's alg"
        );
        let challenge = response
            .header("www-authenticate")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            challenge.starts_with("bearer"),
            "{name}: a 401 names its scheme in WWW-Authenticate"
        );
    }
}

#[tokio::test]
async fn jwt_claims_checked_against_injected_clock() {
    let clock = FakeClock::new();
    let client = app(settings(|_| {}), &clock, None);
    let now = clock.now();
    let at = |delta: i64| json!(now as i64 + delta);
    // Leeway must be small but non-zero: 5 s late is tolerated, 61 s late never is.
    let cases: [(&str, Vec<(&str, Value)>, StatusCode); 8] = [
        ("valid", vec![], StatusCode::OK),
        (
            "expired_within_leeway",
            vec![("exp", at(-5))],
            StatusCode::OK,
        ),
        (
            "expired_beyond_leeway",
            vec![("exp", at(-61))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "not_yet_valid",
            vec![("nbf", at(61))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "issued_in_future",
            vec![("iat", at(3600)), ("nbf", Value::Null)],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "missing_exp",
            vec![("exp", Value::Null)],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong_audience",
            vec![("aud", json!("someone-else"))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong_issuer",
            vec![("iss", json!("https://evil.example"))],
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (case, overrides, expected) in cases {
        let token = rs256(&claims_at(now, &overrides), keys::SIGNING_KEY_PEM);
        assert_eq!(
            me(&client, &token).await,
            expected,
            "{case}: times are judged by the injected clock (now={now:.0}), with a small leeway"
        );
    }
}

async fn fresh_user(
    tweak: impl FnOnce(&mut service::Settings),
) -> (Client, String, Arc<FakeClock>) {
    let clock = FakeClock::new();
    let client = app(settings(tweak), &clock, None);
    let username = register(&client).await;
    (client, username, clock)
}

async fn tokens(client: &Client, username: &str) -> (String, String) {
    let answer = login(client, username, PASSWORD).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "login failed: {}",
        answer.text()
    );
    let body = answer.json();
    let access = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    (access, refresh)
}

async fn refresh(client: &Client, token: &str) -> common::Answer {
    client
        .post_json("/auth/refresh", &json!({ "refresh_token": token }))
        .await
}

#[tokio::test]
async fn refresh_token_rotates_and_is_single_use() {
    let (client, username, _) = fresh_user(|_| {}).await;
    let (access, first) = tokens(&client, &username).await;
    assert_eq!(me(&client, &access).await, StatusCode::OK);

    let rotated = refresh(&client, &first).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let second = rotated.json();
    assert_ne!(
        second["refresh_token"].as_str(),
        Some(first.as_str()),
        "refresh must rotate the token"
    );
    assert_eq!(
        me(
            &client,
            second["access_token"].as_str().expect("access_token")
        )
        .await,
        StatusCode::OK
    );

    assert_eq!(
        refresh(&client, &first).await.status,
        StatusCode::UNAUTHORIZED,
        "a refresh token works once"
    );
    assert_eq!(
        refresh(&client, "not-a-token").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_family() {
    let (client, username, _) = fresh_user(|_| {}).await;
    let (_, stolen) = tokens(&client, &username).await;
    let (_, other_session) = tokens(&client, &username).await;

    let legit = refresh(&client, &stolen).await.json();
    assert_eq!(
        refresh(&client, &stolen).await.status,
        StatusCode::UNAUTHORIZED
    );

    // RFC 9700: reuse means theft; every token of that family is now dead...
    let legit_refresh = legit["refresh_token"].as_str().unwrap_or("rotation failed");
    assert_eq!(
        refresh(&client, legit_refresh).await.status,
        StatusCode::UNAUTHORIZED,
        "reuse of a rotated token must revoke its whole family"
    );
    // ...but other sessions of the same user are not.
    assert_eq!(
        refresh(&client, &other_session).await.status,
        StatusCode::OK,
        "only the compromised family is revoked"
    );
}

#[tokio::test]
async fn logout_denylists_only_that_token() {
    let (client, username, _) = fresh_user(|_| {}).await;
    let (one, _) = tokens(&client, &username).await;
    let (two, _) = tokens(&client, &username).await;

    let logout = client
        .post_with(
            "/auth/logout",
            &[("authorization", &format!("Bearer {one}"))],
        )
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert_eq!(
        me(&client, &one).await,
        StatusCode::UNAUTHORIZED,
        "a logged-out access token must stop working before its exp"
    );
    assert_eq!(
        me(&client, &two).await,
        StatusCode::OK,
        "logging out one session leaves the others alone"
    );
}

fn comparable(answer: &common::Answer) -> (StatusCode, Value, Vec<(String, String)>) {
    let volatile = ["date", "x-request-id", "content-length"];
    let mut headers: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(k, _)| !volatile.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    headers.sort();
    (answer.status, answer.json(), headers)
}

#[tokio::test]
async fn login_failure_is_identical_for_unknown_user_and_wrong_password() {
    let (client, username, _) = fresh_user(|_| {}).await;
    let wrong_password = login(&client, &username, "not the password at all").await;
    let unknown_user = login(&client, &unique("ghost"), "not the password at all").await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        comparable(&wrong_password),
        comparable(&unknown_user),
        "status, body and headers must not reveal whether the account exists"
    );
}

#[tokio::test]
async fn login_throttle_is_per_account_across_ips() {
    let (client, username, clock) = fresh_user(|s| {
        s.login_max_failures = 5;
        s.login_failure_window_seconds = 900;
    })
    .await;
    let clients: Vec<Client> = (1..=7)
        .map(|n| client.from_addr(&format!("198.51.100.{n}:{}", 1000 + n)))
        .collect();

    for attacker in &clients[..5] {
        // five failures, each from a different address
        assert_eq!(
            login(attacker, &username, "wrong password guess")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let blocked = login(&clients[5], &username, PASSWORD).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "after 5 failures the account is throttled for everyone, even with the right password"
    );
    let retry = blocked.header("retry-after").unwrap_or_default();
    assert!(
        !retry.is_empty() && retry.bytes().all(|b| b.is_ascii_digit()),
        "say when to retry, got {retry:?}"
    );

    let ghost = unique("ghost");
    for attacker in &clients[..5] {
        login(attacker, &ghost, "wrong password guess").await;
    }
    assert_eq!(
        login(&clients[5], &ghost, "xxxxxxxxxxxx").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "unknown accounts are throttled the same way, or throttling reveals which exist"
    );

    clock.advance(901.0); // the failures age out of the window
    assert_eq!(
        login(&clients[6], &username, PASSWORD).await.status,
        StatusCode::OK
    );
}
