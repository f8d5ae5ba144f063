//! The in-process operating-time tracker: per method, the last reported `operating` and
//! `operating_reset_at`, the calls in flight and their typical cost. A method near its budget
//! is slowed to one call at a time, and held back once the budget is spent until its oldest
//! basket frees; other methods are never blocked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use b24_errors::Error;
use futures::future::BoxFuture;
use tokio::time::Instant;

use super::{Admission, OperatingReport, OperatingStore};

/// The portal's operating-time budget as the client mirrors it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingConfig {
    /// Seconds per window (cloud: 480).
    pub limit_secs: f64,
    /// Above this share of the limit, a method runs one call at a time (default 0.9).
    pub slow_down_at: f64,
    /// How long to hold a method after a 429 when the portal did not say (one basket: 60 s).
    pub blocked_default_secs: f64,
    /// Real seconds per portal second.
    pub time_scale: f64,
}

impl Default for OperatingConfig {
    fn default() -> Self {
        OperatingConfig { limit_secs: 480.0, slow_down_at: 0.9, blocked_default_secs: 60.0, time_scale: 1.0 }
    }
}

impl OperatingConfig {
    /// The same limits with a time scale.
    pub fn scaled(mut self, time_scale: f64) -> OperatingConfig {
        self.time_scale = time_scale;
        self
    }

    fn real(&self, portal_secs: f64) -> Duration {
        Duration::from_secs_f64((portal_secs * self.time_scale).max(0.0))
    }
}

#[derive(Debug, Default, Clone)]
struct Method {
    operating: f64,
    reset_at: Option<Instant>,
    in_flight: u32,
    /// Typical handler time (portal seconds), an exponential average.
    cost: f64,
    blocked_until: Option<Instant>,
}

impl Method {
    fn learn(&mut self, r: OperatingReport, now: Instant) {
        self.operating = r.operating;
        if let Some(reset_in) = r.reset_in {
            self.reset_at = Some(now + reset_in);
        }
        if let Some(p) = r.processing {
            self.cost = if self.cost == 0.0 { p } else { 0.8 * self.cost + 0.2 * p };
        }
    }
}

/// The in-process default.
#[derive(Debug)]
pub struct LocalOperating {
    config: OperatingConfig,
    methods: Mutex<HashMap<String, Method>>,
}

impl LocalOperating {
    /// An empty tracker.
    pub fn new(config: OperatingConfig) -> LocalOperating {
        LocalOperating { config, methods: Mutex::new(HashMap::new()) }
    }

    fn with<T>(&self, method: &str, f: impl FnOnce(&mut Method) -> T) -> T {
        let mut map = self.methods.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = match map.get_mut(method) {
            Some(m) => m,
            None => map.entry(method.to_owned()).or_default(),
        };
        f(entry)
    }

    /// The decision for `method` at `now`.
    pub fn admit_at(&self, method: &str, now: Instant) -> Admission {
        let c = self.config;
        self.with(method, |m| {
            if let Some(until) = m.blocked_until {
                if until > now {
                    return Admission::Wait(until - now);
                }
                m.blocked_until = None;
            }
            let projected = m.operating + f64::from(m.in_flight) * m.cost;
            let poll = c.real(m.cost).max(Duration::from_millis(1));
            if projected + m.cost > c.limit_secs {
                match m.reset_at {
                    Some(reset) if reset > now => return Admission::Wait(reset - now),
                    // The oldest basket has dropped out; one probe call learns the new total.
                    _ if m.in_flight == 0 => {}
                    _ => return Admission::Wait(poll),
                }
            } else if projected >= c.slow_down_at * c.limit_secs && m.in_flight > 0 {
                return Admission::Wait(poll);
            }
            m.in_flight += 1;
            Admission::Go
        })
    }
}

impl OperatingStore for LocalOperating {
    fn admit<'a>(&'a self, method: &'a str) -> BoxFuture<'a, Result<Admission, Error>> {
        let decision = self.admit_at(method, Instant::now());
        Box::pin(async move { Ok(decision) })
    }

    fn finish(&self, method: &str, report: Option<OperatingReport>) {
        let now = Instant::now();
        self.with(method, |m| {
            m.in_flight = m.in_flight.saturating_sub(1);
            if let Some(r) = report {
                m.learn(r, now);
            }
        });
    }

    fn observe(&self, method: &str, report: OperatingReport) {
        let now = Instant::now();
        self.with(method, |m| m.learn(report, now));
    }

    fn on_blocked(&self, method: &str) {
        let now = Instant::now();
        let c = self.config;
        self.with(method, |m| {
            m.operating = m.operating.max(c.limit_secs);
            let until = match m.reset_at {
                Some(reset) if reset > now => reset,
                _ => now + c.real(c.blocked_default_secs),
            };
            m.blocked_until = Some(until);
        });
    }

    fn snapshot(&self) -> Vec<(String, f64)> {
        let map = self.methods.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<(String, f64)> = map.iter().map(|(k, m)| (k.clone(), m.operating)).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(operating: f64, reset_in: u64, processing: f64) -> Option<OperatingReport> {
        Some(OperatingReport { operating, reset_in: Some(Duration::from_secs(reset_in)), processing: Some(processing) })
    }

    #[tokio::test(start_paused = true)]
    async fn holds_a_spent_method_until_reset_and_never_others() {
        let ops = LocalOperating::new(OperatingConfig { limit_secs: 10.0, ..OperatingConfig::default() });
        let now = Instant::now();
        assert_eq!(ops.admit_at("crm.deal.list", now), Admission::Go);
        ops.finish("crm.deal.list", report(9.5, 300, 1.0));
        assert_eq!(ops.admit_at("crm.deal.list", now), Admission::Wait(Duration::from_secs(300)));
        assert_eq!(ops.admit_at("crm.item.list", now), Admission::Go, "other methods are not blocked");
        tokio::time::advance(Duration::from_secs(300)).await;
        let later = Instant::now();
        assert_eq!(ops.admit_at("crm.deal.list", later), Admission::Go, "one probe after the reset");
        assert!(matches!(ops.admit_at("crm.deal.list", later), Admission::Wait(_)), "only one probe at a time");
        ops.finish("crm.deal.list", report(2.0, 100, 1.0));
        assert_eq!(ops.admit_at("crm.deal.list", later), Admission::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn slows_to_one_at_a_time_near_the_threshold() {
        let ops = LocalOperating::new(OperatingConfig { limit_secs: 100.0, ..OperatingConfig::default() });
        let now = Instant::now();
        assert_eq!(ops.admit_at("m", now), Admission::Go);
        ops.finish("m", report(91.0, 600, 1.0));
        assert_eq!(ops.admit_at("m", now), Admission::Go);
        assert!(matches!(ops.admit_at("m", now), Admission::Wait(_)));
        ops.finish("m", report(50.0, 600, 1.0));
        assert_eq!(ops.admit_at("m", now), Admission::Go);
        assert_eq!(ops.admit_at("m", now), Admission::Go, "far from the threshold, calls run in parallel");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_for_a_basket_when_the_reset_is_unknown() {
        let ops = LocalOperating::new(OperatingConfig::default().scaled(0.5));
        ops.on_blocked("m");
        assert_eq!(ops.admit_at("m", Instant::now()), Admission::Wait(Duration::from_secs(30)));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(ops.admit_at("m", Instant::now()), Admission::Go);
    }
}
