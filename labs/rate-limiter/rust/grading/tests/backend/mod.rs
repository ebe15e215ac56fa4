//! Where the distributed tests keep their counters: a real Redis when
//! `REDIS_URL` is set, otherwise the suite's Redis stand-in (`emulator.rs`).
//! Either way your `RedisWindowStore` and its Lua script do the work. Which
//! one was used is written to stderr (uncaptured) once per test binary, and
//! named in every distributed-stage failure message.
#![allow(dead_code)]

pub mod emulator;

use std::io::Write as _;
use std::sync::{Arc, Once};

use service::distributed::{RedisWindowStore, WindowStore};

pub use emulator::{Emulator, Mode};

/// Where the distributed tests keep their counters.
pub enum Backend {
    /// A real Redis server (REDIS_URL).
    Real(String),
    /// The suite's stand-in, serving this test only.
    Emulated(Emulator),
}

impl Backend {
    /// From `REDIS_URL`, announced once per test binary on (uncaptured) stderr.
    pub async fn from_env() -> Self {
        let backend = match std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => Self::Real(url),
            None => Self::Emulated(Emulator::start(Mode::Serve).await),
        };
        static ANNOUNCE: Once = Once::new();
        let line = backend.describe();
        ANNOUNCE.call_once(|| {
            let _ = writeln!(std::io::stderr(), "{line}");
        });
        backend
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Real(url) => url,
            Self::Emulated(emulator) => emulator.url(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Real(url) => format!("grading redis: real server at {url} (from REDIS_URL)"),
            Self::Emulated(emulator) => format!(
                "grading redis: the suite's Redis stand-in at {} (REDIS_URL not set; your Lua \
                 script runs in Lua 5.1 over an in-memory keyspace; set REDIS_URL to grade \
                 against a real Redis)",
                emulator.url()
            ),
        }
    }

    /// A store for one app instance: its own connection to the same server.
    pub async fn store(&self) -> Arc<dyn WindowStore> {
        let url = self.url();
        let store = RedisWindowStore::open(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        store
            .ping()
            .await
            .unwrap_or_else(|e| panic!("{} is unreachable: {e}", self.describe()));
        Arc::new(store)
    }

    /// Every key under `prefix` with its PTTL in milliseconds.
    pub async fn keys_with_pttl(&self, prefix: &str) -> Vec<(String, i64)> {
        let mut connection = raw_connection(self.url()).await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        let mut out = Vec::new();
        for key in keys {
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .expect("PTTL");
            out.push((key, ttl));
        }
        out
    }

    /// Delete every key under `prefix` (the stand-in's keys die with the test).
    pub async fn cleanup(&self, prefix: &str) {
        if let Self::Real(url) = self {
            let mut connection = raw_connection(url).await;
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut connection)
                .await
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<i64, _> = redis::cmd("DEL")
                    .arg(keys)
                    .query_async(&mut connection)
                    .await;
            }
        }
    }
}

/// A plain connection for the suite's own inspection commands.
pub async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("{url} is unreachable: {e}"))
}

/// A Redis store whose server accepts connections but answers every command
/// with an error (as a Redis still loading its dataset does).
pub async fn refusing_store() -> (Emulator, Arc<dyn WindowStore>) {
    let emulator = Emulator::start(Mode::Refuse).await;
    let store = RedisWindowStore::open(emulator.url()).expect("a valid URL");
    (emulator, Arc::new(store))
}
