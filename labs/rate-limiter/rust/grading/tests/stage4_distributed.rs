//! Stage `distributed`: one limit shared through one store, atomically, with TTLs.
//!
//! These tests run your `RedisWindowStore` and its Lua script against the
//! Redis named by `REDIS_URL`, or, without it, against the suite's Redis
//! stand-in (see `backend/emulator.rs`). Every failure message names the
//! backend; the choice is also printed once on stderr.

mod backend;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use backend::{Backend, refusing_store};
use common::{Counting, FakeClock, app, down_store, settings, unique};
use futures_util::StreamExt;
use service::Clock;
use service::distributed::{LimiterUnavailable, MemoryWindowStore, SharedLimiter, WindowStore};

const WINDOW: u64 = 60;

fn limiter(
    store: Arc<dyn WindowStore>,
    clock: &Arc<FakeClock>,
    prefix: &str,
    limit: u64,
) -> SharedLimiter {
    let clock: Arc<dyn Clock> = clock.clone();
    SharedLimiter::new(store, limit, WINDOW, clock, prefix)
}

fn prefix() -> String {
    format!("{}:", unique("lab-grading:"))
}

async fn allowed(limiter: &SharedLimiter, key: &str) -> bool {
    match limiter.hit(key, 1).await {
        Ok(decision) => decision.allowed,
        Err(error) => panic!("the limiter failed: {error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_one_limit_under_concurrency() {
    let clock = FakeClock::new();
    let backend = Backend::from_env().await;
    let prefix = prefix();
    let config = settings(|s| {
        s.rate_limit = 10;
        s.rate_window_seconds = WINDOW;
        s.redis_key_prefix = prefix.clone();
    });
    // Two app instances, each with its own store (its own connection, for Redis).
    let instances = [
        app(config.clone(), &clock, Some(backend.store().await)),
        app(config, &clock, Some(backend.store().await)),
    ];
    let requests = 50;
    let barrier = Arc::new(tokio::sync::Barrier::new(requests));
    let tasks: Vec<_> = (0..requests)
        .map(|n| {
            let client = instances[n % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                client.get("/api/ping").await.status
            })
        })
        .collect();
    let mut ok = 0;
    let mut limited = 0;
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(60), task).await {
            Ok(Ok(StatusCode::OK)) => ok += 1,
            Ok(Ok(StatusCode::TOO_MANY_REQUESTS)) => limited += 1,
            other => panic!(
                "[{}] a request did not complete with 200 or 429: {other:?}",
                backend.describe()
            ),
        }
    }
    backend.cleanup(&prefix).await;
    assert!(
        ok == 10 && limited == 40,
        "[{}] two instances sharing one store must admit exactly the limit (10), got {ok} x 200 and {limited} x 429",
        backend.describe()
    );
}

/// Redis `MONITOR` lines for commands that mention `prefix`, and were sent by
/// a client rather than run inside a script, until `sentinel` shows up.
async fn direct_commands(
    monitor: &mut redis::aio::Monitor,
    prefix: &str,
    sentinel: &str,
) -> Vec<String> {
    let mut commands = Vec::new();
    let mut stream = monitor.on_message::<String>();
    let read = async {
        while let Some(line) = stream.next().await {
            if line.contains(sentinel) {
                break;
            }
            // 1712345678.123456 [0 127.0.0.1:50000] "EVALSHA" "..." / [0 lua] "GET" "..."
            let Some((client, command)) = line.split_once("] ") else {
                continue;
            };
            if client.ends_with(" lua") || !line.contains(prefix) {
                continue;
            }
            let name = command.split('"').nth(1).unwrap_or("").to_ascii_uppercase();
            commands.push(name);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("MONITOR saw the sentinel");
    commands
}

#[tokio::test]
async fn limiter_makes_one_atomic_script_call_per_hit() {
    let clock = FakeClock::new();
    let backend = Backend::from_env().await;
    let prefix = prefix();
    let mut monitor = match &backend {
        Backend::Real(url) => Some(
            redis::Client::open(url.as_str())
                .expect("REDIS_URL")
                .get_async_monitor()
                .await
                .expect("MONITOR on REDIS_URL"),
        ),
        Backend::Emulated(_) => None,
    };
    let counting = Arc::new(Counting {
        inner: backend.store().await,
        hits: AtomicUsize::new(0),
        pings: AtomicUsize::new(0),
    });
    let shared = limiter(counting.clone(), &clock, &prefix, 3);
    let mut decisions = Vec::new();
    for _ in 0..5 {
        decisions.push(allowed(&shared, "k").await);
    }
    assert_eq!(
        decisions,
        [true, true, true, false, false],
        "[{}]",
        backend.describe()
    );
    assert_eq!(
        counting.hits.load(Ordering::SeqCst),
        5,
        "[{}] one hit must be exactly one atomic WindowStore::hit_window call \
         (separate read and write calls race between instances)",
        backend.describe()
    );

    let commands = match (monitor.as_mut(), &backend) {
        (Some(monitor), Backend::Real(url)) => {
            let sentinel = format!("{prefix}monitor-sentinel");
            let mut connection = backend::raw_connection(url).await;
            let _: i64 = redis::cmd("EXISTS")
                .arg(&sentinel)
                .query_async(&mut connection)
                .await
                .expect("EXISTS");
            direct_commands(monitor, &prefix, &sentinel).await
        }
        (_, Backend::Emulated(emulator)) => emulator.commands_mentioning(&prefix),
        (None, Backend::Real(_)) => unreachable!("MONITOR is opened for a real Redis"),
    };
    let scripted = ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL"];
    let stray: Vec<_> = commands
        .iter()
        .filter(|c| !scripted.contains(&c.as_str()))
        .collect();
    assert!(
        stray.is_empty(),
        "[{}] {stray:?} sent outside a script: check-and-increment plus expiry must be one atomic \
         Lua script (separate INCR/EXPIRE can leave immortal keys or overshoot the limit)",
        backend.describe()
    );
    let runs = commands.len();
    assert!(
        (5..=6).contains(&runs),
        "[{}] expected one script call per hit (a NOSCRIPT retry aside), got {runs}",
        backend.describe()
    );
    backend.cleanup(&prefix).await;
}

#[tokio::test]
async fn every_limiter_key_expires_with_its_window() {
    let clock = FakeClock::new();
    let backend = Backend::from_env().await;
    let prefix = prefix();
    let shared = limiter(backend.store().await, &clock, &prefix, 2);
    for key in ["alice", "bob", "carol"] {
        for _ in 0..4 {
            // both admitted and rejected hits
            shared.hit(key, 1).await.expect("the limiter works");
        }
    }
    let keys = backend.keys_with_pttl(&prefix).await;
    backend.cleanup(&prefix).await;
    assert!(
        !keys.is_empty(),
        "[{}] the limiter must store its keys under the configured prefix {prefix:?}",
        backend.describe()
    );
    let left_ms = (WINDOW as f64 - clock.now() % WINDOW as f64) * 1000.0;
    for (key, ttl) in keys {
        assert!(
            ttl > 0,
            "[{}] {key:?} has no TTL (pttl={ttl}); it would live forever",
            backend.describe()
        );
        assert!(
            ttl as f64 <= left_ms + 1000.0,
            "[{}] {key:?} outlives its window: pttl={ttl} ms, window ends in {left_ms:.0} ms",
            backend.describe()
        );
        // The server's clock runs on while the test reads the keys: allow it 5 s.
        assert!(
            ttl as f64 >= left_ms - 5000.0,
            "[{}] {key:?} expires long before its window ends: pttl={ttl} ms, window ends in \
             {left_ms:.0} ms (by the injected clock). A counter that vanishes early resets the \
             count mid-window: the TTL is the time left in the window",
            backend.describe()
        );
    }
}

#[tokio::test]
async fn redis_limiter_follows_the_injected_clock() {
    let clock = FakeClock::new();
    let backend = Backend::from_env().await;
    let prefix = prefix();
    let shared = limiter(backend.store().await, &clock, &prefix, 2);
    let first = [
        allowed(&shared, "k").await,
        allowed(&shared, "k").await,
        allowed(&shared, "k").await,
    ];
    assert_eq!(first, [true, true, false], "[{}]", backend.describe());
    let denied = shared.hit("k", 1).await.expect("the limiter works");
    let expected = WINDOW as f64 - clock.now() % WINDOW as f64;
    assert!(
        common::approx(denied.retry_after, expected),
        "[{}] retry_after comes from the injected clock, not Redis's TIME: got {}, expected {expected}",
        backend.describe(),
        denied.retry_after
    );
    clock.advance(WINDOW as f64); // only the fake clock moves
    assert!(
        allowed(&shared, "k").await,
        "[{}] a new window (by the injected clock) must admit again",
        backend.describe()
    );
    let other = limiter(backend.store().await, &clock, &prefix, 2);
    let shared_count = [allowed(&other, "k").await, allowed(&other, "k").await];
    backend.cleanup(&prefix).await;
    assert_eq!(
        shared_count,
        [true, false],
        "[{}] a second limiter on the same store and prefix shares the same counter",
        backend.describe()
    );
}

#[tokio::test]
async fn shared_limit_spends_cost_only_when_admitted() {
    let clock = FakeClock::new();
    let backend = Backend::from_env().await;
    let prefix = prefix();
    let shared = limiter(backend.store().await, &clock, &prefix, 5);
    let mut seen = Vec::new();
    for cost in [3, 3, 2, 1] {
        let decision = shared
            .hit("k", cost)
            .await
            .unwrap_or_else(|e| panic!("[{}] the limiter failed: {e}", backend.describe()));
        seen.push((cost, decision.allowed, decision.remaining));
    }
    backend.cleanup(&prefix).await;
    assert_eq!(
        seen,
        [(3, true, 2), (3, false, 2), (2, true, 0), (1, false, 0)],
        "[{}] (cost, allowed, remaining) under a limit of 5: a hit spends `cost` units, is \
         admitted only when all of them fit, and a denied hit spends nothing (in SharedLimiter \
         and in the script alike)",
        backend.describe()
    );
}

/// PTTL of `key` on the backend, in milliseconds (-2: no key, -1: no expiry).
async fn server_pttl(backend: &Backend, key: &str) -> i64 {
    let mut connection = backend::raw_connection(backend.url()).await;
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut connection)
        .await
        .expect("PTTL")
}

#[tokio::test]
async fn script_does_what_the_memory_store_specifies() {
    // MemoryWindowStore is the executable specification of the script: the same
    // calls must give the same answers and leave the same keys with the same TTLs.
    let clock = FakeClock::new();
    let backend = Backend::from_env().await;
    let prefix = prefix();
    let spec = MemoryWindowStore::new(clock.clone());
    let script = backend.store().await;
    // (key, limit, cost, ttl_ms)
    let steps: [(&str, u64, u64, u64); 9] = [
        ("a", 3, 1, 20_000),
        ("a", 3, 2, 45_000), // fits exactly; the key already has a TTL, which stays
        ("a", 3, 1, 20_000), // over the limit: nothing is added
        ("b", 2, 3, 20_000), // can never fit: no counter is created
        ("b", 2, 2, 30_000),
        ("b", 2, 1, 30_000),
        ("c", 5, 4, 12_000),
        ("c", 5, 2, 12_000),
        ("c", 5, 1, 12_000),
    ];
    let mut mismatches = Vec::new();
    for (n, &(key, limit, cost, ttl_ms)) in steps.iter().enumerate() {
        let store_key = format!("{prefix}{key}");
        let expected = spec
            .hit_window(&store_key, limit, cost, ttl_ms)
            .await
            .expect("the memory store never fails");
        let got = script
            .hit_window(&store_key, limit, cost, ttl_ms)
            .await
            .unwrap_or_else(|e| panic!("[{}] hit_window failed: {e}", backend.describe()));
        if got != expected {
            mismatches.push(format!(
                "step {n} hit_window({key:?}, limit={limit}, cost={cost}, ttl_ms={ttl_ms}): \
                 expected {expected:?}, got {got:?}"
            ));
        }
        let (want_ttl, ttl) = (
            spec.pttl(&store_key),
            server_pttl(&backend, &store_key).await,
        );
        // The server's clock runs on while the test talks to it: allow it 2 s.
        let agree = if want_ttl < 0 {
            ttl == want_ttl
        } else {
            ttl > 0 && (ttl - want_ttl).abs() <= 2_000
        };
        if !agree {
            mismatches.push(format!(
                "step {n} PTTL {key:?} after hit_window(limit={limit}, cost={cost}, \
                 ttl_ms={ttl_ms}): expected {want_ttl} ms, got {ttl}"
            ));
        }
    }
    let mut expected_keys = spec.keys();
    expected_keys.sort();
    let mut keys: Vec<String> = backend
        .keys_with_pttl(&prefix)
        .await
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    keys.sort();
    if keys != expected_keys {
        mismatches.push(format!(
            "keys under the prefix: expected {expected_keys:?}, got {keys:?}"
        ));
    }
    backend.cleanup(&prefix).await;
    assert!(
        mismatches.is_empty(),
        "[{}] the script must behave exactly like MemoryWindowStore (add cost only when all of \
         it fits, create no key for a denied hit, set the TTL only on a key that has none):\n{}",
        backend.describe(),
        mismatches.join("\n")
    );
}

fn is_error<E: std::error::Error>() {}

#[tokio::test]
async fn redis_outage_fails_closed_by_default() {
    let clock = FakeClock::new();
    let closed = app(settings(|s| s.rate_limit = 5), &clock, Some(down_store()));
    let response = closed.get("/api/ping").await;
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "with Redis down the documented default is to fail closed: 503, not 500 and not a free pass"
    );
    assert_eq!(response.media_type(), "application/problem+json");
    let retry = response.header("retry-after").unwrap_or_default();
    assert!(
        !retry.is_empty() && retry.bytes().all(|b| b.is_ascii_digit()),
        "Retry-After: delay-seconds, got {retry:?}"
    );
    assert_eq!(closed.get("/livez").await.status, StatusCode::OK);

    // Reachable but useless: every command answered with an error.
    let (_server, refusing) = refusing_store().await;
    let erroring = app(settings(|s| s.rate_limit = 5), &clock, Some(refusing));
    let response = erroring.get("/api/ping").await;
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a Redis that answers every command with an error (here LOADING) is as unavailable as \
         one that is down: fail closed with 503 for every kind of backend error"
    );

    is_error::<LimiterUnavailable>();
    let opened = app(
        settings(|s| {
            s.rate_limit = 5;
            s.rate_limit_fail_open = true;
        }),
        &clock,
        Some(down_store()),
    );
    assert_eq!(
        opened.get("/api/ping").await.status,
        StatusCode::OK,
        "rate_limit_fail_open = true lets traffic through"
    );
}
