//! Rate-limiting algorithms, all driven by an injected clock.
//!
//! Each limiter keeps per-key state in memory and answers `hit(key, cost)` with
//! a [`Decision`]. A denied hit consumes nothing, keys are independent, and
//! none of them reads the wall clock: time comes only from `clock.now()`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Clock;

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Whether the hit was admitted.
    pub allowed: bool,
    /// The quota the decision was made against.
    pub limit: u64,
    /// Hits of cost 1 that would still be admitted right now.
    pub remaining: u64,
    /// Seconds until the full quota is back (the `RateLimit` field's `t` parameter).
    pub reset_after: f64,
    /// Seconds until the same hit would be admitted; 0.0 when allowed.
    pub retry_after: f64,
}

/// Anything that can decide whether a hit on a key is admitted.
pub trait RateLimiter: Send + Sync {
    /// Spend `cost` units of `key`'s quota, if there are enough.
    fn hit(&self, key: &str, cost: u64) -> Decision;
}

/// The start of the aligned window containing `now`. Aligning to multiples of
/// the window length means every instance and every key agrees on boundaries.
pub fn window_start(now: f64, window: f64) -> f64 {
    (now / window).floor() * window
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn whole(value: f64) -> u64 {
    // Saturating float-to-int conversion: negative values become 0.
    value.max(0.0).floor() as u64
}

/// A denial for a cost that can never fit.
fn impossible(limit: u64, reset_after: f64) -> Decision {
    Decision {
        allowed: false,
        limit,
        remaining: 0,
        reset_after,
        retry_after: f64::INFINITY,
    }
}

/// Bursts up to `capacity`, then refills at `refill_per_second`, never above capacity.
pub struct TokenBucket {
    capacity: u64,
    rate: f64,
    clock: Arc<dyn Clock>,
    state: Mutex<HashMap<String, (f64, f64)>>, // key -> (tokens, updated_at)
}

impl TokenBucket {
    /// A bucket per key, each starting full.
    pub fn new(capacity: u64, refill_per_second: f64, clock: Arc<dyn Clock>) -> Self {
        assert!(
            capacity >= 1 && refill_per_second > 0.0,
            "capacity >= 1 and rate > 0"
        );
        Self {
            capacity,
            rate: refill_per_second,
            clock,
            state: Mutex::new(HashMap::new()),
        }
    }
}

impl RateLimiter for TokenBucket {
    fn hit(&self, key: &str, cost: u64) -> Decision {
        let capacity = self.capacity as f64;
        if cost == 0 || cost > self.capacity {
            return impossible(self.capacity, 0.0);
        }
        let mut state = lock(&self.state);
        let now = self.clock.now();
        let (tokens, updated) = state.get(key).copied().unwrap_or((capacity, now));
        let mut tokens = (tokens + (now - updated).max(0.0) * self.rate).min(capacity);
        let allowed = tokens >= cost as f64;
        if allowed {
            tokens -= cost as f64;
        }
        state.insert(key.to_owned(), (tokens, now));
        Decision {
            allowed,
            limit: self.capacity,
            remaining: whole(tokens),
            reset_after: (capacity - tokens) / self.rate,
            retry_after: if allowed {
                0.0
            } else {
                (cost as f64 - tokens) / self.rate
            },
        }
    }
}

/// One counter per aligned window: cheap, but admits up to 2x the limit across a boundary.
pub struct FixedWindow {
    limit: u64,
    window: f64,
    clock: Arc<dyn Clock>,
    state: Mutex<HashMap<String, (f64, u64)>>, // key -> (window_start, count)
}

impl FixedWindow {
    /// `limit` hits per aligned window of `window_seconds`.
    pub fn new(limit: u64, window_seconds: f64, clock: Arc<dyn Clock>) -> Self {
        assert!(
            limit >= 1 && window_seconds > 0.0,
            "limit >= 1 and window > 0"
        );
        Self {
            limit,
            window: window_seconds,
            clock,
            state: Mutex::new(HashMap::new()),
        }
    }
}

impl RateLimiter for FixedWindow {
    fn hit(&self, key: &str, cost: u64) -> Decision {
        let mut state = lock(&self.state);
        let now = self.clock.now();
        let start = window_start(now, self.window);
        let reset_after = start + self.window - now;
        if cost == 0 || cost > self.limit {
            return impossible(self.limit, reset_after);
        }
        let count = match state.get(key) {
            Some(&(seen, count)) if seen == start => count,
            _ => 0,
        };
        let allowed = count + cost <= self.limit;
        let count = if allowed { count + cost } else { count };
        state.insert(key.to_owned(), (start, count));
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit - count,
            reset_after,
            retry_after: if allowed { 0.0 } else { reset_after },
        }
    }
}

/// Weights the previous window by how much of it the sliding window still overlaps.
///
/// estimate = previous * (1 - progress) + current, where progress is the
/// fraction of the current aligned window already elapsed. A hit is admitted
/// when estimate + cost <= limit.
pub struct SlidingWindowCounter {
    limit: u64,
    window: f64,
    clock: Arc<dyn Clock>,
    state: Mutex<HashMap<String, (f64, u64, u64)>>, // key -> (start, current, previous)
}

impl SlidingWindowCounter {
    /// `limit` hits per sliding window of `window_seconds`.
    pub fn new(limit: u64, window_seconds: f64, clock: Arc<dyn Clock>) -> Self {
        assert!(
            limit >= 1 && window_seconds > 0.0,
            "limit >= 1 and window > 0"
        );
        Self {
            limit,
            window: window_seconds,
            clock,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// (current, previous) counts as seen from the window starting at `start`.
    fn roll(&self, seen: Option<(f64, u64, u64)>, start: f64) -> (u64, u64) {
        match seen {
            Some((seen_start, current, previous)) if seen_start == start => (current, previous),
            // Only the window immediately before this one carries weight.
            Some((seen_start, current, _)) if (start - seen_start - self.window).abs() < 1e-9 => {
                (0, current)
            }
            _ => (0, 0),
        }
    }

    /// Seconds until estimate + cost <= limit, assuming no other traffic.
    fn wait(&self, now: f64, start: f64, current: u64, previous: u64, cost: u64) -> f64 {
        let room = self.limit as f64 - current as f64 - cost as f64;
        if previous > 0 && room >= 0.0 {
            // Still inside this window: wait for the previous window's weight to shrink.
            let needed = 1.0 - room / previous as f64;
            return (start + needed * self.window - now).max(0.0);
        }
        // In the next window, this window's count becomes the weighted "previous".
        let needed = if current > 0 {
            (1.0 - (self.limit - cost) as f64 / current as f64).max(0.0)
        } else {
            0.0
        };
        start + self.window + needed * self.window - now
    }
}

impl RateLimiter for SlidingWindowCounter {
    fn hit(&self, key: &str, cost: u64) -> Decision {
        let mut state = lock(&self.state);
        let now = self.clock.now();
        let start = window_start(now, self.window);
        let reset_after = start + self.window - now;
        if cost == 0 || cost > self.limit {
            return impossible(self.limit, reset_after);
        }
        let (mut current, previous) = self.roll(state.get(key).copied(), start);
        let progress = (now - start) / self.window;
        let mut estimate = previous as f64 * (1.0 - progress) + current as f64;
        let allowed = estimate + cost as f64 <= self.limit as f64;
        if allowed {
            current += cost;
            estimate += cost as f64;
        }
        state.insert(key.to_owned(), (start, current, previous));
        let retry_after = if allowed {
            0.0
        } else {
            self.wait(now, start, current, previous, cost)
        };
        Decision {
            allowed,
            limit: self.limit,
            remaining: whole(self.limit as f64 - estimate),
            reset_after,
            retry_after,
        }
    }
}

/// Generic cell rate algorithm: one "theoretical arrival time" (TAT) per key.
///
/// Emission interval T = period / limit and tolerance tau = (burst - 1) * T,
/// so `burst` hits may arrive at once and after that one every T seconds.
pub struct Gcra {
    burst: u64,
    interval: f64,
    tolerance: f64,
    clock: Arc<dyn Clock>,
    tat: Mutex<HashMap<String, f64>>,
}

impl Gcra {
    /// `limit` hits per `period_seconds`, of which `burst` may arrive at once.
    pub fn new(limit: u64, period_seconds: f64, burst: u64, clock: Arc<dyn Clock>) -> Self {
        assert!(
            limit >= 1 && burst >= 1 && period_seconds > 0.0,
            "limit, burst >= 1"
        );
        let interval = period_seconds / limit as f64;
        Self {
            burst,
            interval,
            tolerance: (burst - 1) as f64 * interval,
            clock,
            tat: Mutex::new(HashMap::new()),
        }
    }
}

impl RateLimiter for Gcra {
    fn hit(&self, key: &str, cost: u64) -> Decision {
        if cost == 0 || cost > self.burst {
            return impossible(self.burst, 0.0);
        }
        let mut tats = lock(&self.tat);
        let now = self.clock.now();
        let mut tat = tats.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + cost as f64 * self.interval;
        // The last unit of this hit conforms when now >= new_tat - T - tau.
        let allow_at = new_tat - self.interval - self.tolerance;
        let allowed = now >= allow_at;
        if allowed {
            tats.insert(key.to_owned(), new_tat);
            tat = new_tat;
        }
        // How many more intervals fit before the tolerance is used up.
        let horizon = now + self.tolerance + self.interval - tat;
        Decision {
            allowed,
            limit: self.burst,
            remaining: whole(horizon / self.interval),
            reset_after: (tat - now).max(0.0),
            retry_after: if allowed { 0.0 } else { allow_at - now },
        }
    }
}
