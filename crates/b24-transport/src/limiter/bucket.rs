//! The in-process leaky bucket: reservations in order, so thousands of concurrent calls each
//! learn their send time at once and none starves.

use std::sync::Mutex;
use std::time::Duration;

use b24_errors::Error;
use futures::future::BoxFuture;
use tokio::time::Instant;

use super::BucketStore;

/// The portal's bucket as the client mirrors it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    /// The portal's `X` (50 standard, 250 enterprise).
    pub capacity: u32,
    /// The portal's `Y` per second (2 standard, 5 enterprise).
    pub drain_per_sec: f64,
    /// Slots kept free for timing differences between the client and the portal (default 2).
    pub margin: u32,
    /// Real seconds per portal second (1; 0.1 against an emulator running ten times faster).
    pub time_scale: f64,
}

impl BucketConfig {
    /// Standard plans: 50 / 2 per second.
    pub const STANDARD: BucketConfig = BucketConfig { capacity: 50, drain_per_sec: 2.0, margin: 2, time_scale: 1.0 };
    /// Enterprise plans: 250 / 5 per second.
    pub const ENTERPRISE: BucketConfig = BucketConfig { capacity: 250, drain_per_sec: 5.0, margin: 2, time_scale: 1.0 };

    /// The same limits with a time scale.
    pub fn scaled(mut self, time_scale: f64) -> BucketConfig {
        self.time_scale = time_scale;
        self
    }

    fn ceiling(&self) -> f64 {
        f64::from(self.capacity.saturating_sub(self.margin).max(1))
    }

    /// Drain per real second.
    fn rate(&self) -> f64 {
        self.drain_per_sec / self.time_scale.max(1e-9)
    }
}

#[derive(Debug)]
struct State {
    /// The level at `at`.
    level: f64,
    /// The time of the last reservation (may be in the future).
    at: Instant,
    /// The ceiling now: lowered after a refusal, recovering after successes.
    ceiling: f64,
}

/// The in-process bucket (the default), shared by every clone of a client.
#[derive(Debug)]
pub struct LocalBucket {
    config: BucketConfig,
    state: Mutex<State>,
}

impl LocalBucket {
    /// An empty bucket.
    pub fn new(config: BucketConfig) -> LocalBucket {
        let state = State { level: 0.0, at: Instant::now(), ceiling: config.ceiling() };
        LocalBucket { config, state: Mutex::new(state) }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(e) => f(&mut e.into_inner()),
        }
    }

    /// Reserve a slot at `now`; the wait before sending.
    pub fn reserve_at(&self, now: Instant) -> Duration {
        let rate = self.config.rate();
        self.with_state(|s| {
            let mut t = now.max(s.at);
            let mut level = (s.level - rate * t.saturating_duration_since(s.at).as_secs_f64()).max(0.0);
            if level + 1.0 > s.ceiling {
                let wait = (level + 1.0 - s.ceiling) / rate;
                t += Duration::from_secs_f64(wait);
                level = s.ceiling - 1.0;
            }
            s.level = level + 1.0;
            s.at = t;
            t.saturating_duration_since(now)
        })
    }
}

impl BucketStore for LocalBucket {
    fn reserve(&self) -> BoxFuture<'_, Result<Duration, Error>> {
        let wait = self.reserve_at(Instant::now());
        Box::pin(async move { Ok(wait) })
    }

    fn on_refused(&self) {
        let floor = self.config.ceiling() / 2.0;
        self.with_state(|s| {
            let now = Instant::now();
            s.ceiling = (s.ceiling - 5.0).max(floor).max(1.0);
            if s.at <= now {
                s.at = now;
            }
            s.level = s.level.max(s.ceiling);
        });
    }

    fn on_success(&self) {
        let max = self.config.ceiling();
        self.with_state(|s| s.ceiling = (s.ceiling + 0.05).min(max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_drain() {
        let bucket = LocalBucket::new(BucketConfig::STANDARD);
        let now = Instant::now();
        let waits: Vec<Duration> = (0..60).map(|_| bucket.reserve_at(now)).collect();
        assert!(waits[..48].iter().all(Duration::is_zero), "the burst (50 minus a margin of 2) goes at once");
        for (i, w) in waits[48..].iter().enumerate() {
            let expected = 0.5 * (i + 1) as f64;
            assert!((w.as_secs_f64() - expected).abs() < 1e-6, "request {}: {w:?}", i + 48);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn drains_while_idle_and_honours_the_time_scale() {
        let bucket = LocalBucket::new(BucketConfig::STANDARD.scaled(0.1));
        for _ in 0..48 {
            assert!(bucket.reserve().await.map(|w| w.is_zero()).unwrap_or(false));
        }
        let w = bucket.reserve().await.unwrap_or_default();
        assert!((w.as_secs_f64() - 0.05).abs() < 1e-6, "20 per real second: {w:?}");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(bucket.reserve().await.map(|w| w.is_zero()).unwrap_or(false), "drained while idle");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_fills_and_tightens_then_successes_recover() {
        let bucket = LocalBucket::new(BucketConfig::STANDARD);
        bucket.on_refused();
        let w = bucket.reserve().await.unwrap_or_default();
        assert!(w >= Duration::from_millis(499), "the bucket is full after a refusal: {w:?}");
        let ceiling = bucket.with_state(|s| s.ceiling);
        assert!((ceiling - 43.0).abs() < 1e-9);
        for _ in 0..200 {
            bucket.on_success();
        }
        assert!((bucket.with_state(|s| s.ceiling) - 48.0).abs() < 1e-9);
    }
}
