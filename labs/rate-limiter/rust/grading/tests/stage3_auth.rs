//! Stage `auth`: argon2id, pinned JWT verification, refresh rotation, logout, login throttling.

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    AUDIENCE, Client, FakeClock, ISSUER, PASSWORD, app, keys, login, me, register, settings, unique,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Map, Value, json};
use service::Clock;
use service::auth::AuthService;
use service::passwords;
use service::store::Store;
use service::tokens::TokenService;

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
        OWASP_ARGON2ID
            .iter()
            .any(|&(m, t)| memory >= m && iterations >= t),
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
    let key = EncodingKey::from_secret(keys::signing_public_key_pem().as_bytes());
    encode(&Header::new(Algorithm::HS256), &claims_at(now, &[]), &key).expect("HMAC signing works")
}

#[tokio::test]
async fn jwt_forgeries_are_rejected() {
    let clock = FakeClock::new();
    let client = app(settings(|_| {}), &clock, None);
    let now = clock.now();
    let genuine = rs256(&claims_at(now, &[]), keys::signing_key_pem());
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
            rs256(&claims_at(now, &[]), keys::foreign_key_pem()),
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
        let token = rs256(&claims_at(now, &overrides), keys::signing_key_pem());
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
    let (stolen_access, stolen) = tokens(&client, &username).await;
    let (other_access, other_session) = tokens(&client, &username).await;

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
    let legit_access = legit["access_token"].as_str().unwrap_or("rotation failed");
    for (which, access) in [
        ("rotated", legit_access),
        ("original", stolen_access.as_str()),
    ] {
        assert_eq!(
            me(&client, access).await,
            StatusCode::UNAUTHORIZED,
            "the {which} access token of a revoked family must stop working too, before its exp"
        );
    }
    assert_eq!(me(&client, &other_access).await, StatusCode::OK);
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
    let (one, one_refresh) = tokens(&client, &username).await;
    let (two, two_refresh) = tokens(&client, &username).await;

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
    assert_eq!(
        refresh(&client, &one_refresh).await.status,
        StatusCode::UNAUTHORIZED,
        "logout ends the session: its refresh token must not mint new access tokens"
    );
    assert_eq!(
        refresh(&client, &two_refresh).await.status,
        StatusCode::OK,
        "the other session's refresh token still works"
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
    // No throttling in the way: this test counts time, not failures.
    let (client, username, _) = fresh_user(|s| s.login_max_failures = 100).await;
    let wrong_password = login(&client, &username, "not the password at all").await;
    let unknown_user = login(&client, &unique("ghost"), "not the password at all").await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        comparable(&wrong_password),
        comparable(&unknown_user),
        "status, body and headers must not reveal whether the account exists"
    );

    // Nor may the time it takes. Five of each, interleaved so both see the same
    // load; medians, so one slow moment decides nothing. Password hashing is
    // orders of magnitude slower than a map lookup, so a factor of 5 is slack.
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let started = Instant::now();
        login(&client, &username, "not the password at all").await;
        wrong.push(started.elapsed());
        let started = Instant::now();
        login(&client, &unique("ghost"), "not the password at all").await;
        unknown.push(started.elapsed());
    }
    wrong.sort();
    unknown.sort();
    let (wrong, unknown) = (wrong[2], unknown[2]);
    assert!(
        unknown * 5 >= wrong,
        "a failed login for an unknown user took {unknown:?} (median), one with a wrong \
         password {wrong:?}: the difference tells an attacker which accounts exist. Spend the \
         same work either way (verify against a dummy hash of the same cost)"
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

    clock.advance(0.5);
    for (n, attacker) in clients[..5].iter().enumerate() {
        // five failures, each from a different address, 10 s apart
        if n > 0 {
            clock.advance(10.0);
        }
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
    clock.advance(0.25);
    let blocked = login(&clients[5], &username, PASSWORD).await;
    let retry = blocked.header("retry-after").unwrap_or_default();
    assert!(
        !retry.is_empty() && retry.bytes().all(|b| b.is_ascii_digit()),
        "say when to retry, got {retry:?}"
    );
    // The first failure leaves the 900 s window 900 - 40.25 s from now: 860, rounded up.
    assert_eq!(
        retry, "860",
        "Retry-After is when the oldest failure that keeps the account locked leaves the \
         window, rounded up to whole seconds"
    );

    // The lock is on that account only: another account, from the very addresses the
    // failures came from, still logs in.
    let neighbour = unique("user");
    let created = clients[0]
        .post_json(
            "/auth/register",
            &json!({ "username": neighbour, "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "a second account with another name must register: {}",
        created.text()
    );
    for attacker in &clients[..5] {
        assert_eq!(
            login(attacker, &neighbour, PASSWORD).await.status,
            StatusCode::OK,
            "failures on one account must not throttle another: the failure count is per account"
        );
    }

    let ghost = unique("ghost");
    for attacker in &clients[..5] {
        login(attacker, &ghost, "wrong password guess").await;
    }
    assert_eq!(
        login(&clients[5], &ghost, "xxxxxxxxxxxx").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "unknown accounts are throttled the same way, or throttling reveals which exist"
    );

    clock.advance(859.0);
    assert_eq!(
        login(&clients[6], &username, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a second before Retry-After the account is still locked"
    );
    clock.advance(1.0); // the oldest failure has aged out of the window
    assert_eq!(
        login(&clients[6], &username, PASSWORD).await.status,
        StatusCode::OK,
        "at Retry-After the right password works again"
    );
}

/// The auth service on its own, with a store the test can inspect.
fn auth_service(
    clock: Arc<dyn Clock>,
    tweak: impl FnOnce(&mut service::Settings),
) -> (Arc<Store>, AuthService) {
    let settings = settings(tweak);
    let store = Arc::new(Store::new());
    let tokens = TokenService::new(&settings, clock.clone()).expect("the grading key loads");
    (
        store.clone(),
        AuthService::new(store, tokens, clock, settings),
    )
}

#[tokio::test]
async fn refresh_tokens_are_stored_hashed_and_expire() {
    let clock = FakeClock::new();
    let (store, auth) = auth_service(clock.clone(), |s| {
        s.access_token_ttl_seconds = 900;
        s.refresh_token_ttl_seconds = 3600;
    });
    let name = unique("user");
    assert!(auth.register(&name, PASSWORD).await, "registration failed");
    let first = auth.login(&name, PASSWORD).await.expect("login works");
    assert!(
        store.refresh_token(&first.refresh_token).is_none(),
        "the store must hold a digest of each refresh token (e.g. SHA-256), never the token \
         itself: a leaked table must not be a pile of live sessions"
    );

    clock.advance(1000.0); // the access token (900 s) has expired, the refresh token (3600 s) has not
    assert!(
        auth.authenticate(&first.access_token).is_err(),
        "an access token expires access_token_ttl_seconds (900 s) after it was issued, by the \
         injected clock"
    );
    let second = auth.refresh(&first.refresh_token).unwrap_or_else(|_| {
        panic!(
            "a refresh token is valid for refresh_token_ttl_seconds (3600 s), even after its \
             access token (900 s) expired"
        )
    });
    assert!(
        store.refresh_token(&second.refresh_token).is_none(),
        "rotated refresh tokens are stored as digests too"
    );

    clock.advance(3601.0);
    assert!(
        auth.refresh(&second.refresh_token).is_err(),
        "a refresh token must be refused once refresh_token_ttl_seconds have passed since it \
         was issued"
    );
}

/// PASSWORD hashed below every OWASP argon2id row: as the starter did (argon2i,
/// m=8 MiB, t=1), then argon2id with too little memory, then with too few passes.
const WEAK_HASHES: [&str; 3] = [
    "$argon2i$v=19$m=8192,t=1,p=1$Y3BUCTJdEhXY6sjf5cVf5g$dAjqPdJWOkeXMQtUu6GxhO6N9doVEPQ8qyI8p/VhFf0",
    "$argon2id$v=19$m=8192,t=2,p=1$00Za62G8luZCvS1iYqrQPg$kl5kHNC9AdEa0s5cdQbnNjGspXJ3/CQdZCFm6JhXN2Q",
    "$argon2id$v=19$m=19456,t=1,p=1$lxstOFLAM9Ez/GdxxzMuOg$3ypmHHw/HWCvh27+T9zQQ3ywv21qTDE6IRLhQAKDHEM",
];

#[tokio::test]
async fn weak_password_hashes_are_upgraded_at_login() {
    let clock = FakeClock::new();
    let (store, auth) = auth_service(clock, |_| {});
    for weak in WEAK_HASHES {
        let name = unique("user");
        assert!(store.create_user(&name, weak), "a fresh account");
        auth.login(&name, PASSWORD)
            .await
            .expect("the password matches the hash stored before the upgrade");
        let upgraded = store
            .password_hash(&name)
            .expect("the account still exists");
        assert!(
            upgraded.starts_with("$argon2id$") && upgraded != weak,
            "a hash made with weaker settings than today's ({weak:?}) must be re-hashed with \
             today's at the next successful login, when the password is at hand; still stored: \
             {upgraded:?}"
        );
        assert!(passwords::verify_password(Some(&upgraded), PASSWORD));
        auth.login(&name, PASSWORD).await.expect("login works");
        assert_eq!(
            store.password_hash(&name).as_deref(),
            Some(upgraded.as_str()),
            "a hash already at today's settings is kept as it is"
        );
    }
}

/// A clock whose first `n` readings after `arm(n)` wait for each other (at
/// most 2 s), so `n` threads stand between the same two steps at once.
struct GateClock {
    gate: Mutex<(usize, usize)>, // (readings to hold, readings arrived)
    opened: Condvar,
}

impl GateClock {
    fn arm(&self, readings: usize) {
        *self.gate.lock().expect("gate") = (readings, 0);
    }
}

impl Clock for GateClock {
    fn now(&self) -> f64 {
        let mut gate = self.gate.lock().expect("gate");
        if gate.1 < gate.0 {
            gate.1 += 1;
            let deadline = Instant::now() + Duration::from_secs(2);
            while gate.1 < gate.0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                gate = self.opened.wait_timeout(gate, left).expect("gate").0;
            }
            self.opened.notify_all();
        }
        common::START
    }
}

#[test]
fn refresh_token_single_use_holds_under_concurrency() {
    let clock = Arc::new(GateClock {
        gate: Mutex::new((0, 0)),
        opened: Condvar::new(),
    });
    let (_, auth) = auth_service(clock.clone(), |_| {});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let name = unique("user");
    let pair = runtime.block_on(async {
        assert!(auth.register(&name, PASSWORD).await, "registration failed");
        auth.login(&name, PASSWORD).await.expect("login works")
    });

    // Both threads look the token up before either reads the clock again.
    clock.arm(2);
    let outcomes: Vec<bool> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| auth.refresh(&pair.refresh_token).is_ok()))
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().expect("refresh panicked"))
            .collect()
    });
    let winners = outcomes.iter().filter(|ok| **ok).count();
    assert_eq!(
        winners, 1,
        "two concurrent refreshes with one token: exactly one may succeed, {winners} did. \
         Deciding that the token is unused and claiming it must be one atomic step"
    );
}
