//! Statistics a running client keeps: calls, attempts, retries, limiter waits, limit answers
//! seen, refreshes, per-method operating time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Live counters, shared by every layer of one client.
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) calls: AtomicU64,
    pub(crate) attempts: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_waits: AtomicU64,
    pub(crate) rate_wait_micros: AtomicU64,
    pub(crate) operating_waits: AtomicU64,
    pub(crate) operating_wait_micros: AtomicU64,
    pub(crate) seen_503: AtomicU64,
    pub(crate) seen_429: AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Calls made through the client.
    pub calls: u64,
    /// HTTP attempts (calls plus retries).
    pub attempts: u64,
    /// Retries.
    pub retries: u64,
    /// Attempts the rate limiter held back.
    pub rate_waits: u64,
    /// Total time the rate limiter held attempts back.
    pub rate_wait: Duration,
    /// Times the operating limiter held a call back.
    pub operating_waits: u64,
    /// Total time the operating limiter held calls back.
    pub operating_wait: Duration,
    /// `QUERY_LIMIT_EXCEEDED` / `OVERLOAD_LIMIT` answers seen (and retried or surfaced).
    pub seen_503: u64,
    /// `OPERATION_TIME_LIMIT` answers seen.
    pub seen_429: u64,
    /// OAuth token refreshes: ahead of expiry and after a refusal (0 for a webhook).
    pub refreshes: u64,
    /// The last reported operating time per method (portal seconds).
    pub operating: Vec<(String, f64)>,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn add_wait(count: &AtomicU64, micros: &AtomicU64, wait: Duration) {
    bump(count);
    micros.fetch_add(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl Stats {
    /// A copy now (`operating` and `refreshes` are filled in by the client from its operating
    /// store and its OAuth state).
    pub fn snapshot(&self) -> StatsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            calls: load(&self.calls),
            attempts: load(&self.attempts),
            retries: load(&self.retries),
            rate_waits: load(&self.rate_waits),
            rate_wait: Duration::from_micros(load(&self.rate_wait_micros)),
            operating_waits: load(&self.operating_waits),
            operating_wait: Duration::from_micros(load(&self.operating_wait_micros)),
            seen_503: load(&self.seen_503),
            seen_429: load(&self.seen_429),
            refreshes: 0,
            operating: Vec::new(),
        }
    }
}
