//! The operating-time limiter as its callers use it: the stack's [`OperatingLayer`] for each
//! call, and batch callers (the fast export) for the methods that travel inside a `batch`,
//! where the stack only sees `batch`. One admit/wait loop, one method key, one reading of the
//! `time` block, whatever the [`OperatingStore`] behind it.
//!
//! [`OperatingLayer`]: crate::layers::OperatingLayer

use std::sync::Arc;
use std::time::Duration;

use b24_errors::Error;

use super::{Admission, OperatingReport, OperatingStore};
use crate::response::Time;
use crate::stats::{Stats, add_wait};

/// The key a method's operating time is tracked under: the portal treats method names
/// case-insensitively, so `CRM.Deal.List` and `crm.deal.list` share one budget.
pub fn method_key(method: &str) -> String {
    method.to_ascii_lowercase()
}

/// Holds methods back before they cross their operating-time budget.
#[derive(Clone)]
pub struct OperatingLimiter {
    store: Arc<dyn OperatingStore>,
    stats: Arc<Stats>,
    time_scale: f64,
}

impl std::fmt::Debug for OperatingLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatingLimiter").field("time_scale", &self.time_scale).finish_non_exhaustive()
    }
}

impl OperatingLimiter {
    /// Track methods in `store`, counting waits in `stats`; `time_scale` converts the portal's
    /// seconds to real ones.
    pub fn new(store: Arc<dyn OperatingStore>, stats: Arc<Stats>, time_scale: f64) -> OperatingLimiter {
        OperatingLimiter { store, stats, time_scale }
    }

    /// Wait until `method` may run without crossing its budget; the permit is in flight until
    /// it is answered, refused or dropped.
    pub async fn admit(&self, method: &str) -> Result<OperatingPermit, Error> {
        let key = method_key(method);
        loop {
            match self.store.admit(&key).await? {
                Admission::Go => return Ok(OperatingPermit { limiter: Some(self.clone()), key, done: false }),
                Admission::Wait(wait) => {
                    add_wait(&self.stats.operating_waits, &self.stats.operating_wait_micros, wait);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// What a `time` block says: `reset_in` in real time (read relative to the same answer's
    /// `finish`, so the portal's clock and ours need not agree), `operating` and `processing` in
    /// portal seconds. The portal reports real seconds (under a time scale too, spec section 9),
    /// so the two are divided by the scale to compare them with the portal's limits.
    pub fn report(&self, time: &Time) -> Option<OperatingReport> {
        let scale = if self.time_scale > 0.0 { self.time_scale } else { 1.0 };
        let operating = time.operating? / scale;
        let reset_in = match (time.operating_reset_at, time.finish.or(time.start)) {
            (Some(reset), Some(now)) => Some(Duration::from_secs_f64((reset - now).max(0.0))),
            _ => None,
        };
        Some(OperatingReport { operating, reset_in, processing: time.processing.map(|p| p / scale) })
    }

    /// The method budgets seen so far (portal seconds), by method key.
    pub fn snapshot(&self) -> Vec<(String, f64)> {
        self.store.snapshot()
    }
}

/// Leave to run one call (or one batch's commands) of a method. Tell it what came back:
/// [`OperatingPermit::answered`] with the answer's `time`, or [`OperatingPermit::refused`] on
/// `OPERATION_TIME_LIMIT`; dropped unanswered (a cancelled call), it frees its slot.
#[derive(Debug)]
#[must_use = "a permit holds the method's slot until it is answered or dropped"]
pub struct OperatingPermit {
    limiter: Option<OperatingLimiter>,
    key: String,
    done: bool,
}

impl OperatingPermit {
    /// A permit that tracks nothing (a client without an operating limiter).
    pub fn unlimited() -> OperatingPermit {
        OperatingPermit { limiter: None, key: String::new(), done: true }
    }

    /// Learn from the `time` of one answer of this method (a batch command's `result_time`)
    /// while the permit stays in flight.
    pub fn observe(&self, time: &Time) {
        if let Some(l) = &self.limiter
            && let Some(report) = l.report(time)
        {
            l.store.observe(&self.key, report);
        }
    }

    /// The call was answered; `time` is the answer's `time` block, if any.
    pub fn answered(mut self, time: Option<&Time>) {
        if let Some(l) = &self.limiter {
            l.store.finish(&self.key, time.and_then(|t| l.report(t)));
        }
        self.done = true;
    }

    /// The portal refused the method with `OPERATION_TIME_LIMIT`: hold it until its budget
    /// frees, in this process and (with a shared store) in every other.
    pub fn refused(mut self) {
        if let Some(l) = &self.limiter {
            l.store.finish(&self.key, None);
            l.store.on_blocked(&self.key);
        }
        self.done = true;
    }
}

impl Drop for OperatingPermit {
    fn drop(&mut self) {
        if !self.done
            && let Some(l) = &self.limiter
        {
            l.store.finish(&self.key, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limiter::{LocalOperating, OperatingConfig};

    fn limiter(limit_secs: f64) -> OperatingLimiter {
        let store = Arc::new(LocalOperating::new(OperatingConfig { limit_secs, ..OperatingConfig::default() }));
        OperatingLimiter::new(store, Arc::new(Stats::default()), 1.0)
    }

    fn time(json: &str) -> Time {
        serde_json::from_str(json).expect("time")
    }

    #[test]
    fn one_key_whatever_the_case() {
        assert_eq!(method_key("CRM.Deal.List"), method_key("crm.deal.list"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_permit_frees_its_slot() {
        let limiter = limiter(100.0);
        let spent = time(r#"{"start":1000,"finish":1000.5,"processing":1,"operating":95,"operating_reset_at":1600}"#);
        limiter.admit("m").await.expect("go").answered(Some(&spent));
        // Near the threshold the method runs one call at a time: a permit held blocks the next…
        let held = limiter.admit("M").await.expect("go");
        let next = tokio::time::timeout(Duration::from_secs(5), limiter.admit("m")).await;
        assert!(next.is_err(), "held back while one call is in flight");
        // …and dropping it (a cancelled call) lets the next one go.
        drop(held);
        limiter.admit("m").await.expect("go after the drop").answered(None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_holds_the_method_until_its_reset() {
        let limiter = limiter(480.0);
        let start = tokio::time::Instant::now();
        limiter.admit("crm.deal.list").await.expect("go").refused();
        limiter.admit("crm.item.list").await.expect("other methods go").answered(None);
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.admit("crm.deal.list").await.expect("after a basket").answered(None);
        assert_eq!(start.elapsed(), Duration::from_secs(60), "one basket by default");
    }

    #[tokio::test(start_paused = true)]
    async fn observing_batch_commands_teaches_the_budget() {
        let limiter = limiter(480.0);
        let permit = limiter.admit("crm.deal.list").await.expect("go");
        permit
            .observe(&time(r#"{"start":10,"finish":10.2,"processing":0.2,"operating":479.9,"operating_reset_at":40}"#));
        permit.answered(None);
        let start = tokio::time::Instant::now();
        limiter.admit("crm.deal.list").await.expect("after the reset").answered(None);
        assert!(start.elapsed() >= Duration::from_secs(29), "waited for the reset: {:?}", start.elapsed());
    }
}
