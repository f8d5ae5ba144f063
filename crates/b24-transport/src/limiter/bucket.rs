//! The in-process leaky bucket. Requests in flight count in full; answered requests drain at
//! the portal's rate from their answer on (see [`super::BucketStore`] for why this bound is
//! safe). Waiters queue in order behind one gate, so thousands of concurrent calls neither spin
//! nor starve.

use std::sync::Mutex;
use std::time::Duration;

use b24_errors::Error;
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::BucketStore;

/// The portal's bucket as the client mirrors it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    /// The portal's `X` (50 standard, 250 enterprise).
    pub capacity: u32,
    /// The portal's `Y` per second (2 standard, 5 enterprise).
    pub drain_per_sec: f64,
    /// Slots kept free for the portal draining in whole units (default 2).
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

    /// The most requests counted at once: the capacity less the margin (at least one).
    pub fn ceiling(&self) -> f64 {
        f64::from(self.capacity.saturating_sub(self.margin).max(1))
    }

    /// Drain per real second.
    pub fn rate(&self) -> f64 {
        self.drain_per_sec / self.time_scale.max(1e-9)
    }
}

#[derive(Debug)]
struct State {
    /// The answered requests' level at `at` (drains continuously).
    answered: f64,
    at: Instant,
    /// Requests sent (or about to be) and not yet answered.
    in_flight: u32,
    /// The ceiling now: lowered after a refusal, recovering after successes.
    ceiling: f64,
}

/// Why a slot could not be taken now.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Blocked {
    /// The answered level must drain this long.
    Drain(Duration),
    /// Too much is in flight: wait for an answer.
    Answer,
}

/// The in-process bucket (the default), shared by every clone of a client.
#[derive(Debug)]
pub struct LocalBucket {
    config: BucketConfig,
    state: Mutex<State>,
    gate: tokio::sync::Mutex<()>,
    answers: Notify,
}

impl LocalBucket {
    /// An empty bucket.
    pub fn new(config: BucketConfig) -> LocalBucket {
        let state = State { answered: 0.0, at: Instant::now(), in_flight: 0, ceiling: config.ceiling() };
        LocalBucket { config, state: Mutex::new(state), gate: tokio::sync::Mutex::new(()), answers: Notify::new() }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(e) => f(&mut e.into_inner()),
        }
    }

    fn drain(&self, s: &mut State, now: Instant) {
        let elapsed = now.saturating_duration_since(s.at).as_secs_f64();
        s.answered = (s.answered - self.config.rate() * elapsed).max(0.0);
        s.at = now.max(s.at);
    }

    /// Take a slot at `now` if the bound allows it.
    fn try_take(&self, now: Instant) -> Result<(), Blocked> {
        self.with_state(|s| {
            self.drain(s, now);
            let excess = s.answered + f64::from(s.in_flight) + 1.0 - s.ceiling;
            if excess <= 1e-9 {
                s.in_flight += 1;
                Ok(())
            } else if s.answered >= excess {
                Err(Blocked::Drain(Duration::from_secs_f64(excess / self.config.rate())))
            } else {
                Err(Blocked::Answer)
            }
        })
    }

    fn answer_at(&self, refused: bool, now: Instant) {
        let floor = (self.config.ceiling() / 2.0).max(1.0);
        let max = self.config.ceiling();
        self.with_state(|s| {
            self.drain(s, now);
            s.in_flight = s.in_flight.saturating_sub(1);
            if refused {
                s.ceiling = (s.ceiling - 5.0).max(floor);
                s.answered = s.answered.max(s.ceiling);
            } else {
                s.answered += 1.0;
                s.ceiling = (s.ceiling + 0.05).min(max);
            }
        });
        self.answers.notify_one();
    }

    /// Requests counted as in flight now.
    pub fn in_flight(&self) -> u32 {
        self.with_state(|s| s.in_flight)
    }
}

impl BucketStore for LocalBucket {
    fn acquire(&self) -> BoxFuture<'_, Result<Duration, Error>> {
        Box::pin(async move {
            let _turn = self.gate.lock().await;
            let started = Instant::now();
            let mut waited = false;
            loop {
                match self.try_take(Instant::now()) {
                    Ok(()) => return Ok(if waited { started.elapsed() } else { Duration::ZERO }),
                    Err(Blocked::Drain(wait)) => {
                        waited = true;
                        tokio::time::sleep(wait).await;
                    }
                    Err(Blocked::Answer) => {
                        waited = true;
                        // An answer moves a request from in flight to draining; re-check on each
                        // (and at least every second, in case an answer was missed).
                        let _ = tokio::time::timeout(Duration::from_secs(1), self.answers.notified()).await;
                    }
                }
            }
        })
    }

    fn on_answer(&self, refused: bool) {
        self.answer_at(refused, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn in_flight_requests_count_until_answered() {
        let bucket = LocalBucket::new(BucketConfig::STANDARD);
        let now = Instant::now();
        for _ in 0..48 {
            assert_eq!(bucket.try_take(now), Ok(()), "the burst (50 minus a margin of 2) goes at once");
        }
        assert_eq!(bucket.try_take(now), Err(Blocked::Answer), "all 48 are in flight: nothing drains yet");
        bucket.answer_at(false, now);
        assert_eq!(
            bucket.try_take(now),
            Err(Blocked::Drain(Duration::from_millis(500))),
            "one answered unit drains in 0.5 s"
        );
        for _ in 0..47 {
            bucket.answer_at(false, now);
        }
        assert_eq!(bucket.try_take(now), Err(Blocked::Drain(Duration::from_millis(500))));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(bucket.try_take(Instant::now()), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_paces_a_queue_at_the_drain_rate_and_honours_the_time_scale() {
        let bucket = std::sync::Arc::new(LocalBucket::new(BucketConfig::STANDARD.scaled(0.1)));
        let start = Instant::now();
        for _ in 0..58 {
            bucket.acquire().await.expect("slot");
            bucket.on_answer(false);
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((elapsed - 0.5).abs() < 1e-6, "48 at once, then 10 at 20 per real second: {elapsed}");
        tokio::time::advance(Duration::from_secs(10)).await;
        let t = Instant::now();
        bucket.acquire().await.expect("slot");
        assert_eq!(t.elapsed(), Duration::ZERO, "drained while idle");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_fills_and_tightens_then_successes_recover() {
        let bucket = LocalBucket::new(BucketConfig::STANDARD);
        bucket.acquire().await.expect("slot");
        bucket.on_answer(true);
        let t = Instant::now();
        bucket.acquire().await.expect("slot");
        assert_eq!(t.elapsed(), Duration::from_millis(500), "the bucket is full after a refusal");
        assert!((bucket.with_state(|s| s.ceiling) - 43.0).abs() < 1e-9);
        for _ in 0..200 {
            bucket.on_answer(false);
        }
        assert!((bucket.with_state(|s| s.ceiling) - 48.0).abs() < 1e-9);
    }
}
