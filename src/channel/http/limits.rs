//! Flood limits: token buckets per client address and per conversation.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: f64,
    /// Requests added back per second.
    pub per_sec: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by address or conversation. Idle buckets are swept so a flood of new keys
/// cannot grow memory without bound.
pub struct Limiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// The most keys kept before idle (full) buckets are swept.
const SWEEP_AT: usize = 50_000;

impl<K: Eq + Hash + Clone> Limiter<K> {
    pub fn new(rate: Rate) -> Self {
        Self { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key`: `Ok` to go ahead, or how long to wait before retrying.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= SWEEP_AT {
            let full = |b: &Bucket| b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_sec >= rate.burst;
            buckets.retain(|_, b| !full(b));
        }
        let b = buckets.entry(key.clone()).or_insert(Bucket { tokens: rate.burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_sec).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / rate.per_sec.max(1e-9);
            Err(Duration::from_secs_f64(wait.min(3600.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let l = Limiter::new(Rate { burst: 3.0, per_sec: 2.0 });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take_at(&"a", t0).is_ok());
        }
        let wait = l.take_at(&"a", t0).expect_err("the fourth at once is refused");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert!(l.take_at(&"b", t0).is_ok(), "keys are independent");
        assert!(l.take_at(&"a", t0 + Duration::from_millis(500)).is_ok(), "refilled");
    }
}
