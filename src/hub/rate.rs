//! Token buckets: per token for commands, so one runaway client cannot flood the journal, per
//! connection for its housekeeping frames (resync, status, ping), and per phone address for
//! survey answers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before full ones are dropped.
const MAX_KEYS: usize = 4096;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// One bucket: `burst` at once, then `per_second`.
#[derive(Debug, Clone)]
pub struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(per_second: f64, burst: f64) -> Bucket {
        Bucket::full_at(per_second.max(0.001), burst.max(1.0), Instant::now())
    }

    fn full_at(per_second: f64, burst: f64, now: Instant) -> Bucket {
        Bucket { per_second, burst, tokens: burst, last: now }
    }

    /// Takes one; on refusal, says when the next one will fit.
    pub fn take(&mut self) -> Result<(), Duration> {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
        }
    }
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_second: per_second.max(0.001),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one command's worth for `key`; on refusal, says when the next one will fit.
    pub fn allow(&self, key: &str) -> Result<(), Duration> {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Keys from the Internet (phone addresses) are many: a bucket that has filled up again
        // is the same as none, so those go when the map grows.
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let refill = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, b| now.saturating_duration_since(b.last) < refill);
        }
        let bucket = buckets
            .entry(key.to_string())
            .or_insert_with(|| Bucket::full_at(self.per_second, self.burst, now));
        bucket.take_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate_per_key() {
        let limiter = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.allow_at("a", t0).is_ok());
        }
        let wait = limiter.allow_at("a", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert!(limiter.allow_at("b", t0).is_ok(), "other keys have their own bucket");
        assert!(limiter.allow_at("a", t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.allow_at("a", t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn many_keys_do_not_grow_the_map_past_its_bound_and_busy_keys_stay_limited() {
        let limiter = RateLimiter::new(1.0, 2.0);
        let t0 = Instant::now();
        limiter.allow_at("busy", t0).unwrap();
        limiter.allow_at("busy", t0).unwrap();
        // A new address every millisecond for 8 s: those not seen for 2 s (a full bucket) go.
        for i in 0..MAX_KEYS as u64 * 2 {
            limiter.allow_at(&format!("phone-{i}"), t0 + Duration::from_millis(5000 + i)).unwrap();
            assert!(limiter.buckets.lock().unwrap().len() <= MAX_KEYS);
        }
        let later = t0 + Duration::from_millis(5000 + MAX_KEYS as u64 * 2);
        limiter.allow_at("busy", later).unwrap();
        limiter.allow_at("busy", later).unwrap();
        assert!(limiter.allow_at("busy", later).is_err(), "still limited");
    }
}
