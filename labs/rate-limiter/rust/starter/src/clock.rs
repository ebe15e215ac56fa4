//! Time as a dependency.
//!
//! Everything that depends on "now" (limiters, token expiry, login throttling)
//! takes an `Arc<dyn Clock>`, so tests can move time explicitly instead of
//! sleeping. Times are seconds since the Unix epoch as `f64`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> f64;
}

/// The real wall clock: the only place the service reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |elapsed| elapsed.as_secs_f64())
    }
}

/// A clock that only moves when told to; handy in your own tests.
#[derive(Debug)]
pub struct ManualClock {
    bits: AtomicU64,
}

impl ManualClock {
    /// A clock stopped at `start` seconds since the epoch.
    pub fn new(start: f64) -> Self {
        Self {
            bits: AtomicU64::new(start.to_bits()),
        }
    }

    /// Jump to an absolute time.
    pub fn set(&self, now: f64) {
        self.bits.store(now.to_bits(), Ordering::SeqCst);
    }

    /// Move forward by `seconds` (never backwards).
    pub fn advance(&self, seconds: f64) {
        assert!(seconds >= 0.0, "time does not run backwards");
        self.set(self.now() + seconds);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(1_000_000.0)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::SeqCst))
    }
}
