//! A fixed-window limiter whose counters live in a shared store, so every
//! instance of the service draws from the same quota.
//!
//! The store is a trait, [`WindowStore`], with one atomic operation. Two
//! implementations ship here:
//!
//! * [`RedisWindowStore`]: the production one. The whole
//!   read-check-increment-expire step is ONE Lua script run by Redis, so no
//!   lost EXPIRE can leave an immortal key and no two instances can both see
//!   "one left"; the caller's clock picks the window and the TTL, passed in
//!   KEYS and ARGV, so Redis's own clock decides nothing.
//! * [`MemoryWindowStore`]: the same semantics in process memory, complete
//!   already. It is the executable specification of the script, and handy
//!   in tests.
//!
//! [`SharedLimiter`] turns either into [`Decision`]s: it picks the window from
//! the injected clock, names the key, and computes the TTL.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::clock::Clock;
use crate::ratelimit::Decision;

/// The shared limiter's backend could not be reached or answered nonsense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterUnavailable(pub String);

impl fmt::Display for LimiterUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limiter backend unavailable: {}", self.0)
    }
}

impl std::error::Error for LimiterUnavailable {}

impl From<redis::RedisError> for LimiterUnavailable {
    fn from(error: redis::RedisError) -> Self {
        Self(error.to_string())
    }
}

/// The outcome of one atomic window step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowHit {
    /// Whether `cost` fitted under `limit` and was added.
    pub admitted: bool,
    /// The counter's value after this step.
    pub count: u64,
}

/// A store of fixed-window counters shared by every instance.
#[async_trait]
pub trait WindowStore: Send + Sync {
    /// Atomically: read the counter at `key` (0 when absent); if `count + cost
    /// <= limit`, add `cost`; if the key exists and has no expiry, expire it in
    /// `ttl_ms` milliseconds; return whether it was admitted and the count.
    async fn hit_window(
        &self,
        key: &str,
        limit: u64,
        cost: u64,
        ttl_ms: u64,
    ) -> Result<WindowHit, LimiterUnavailable>;

    /// Whether the store is reachable (used by readiness).
    async fn ping(&self) -> Result<(), LimiterUnavailable>;
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u64,
    expires_at: Option<f64>,
}

/// [`WindowStore`] in process memory, with exactly the semantics of the Lua
/// script: expiry is judged by the clock it is given.
pub struct MemoryWindowStore {
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl MemoryWindowStore {
    /// An empty store whose key expiry follows `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        let now = self.clock.now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, entry| entry.expires_at.is_none_or(|at| at > now));
        entries
    }

    /// Every live key, like `KEYS *`.
    pub fn keys(&self) -> Vec<String> {
        self.live().keys().cloned().collect()
    }

    /// Like Redis `PTTL`: -2 for a missing key, -1 for a key without expiry,
    /// otherwise the milliseconds left (rounded up).
    pub fn pttl(&self, key: &str) -> i64 {
        let now = self.clock.now();
        match self.live().get(key) {
            None => -2,
            Some(Entry {
                expires_at: None, ..
            }) => -1,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => ((at - now) * 1000.0).ceil() as i64,
        }
    }
}

#[async_trait]
impl WindowStore for MemoryWindowStore {
    async fn hit_window(
        &self,
        key: &str,
        limit: u64,
        cost: u64,
        ttl_ms: u64,
    ) -> Result<WindowHit, LimiterUnavailable> {
        let now = self.clock.now();
        let mut entries = self.live();
        let mut count = entries.get(key).map_or(0, |entry| entry.count);
        let admitted = count + cost <= limit;
        if admitted {
            let entry = entries.entry(key.to_owned()).or_insert(Entry {
                count: 0,
                expires_at: None,
            });
            entry.count += cost;
            count = entry.count;
        }
        if let Some(entry) = entries.get_mut(key)
            && entry.expires_at.is_none()
        {
            // PEXPIRE with a non-positive TTL deletes the key, as in Redis.
            entry.expires_at = Some(now + ttl_ms as f64 / 1000.0);
            if ttl_ms == 0 {
                entries.remove(key);
            }
        }
        Ok(WindowHit { admitted, count })
    }

    async fn ping(&self) -> Result<(), LimiterUnavailable> {
        Ok(())
    }
}

/// The atomic fixed-window step.
///
/// KEYS[1]: the counter of the current window.
/// ARGV: limit, cost, milliseconds left in the window (from the caller's clock).
/// Returns {admitted (0 or 1), count after this step}.
const FIXED_WINDOW_LUA: &str = r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local admitted = 0
if count + cost <= limit then
  count = redis.call('INCRBY', KEYS[1], cost)
  admitted = 1
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {admitted, count}
";

/// [`WindowStore`] on a Redis server, one connection per store, reconnecting on demand.
pub struct RedisWindowStore {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    script: redis::Script,
}

impl RedisWindowStore {
    /// A store for the server at `url`; nothing is connected until first use.
    pub fn open(url: &str) -> Result<Self, LimiterUnavailable> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(FIXED_WINDOW_LUA),
        })
    }

    /// The shared connection, (re)connecting with short timeouts: a limiter
    /// that waits 30 s for a dead Redis is itself an outage.
    async fn connection(&self) -> Result<MultiplexedConnection, LimiterUnavailable> {
        let mut cached = self.connection.lock().await;
        if let Some(connection) = cached.as_ref() {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *cached = Some(connection.clone());
        Ok(connection)
    }

    /// Drop the cached connection after an error, so the next call reconnects.
    async fn forget_connection(&self) {
        *self.connection.lock().await = None;
    }

    /// Run `query` on the connection; on failure forget the connection.
    async fn run<T, F, Fut>(&self, query: F) -> Result<T, LimiterUnavailable>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        match query(connection).await {
            Ok(value) => Ok(value),
            Err(error) => {
                self.forget_connection().await;
                Err(error.into())
            }
        }
    }
}

#[async_trait]
impl WindowStore for RedisWindowStore {
    async fn hit_window(
        &self,
        key: &str,
        limit: u64,
        cost: u64,
        ttl_ms: u64,
    ) -> Result<WindowHit, LimiterUnavailable> {
        let mut invocation = self.script.key(key);
        invocation.arg(limit).arg(cost).arg(ttl_ms);
        // EVALSHA, falling back to loading the script once if Redis lost it.
        let (admitted, count): (i64, i64) = self
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await?;
        Ok(WindowHit {
            admitted: admitted == 1,
            count: u64::try_from(count)
                .map_err(|_| LimiterUnavailable("negative counter".into()))?,
        })
    }

    async fn ping(&self) -> Result<(), LimiterUnavailable> {
        self.run(|mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .map(drop)
    }
}

/// A fixed-window limiter over a [`WindowStore`]: one atomic store call per hit.
pub struct SharedLimiter {
    store: Arc<dyn WindowStore>,
    limit: u64,
    window_seconds: u64,
    clock: Arc<dyn Clock>,
    prefix: String,
}

impl SharedLimiter {
    /// `limit` hits per aligned window of `window_seconds`, keys under `prefix`.
    pub fn new(
        store: Arc<dyn WindowStore>,
        limit: u64,
        window_seconds: u64,
        clock: Arc<dyn Clock>,
        prefix: &str,
    ) -> Self {
        assert!(
            limit >= 1 && window_seconds >= 1,
            "limit and window_seconds must be >= 1"
        );
        Self {
            store,
            limit,
            window_seconds,
            clock,
            prefix: prefix.to_owned(),
        }
    }

    /// Spend `cost` of `key`'s quota in the current window: one atomic store call.
    pub async fn hit(&self, key: &str, cost: u64) -> Result<Decision, LimiterUnavailable> {
        let now = self.clock.now();
        let window = self.window_seconds as f64;
        let index = (now / window).floor() as i64;
        let reset_after = (index + 1) as f64 * window - now;
        let ttl_ms = ((reset_after * 1000.0).ceil() as u64).max(1);
        let store_key = format!("{}{}:{}", self.prefix, key, index);
        let hit = self
            .store
            .hit_window(&store_key, self.limit, cost, ttl_ms)
            .await?;
        Ok(Decision {
            allowed: hit.admitted,
            limit: self.limit,
            remaining: self.limit.saturating_sub(hit.count),
            reset_after,
            retry_after: if hit.admitted { 0.0 } else { reset_after },
        })
    }
}
