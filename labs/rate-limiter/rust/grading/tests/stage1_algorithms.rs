//! Stage `algorithms`: four limiters, exact on an injected clock.

mod common;

use std::sync::Arc;

use common::{FakeClock, approx};
use service::Clock;
use service::ratelimit::{FixedWindow, Gcra, RateLimiter, SlidingWindowCounter, TokenBucket};

/// 2_199_999_960 is a multiple of 60 (and of 10), so window arithmetic below is exact.
const W0: f64 = 2_199_999_960.0;

fn dyn_clock(clock: &Arc<FakeClock>) -> Arc<dyn Clock> {
    clock.clone()
}

/// How many of `attempts` back-to-back hits are allowed.
fn admitted(limiter: &dyn RateLimiter, key: &str, attempts: usize) -> usize {
    (0..attempts)
        .filter(|_| limiter.hit(key, 1).allowed)
        .count()
}

#[test]
fn token_bucket_allows_burst_then_denies() {
    let clock = FakeClock::new();
    let bucket = TokenBucket::new(5, 2.0, dyn_clock(&clock));

    let decisions: Vec<_> = (0..5).map(|_| bucket.hit("k", 1)).collect();
    assert!(
        decisions.iter().all(|d| d.allowed),
        "a full bucket must admit a burst of `capacity`"
    );
    let remaining: Vec<u64> = decisions.iter().map(|d| d.remaining).collect();
    assert_eq!(remaining, [4, 3, 2, 1, 0]);

    let denied = bucket.hit("k", 1);
    assert!(!denied.allowed, "the hit after the burst must be denied");
    // One token is missing and tokens arrive at 2/s: exactly half a second.
    assert!(
        approx(denied.retry_after, 0.5),
        "retry_after = {}, expected 0.5",
        denied.retry_after
    );
}

#[test]
fn token_bucket_refills_at_rate_and_never_above_capacity() {
    let clock = FakeClock::new();
    let bucket = TokenBucket::new(4, 1.0, dyn_clock(&clock));
    assert_eq!(admitted(&bucket, "k", 4), 4);

    clock.advance(2.5); // 2.5 tokens: two whole hits, half a token left over
    assert_eq!(
        admitted(&bucket, "k", 5),
        2,
        "after 2.5 s at 1 token/s exactly 2 hits fit"
    );
    let retry = bucket.hit("k", 1).retry_after;
    assert!(
        approx(retry, 0.5),
        "half a token was kept, so retry_after is 0.5, got {retry}"
    );

    clock.advance(10_000.0); // a long idle period must not bank more than `capacity`
    assert_eq!(
        admitted(&bucket, "k", 10),
        4,
        "the bucket must be capped at its capacity"
    );
}

#[test]
fn fixed_window_resets_exactly_at_boundary() {
    let clock = FakeClock::new();
    let limiter = FixedWindow::new(3, 10.0, dyn_clock(&clock));
    clock.set(W0 + 9.5); // half a second before the window [W0, W0 + 10) ends

    assert_eq!(admitted(&limiter, "k", 3), 3);
    let denied = limiter.hit("k", 1);
    assert!(!denied.allowed);
    assert!(
        approx(denied.retry_after, 0.5),
        "retry_after is the time left in the window, got {}",
        denied.retry_after
    );

    clock.advance(0.5); // exactly on the boundary: a brand-new window
    assert_eq!(
        admitted(&limiter, "k", 5),
        3,
        "windows are aligned to multiples of their length: at W0 + 10 a new one starts \
         (which is why a fixed window can admit 2x the limit within one second)"
    );
}

#[test]
fn sliding_window_counter_weights_previous_window() {
    let clock = FakeClock::new();
    let limiter = SlidingWindowCounter::new(10, 60.0, dyn_clock(&clock));
    clock.set(W0 + 30.0);
    assert_eq!(admitted(&limiter, "k", 12), 10);

    // 25% into the next window the previous 10 hits weigh 10 * 0.75 = 7.5,
    // so only 2 more fit (7.5 + 2 = 9.5; a third would make 10.5).
    clock.set(W0 + 60.0 + 15.0);
    assert_eq!(
        admitted(&limiter, "k", 5),
        2,
        "estimate = previous * (1 - progress) + current"
    );
    let denied = limiter.hit("k", 1);
    assert!(!denied.allowed && denied.retry_after > 0.0);

    // Halfway: 10 * 0.5 + 2 = 7, so exactly 3 more.
    clock.set(W0 + 60.0 + 30.0);
    assert_eq!(admitted(&limiter, "k", 5), 3);

    // Two windows later the window just before was empty: nothing carries over.
    clock.set(W0 + 180.0 + 5.0);
    assert_eq!(
        admitted(&limiter, "k", 12),
        10,
        "only the immediately previous window counts"
    );
}

#[test]
fn gcra_spacing_and_exact_retry_after() {
    let clock = FakeClock::new();
    // 10 per minute: emission interval T = 6 s; burst 3: tolerance tau = 12 s.
    let gcra = Gcra::new(10, 60.0, 3, dyn_clock(&clock));
    let t0 = clock.now();

    assert_eq!(
        admitted(&gcra, "k", 3),
        3,
        "`burst` hits may arrive at once"
    );
    let denied = gcra.hit("k", 1);
    assert!(!denied.allowed);
    // TAT is now t0 + 18, so the next hit conforms at TAT - tau = t0 + 6.
    assert!(
        approx(denied.retry_after, 6.0),
        "retry_after = {}, expected 6",
        denied.retry_after
    );

    clock.set(t0 + 5.0);
    let late = gcra.hit("k", 1);
    assert!(
        !late.allowed && approx(late.retry_after, 1.0),
        "at t0 + 5 one second is left, got {late:?}"
    );

    for step in 1..5 {
        // after the burst, exactly one hit every T seconds
        clock.set(t0 + 6.0 * f64::from(step));
        assert!(
            gcra.hit("k", 1).allowed,
            "a hit exactly T after the previous one must conform ({step})"
        );
        assert!(!gcra.hit("k", 1).allowed, "and only one");
    }

    clock.advance(1_000.0); // idle time restores the burst, and no more than the burst
    assert_eq!(
        admitted(&gcra, "k", 10),
        3,
        "TAT must be max(TAT, now) + T, not TAT + T"
    );
}

/// name -> (limiter, hits it admits at once, seconds after which it admits again).
fn limiters(clock: &Arc<FakeClock>) -> Vec<(&'static str, Box<dyn RateLimiter>, usize, f64)> {
    vec![
        (
            "token_bucket",
            Box::new(TokenBucket::new(3, 1.0, dyn_clock(clock))),
            3,
            1.0,
        ),
        (
            "fixed_window",
            Box::new(FixedWindow::new(3, 60.0, dyn_clock(clock))),
            3,
            60.0,
        ),
        (
            "sliding_window",
            Box::new(SlidingWindowCounter::new(3, 60.0, dyn_clock(clock))),
            3,
            120.0,
        ),
        (
            "gcra",
            Box::new(Gcra::new(3, 60.0, 3, dyn_clock(clock))),
            3,
            20.0,
        ),
    ]
}

/// Rust cannot patch `SystemTime`, so the twin of the Python test works the
/// other way round: the injected clock sits in 2039 and only it moves. A
/// limiter that reads `SystemTime` or `Instant` sees neither the 2039 window
/// boundaries nor the time that passes, and stays shut.
#[test]
fn algorithms_read_only_the_injected_clock() {
    for (name, _, burst, recovery) in limiters(&FakeClock::new()) {
        let clock = FakeClock::new();
        let limiter = limiters(&clock)
            .into_iter()
            .find(|l| l.0 == name)
            .expect("known limiter")
            .1;
        assert_eq!(
            admitted(limiter.as_ref(), "k", burst + 1),
            burst,
            "{name}: burst then deny"
        );
        assert!(
            !limiter.hit("k", 1).allowed,
            "{name}: nothing moved, so still denied"
        );
        // Only the fake clock moves; a limiter that looks at real time would stay shut.
        clock.advance(recovery);
        assert!(
            limiter.hit("k", 1).allowed,
            "{name}: advancing the injected clock must restore quota"
        );
        // And moving the fake clock back to a fresh window start must not be
        // second-guessed by the wall clock either.
        clock.set(W0 + 600.0);
        let fresh = limiters(&clock)
            .into_iter()
            .find(|l| l.0 == name)
            .expect("known limiter")
            .1;
        assert_eq!(
            admitted(fresh.as_ref(), "k", burst + 1),
            burst,
            "{name}: a fresh limiter admits one burst"
        );
    }
}

#[test]
fn algorithm_keys_are_isolated() {
    let clock = FakeClock::new();
    for (name, limiter, burst, _) in limiters(&clock) {
        assert_eq!(
            admitted(limiter.as_ref(), "alice", burst + 2),
            burst,
            "{name}"
        );
        assert_eq!(
            admitted(limiter.as_ref(), "bob", burst + 2),
            burst,
            "{name}: one key's usage must not affect another's"
        );
        assert!(!limiter.hit("alice", 1).allowed, "{name}");
    }
}

/// (cost, allowed, remaining) for each hit of `costs`, all on key "k".
fn spend(limiter: &dyn RateLimiter, costs: &[u64]) -> Vec<(u64, bool, u64)> {
    costs
        .iter()
        .map(|&cost| {
            let d = limiter.hit("k", cost);
            (cost, d.allowed, d.remaining)
        })
        .collect()
}

#[test]
fn costly_hits_spend_cost_and_denied_hits_spend_nothing() {
    // Each limiter has room for 5 units (GCRA: a burst of 3). A hit of cost c is
    // admitted only when all c units fit, spends exactly c, and a denied hit
    // spends nothing, so the smaller hit after it still fits.
    let clock = FakeClock::new();
    clock.set(W0 + 2.0);
    let bucket = TokenBucket::new(5, 2.0, dyn_clock(&clock));
    assert_eq!(
        spend(&bucket, &[3, 3, 2, 1]),
        [(3, true, 2), (3, false, 2), (2, true, 0), (1, false, 0)],
        "token_bucket: (cost, allowed, remaining) with capacity 5"
    );
    let fixed = FixedWindow::new(5, 10.0, dyn_clock(&clock));
    assert_eq!(
        spend(&fixed, &[3, 3, 2, 1]),
        [(3, true, 2), (3, false, 2), (2, true, 0), (1, false, 0)],
        "fixed_window: (cost, allowed, remaining) with a limit of 5"
    );
    let sliding = SlidingWindowCounter::new(5, 60.0, dyn_clock(&clock));
    assert_eq!(
        spend(&sliding, &[3, 3, 2, 1]),
        [(3, true, 2), (3, false, 2), (2, true, 0), (1, false, 0)],
        "sliding_window: (cost, allowed, remaining) with a limit of 5 and an empty previous window"
    );
    // One window later the 5 units weigh 5 * (1 - 0.2) = 4 at 20% progress:
    // a hit of 2 does not fit (4 + 2 > 5), a hit of 1 does.
    clock.set(W0 + 60.0 + 12.0);
    assert_eq!(
        spend(&sliding, &[2, 1, 1]),
        [(2, false, 1), (1, true, 0), (1, false, 0)],
        "sliding_window: the previous window's units are weighted, and cost counts against the estimate"
    );
    // GCRA, T = 6 s, tau = 12 s: cost 2 moves TAT by 12 s.
    let gcra = Gcra::new(10, 60.0, 3, dyn_clock(&clock));
    assert_eq!(
        spend(&gcra, &[2, 2, 1, 1]),
        [(2, true, 1), (2, false, 1), (1, true, 0), (1, false, 0)],
        "gcra: (cost, allowed, remaining) with a burst of 3: a hit of cost c advances TAT by c * T"
    );

    // A hit may cost the whole quota (3 units each, GCRA's burst), once; more
    // than the quota never fits, and is refused without spending anything.
    for (name, limiter, burst, _) in limiters(&clock) {
        let burst = burst as u64;
        let whole = ["more", "all", "one more"]
            .into_iter()
            .zip([burst + 1, burst, 1])
            .map(|(what, cost)| (what, limiter.hit("whole", cost).allowed))
            .collect::<Vec<_>>();
        assert_eq!(
            whole,
            [("more", false), ("all", true), ("one more", false)],
            "{name}: with a quota of {burst}, a hit costing more is denied, one costing all of it \
             is admitted, and then nothing is left"
        );
    }
}

/// Denied just before `retry_after`, admitted from `retry_after` on.
fn assert_exact_retry(
    name: &str,
    clock: &FakeClock,
    limiter: &dyn RateLimiter,
    cost: u64,
    expected: f64,
) {
    let now = clock.now();
    let denied = limiter.hit("k", cost);
    assert!(
        !denied.allowed,
        "{name}: a hit of cost {cost} must be denied here"
    );
    assert!(
        approx(denied.retry_after, expected),
        "{name}: retry_after for cost {cost} must be exactly the time until that hit is admitted: \
         expected {expected}, got {}",
        denied.retry_after
    );
    clock.set(now + expected - 0.001);
    assert!(
        !limiter.hit("k", cost).allowed,
        "{name}: admitted a millisecond before retry_after, so retry_after is too long"
    );
    clock.set(now + expected + 1e-4);
    assert!(
        limiter.hit("k", cost).allowed,
        "{name}: still denied at retry_after (cost {cost}), so clients told to come back then are refused again"
    );
}

#[test]
fn retry_after_is_the_exact_next_admissible_time() {
    let clock = FakeClock::new();

    // Token bucket, capacity 5, 2 tokens/s: 2.5 tokens after 1.25 s; 3 need 0.25 s more.
    let bucket = TokenBucket::new(5, 2.0, dyn_clock(&clock));
    assert!(bucket.hit("k", 5).allowed);
    clock.advance(1.25);
    assert_exact_retry("token_bucket", &clock, &bucket, 3, 0.25);

    // Fixed window of 10 s: a denied hit waits for the next aligned window.
    clock.set(W0 + 7.5);
    let fixed = FixedWindow::new(5, 10.0, dyn_clock(&clock));
    assert!(fixed.hit("k", 4).allowed);
    assert_exact_retry("fixed_window", &clock, &fixed, 2, 2.5);

    // Sliding window, limit 10 per 60 s, 10 units in the previous window, at 25%:
    // cost 3 fits once 10 * (1 - p) + 3 <= 10, i.e. at p = 0.3, 3 s from now.
    clock.set(W0 + 30.0);
    let sliding = SlidingWindowCounter::new(10, 60.0, dyn_clock(&clock));
    assert!(sliding.hit("k", 10).allowed);
    clock.set(W0 + 60.0 + 15.0);
    assert_exact_retry("sliding_window", &clock, &sliding, 3, 3.0);
    // Full in the current window: wait into the next one until the weight of
    // these 10 units leaves room: 10 * (1 - p) + 1 <= 10 at p = 0.1.
    clock.set(W0 + 300.0 + 30.0);
    let full = SlidingWindowCounter::new(10, 60.0, dyn_clock(&clock));
    assert!(full.hit("k", 10).allowed);
    assert_exact_retry("sliding_window", &clock, &full, 1, 36.0);
    // Both windows weigh in, and the cost does not fit beside this window's own
    // units: 10 * 0.15 + 8 = 9.5 at 85%, and 8 + 3 > 10. In the next window these
    // 8 units weigh 8 * (1 - p) + 3 <= 10 from p = 0.125, 16.5 s from now.
    clock.set(W0 + 900.0 + 30.0);
    let both = SlidingWindowCounter::new(10, 60.0, dyn_clock(&clock));
    assert!(both.hit("k", 10).allowed);
    clock.set(W0 + 960.0 + 51.0);
    assert_eq!(admitted(&both, "k", 9), 8);
    assert_exact_retry("sliding_window", &clock, &both, 3, 16.5);

    // GCRA, T = 6 s, tau = 12 s: after a burst of 3, TAT = now + 18; cost 2 is
    // admitted when now >= TAT + 2T - T - tau, 12 s from now.
    clock.set(W0 + 600.0);
    let gcra = Gcra::new(10, 60.0, 3, dyn_clock(&clock));
    assert_eq!(admitted(&gcra, "k", 3), 3);
    assert_exact_retry("gcra", &clock, &gcra, 2, 12.0);

    // A hit costing more than the whole quota is never admitted: no wait helps.
    for (name, limiter, burst, _) in limiters(&clock) {
        let never = limiter.hit("never", burst as u64 + 1);
        assert!(
            !never.allowed && never.retry_after == f64::INFINITY,
            "{name}: a hit of cost {} can never fit a quota of {burst}, so retry_after is \
             infinite (no time to come back), got {never:?}",
            burst + 1
        );
    }
}

/// name -> a limiter brought to a state with a fractional quota left.
fn fractional_state(name: &str, clock: &Arc<FakeClock>) -> Box<dyn RateLimiter> {
    match name {
        "token_bucket" => {
            let bucket = TokenBucket::new(5, 2.0, dyn_clock(clock));
            assert!(bucket.hit("k", 5).allowed);
            clock.advance(1.75); // 3.5 tokens
            Box::new(bucket)
        }
        "fixed_window" => {
            let limiter = FixedWindow::new(5, 60.0, dyn_clock(clock));
            assert!(limiter.hit("k", 2).allowed);
            Box::new(limiter)
        }
        "sliding_window" => {
            let limiter = SlidingWindowCounter::new(10, 60.0, dyn_clock(clock));
            clock.set(W0 + 30.0);
            assert_eq!(admitted(&limiter, "k", 10), 10);
            clock.set(W0 + 75.0); // 10 * 0.75 = 7.5 carried over: 2.5 units of room
            Box::new(limiter)
        }
        "gcra" => {
            let limiter = Gcra::new(10, 60.0, 4, dyn_clock(clock)); // T = 6 s, tau = 18 s
            assert_eq!(admitted(&limiter, "k", 4), 4);
            clock.advance(9.0); // one and a half intervals have drained
            Box::new(limiter)
        }
        other => unreachable!("no limiter {other}"),
    }
}

#[test]
fn remaining_counts_the_hits_still_admitted() {
    for name in ["token_bucket", "fixed_window", "sliding_window", "gcra"] {
        let clock = FakeClock::new();
        let limiter = fractional_state(name, &clock);
        let mut decisions = Vec::new();
        for _ in 0..12 {
            let decision = limiter.hit("k", 1);
            decisions.push(decision);
            if !decision.allowed {
                break;
            }
        }
        let fitted = decisions.iter().filter(|d| d.allowed).count() as u64;
        assert!(
            fitted > 0 && decisions.last().is_some_and(|d| !d.allowed),
            "{name}: some hits fit, then one is denied: {decisions:?}"
        );
        let reported: Vec<u64> = decisions.iter().map(|d| d.remaining).collect();
        let expected: Vec<u64> = (0..fitted).rev().chain([0]).collect();
        assert_eq!(
            reported, expected,
            "{name}: `remaining` must be the number of further hits (cost 1) admitted right \
             now, rounded down: {fitted} hits fitted, so remaining should read {expected:?}"
        );
    }
}

/// name, limiter, costs of the hits to make, expected reset_after of the last one
type ResetCase = (&'static str, Box<dyn RateLimiter>, Vec<u64>, f64);

#[test]
fn reset_after_is_when_the_quota_is_restored() {
    // name, limiter, costs of the hits to make, expected reset_after of the last one
    let cases = |clock: &Arc<FakeClock>| -> Vec<ResetCase> {
        vec![
            // 3 of 4 tokens used, 2 per second: full again in 1.5 s
            (
                "token_bucket",
                Box::new(TokenBucket::new(4, 2.0, dyn_clock(clock))),
                vec![3],
                1.5,
            ),
            // START is 40 s into a 60 s window; 0.75 s later 19.25 s are left
            (
                "fixed_window",
                Box::new(FixedWindow::new(4, 60.0, dyn_clock(clock))),
                vec![1, 1],
                19.25,
            ),
            (
                "sliding_window",
                Box::new(SlidingWindowCounter::new(4, 60.0, dyn_clock(clock))),
                vec![2],
                19.25,
            ),
            // T = 6 s; after 3 units TAT = now + 3 * 6 = now + 18
            (
                "gcra",
                Box::new(Gcra::new(10, 60.0, 4, dyn_clock(clock))),
                vec![1, 2],
                18.0,
            ),
        ]
    };
    for index in 0..4 {
        let clock = FakeClock::new();
        let (name, limiter, costs, expected) = cases(&clock).swap_remove(index);
        clock.advance(0.75);
        let decisions: Vec<_> = costs.iter().map(|&cost| limiter.hit("k", cost)).collect();
        assert!(
            decisions.iter().all(|d| d.allowed),
            "{name}: these hits fit: {decisions:?}"
        );
        let reset_after = decisions.last().expect("one hit at least").reset_after;
        assert!(
            approx(reset_after, expected),
            "{name}: reset_after (the RateLimit `t`) must be {expected} s here: for the windows \
             the time left in the current window, for the token bucket and GCRA the time until \
             the full quota is back; got {reset_after}"
        );
    }
}
