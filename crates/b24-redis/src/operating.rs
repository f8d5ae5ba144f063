//! Operating-time state on Redis, shared by every process of one app on one portal: per
//! method, the last reported `operating` and reset time, the calls in flight and their typical
//! cost. Each admission is one server-side script, so two processes never both take the last
//! of a method's budget.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use b24_errors::Error;
use b24_transport::limiter::{Admission, LocalOperating, OperatingConfig, OperatingReport, OperatingStore};
use futures::future::BoxFuture;
use redis::Script;

use crate::conn::{Conn, Fallback};

static ADMIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/operating_admit.lua")));
static REPORT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/operating_report.lua")));

/// What changed about a method, for [`REPORT`].
enum Change {
    Report(OperatingReport),
    Nothing,
    Blocked,
}

/// The shared operating-time state of one app.
pub struct RedisOperating {
    conn: Arc<Conn>,
    base: String,
    config: OperatingConfig,
    owner: String,
    next: AtomicU64,
    /// Per method, the calls this process was admitted for: `Some(member)` when counted in
    /// Redis, `None` when counted by the fallback.
    held: Mutex<HashMap<String, VecDeque<Option<String>>>>,
    /// The last operating time seen per method (for statistics).
    seen: Mutex<HashMap<String, f64>>,
    fallback: LocalOperating,
    in_flight_ttl: Duration,
}

impl std::fmt::Debug for RedisOperating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOperating").field("keys", &self.base).field("config", &self.config).finish_non_exhaustive()
    }
}

/// A forgotten method's state goes away after a window and a half (in real time).
fn idle_ttl(config: &OperatingConfig) -> u64 {
    ((900.0 * config.time_scale * 1000.0) as u64).max(60_000)
}

impl RedisOperating {
    pub(crate) fn new(
        conn: Arc<Conn>,
        base: String,
        config: OperatingConfig,
        in_flight_ttl: Duration,
    ) -> RedisOperating {
        RedisOperating {
            conn,
            base,
            config,
            owner: crate::process_id(),
            next: AtomicU64::new(0),
            held: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            fallback: LocalOperating::new(config),
            in_flight_ttl,
        }
    }

    fn hold(&self, method: &str, member: Option<String>) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.entry(method.to_owned()).or_default().push_back(member);
    }

    fn release(&self, method: &str) -> Option<Option<String>> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get_mut(method).and_then(VecDeque::pop_front)
    }

    fn remember(&self, method: &str, operating: f64) {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(method.to_owned(), operating);
    }

    async fn admit_shared(&self, method: &str) -> Result<Admission, Error> {
        let member = format!("{}:{}", self.owner, self.next.fetch_add(1, Ordering::Relaxed));
        let [hash, flight] = crate::keys::operating(&self.base, method);
        let c = self.config;
        let wait: i64 = self
            .conn
            .run(
                ADMIT
                    .key(&hash)
                    .key(&flight)
                    .arg(c.limit_secs)
                    .arg(c.slow_down_at)
                    .arg(c.time_scale)
                    .arg(&member)
                    .arg(self.in_flight_ttl.as_millis().max(1) as u64)
                    .arg(idle_ttl(&c)),
            )
            .await?;
        if wait <= 0 {
            self.hold(method, Some(member));
            Ok(Admission::Go)
        } else {
            Ok(Admission::Wait(Duration::from_millis(wait.unsigned_abs())))
        }
    }

    /// Record `change` for `method` (and release `member`) in the background: until it lands
    /// the call counts as in flight, which only makes the limiter more careful.
    fn record(&self, method: &str, member: Option<String>, change: Change) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let conn = self.conn.clone();
        let [hash, flight] = crate::keys::operating(&self.base, method);
        let c = self.config;
        let (kind, operating, reset_ms, processing) = match change {
            Change::Report(r) => (
                "report",
                r.operating.to_string(),
                r.reset_in.map(|d| d.as_millis().to_string()).unwrap_or_default(),
                r.processing.map(|p| p.to_string()).unwrap_or_default(),
            ),
            Change::Nothing => ("none", String::new(), String::new(), String::new()),
            Change::Blocked => ("blocked", String::new(), String::new(), String::new()),
        };
        let blocked_ms = (c.blocked_default_secs * c.time_scale * 1000.0).max(1.0) as u64;
        runtime.spawn(async move {
            let mut report = REPORT.key(&hash);
            report.key(&flight).arg(member.unwrap_or_default()).arg(kind).arg(operating).arg(reset_ms);
            report.arg(processing).arg(c.limit_secs).arg(blocked_ms).arg(idle_ttl(&c));
            if let Err(e) = conn.run::<String>(&report).await {
                tracing::debug!(target: "b24::redis", code = %e.code(), "operating: a report was not recorded");
            }
        });
    }
}

impl OperatingStore for RedisOperating {
    fn admit<'a>(&'a self, method: &'a str) -> BoxFuture<'a, Result<Admission, Error>> {
        Box::pin(async move {
            if !self.conn.in_fallback() {
                match self.admit_shared(method).await {
                    Ok(admission) => return Ok(admission),
                    Err(e) if self.conn.fallback() == Fallback::Local => {
                        tracing::debug!(target: "b24::redis", code = %e.code(), "operating: using the in-process fallback");
                    }
                    Err(e) => return Err(e),
                }
            }
            let admission = self.fallback.admit(method).await?;
            if admission == Admission::Go {
                self.hold(method, None);
            }
            Ok(admission)
        })
    }

    fn finish(&self, method: &str, report: Option<OperatingReport>) {
        if let Some(r) = report {
            self.remember(method, r.operating);
        }
        match self.release(method) {
            Some(None) => self.fallback.finish(method, report),
            Some(Some(member)) => {
                let change = report.map_or(Change::Nothing, Change::Report);
                self.record(method, Some(member), change);
            }
            None => {
                if let Some(r) = report {
                    self.observe(method, r);
                }
            }
        }
    }

    fn observe(&self, method: &str, report: OperatingReport) {
        self.remember(method, report.operating);
        self.fallback.observe(method, report);
        self.record(method, None, Change::Report(report));
    }

    fn on_blocked(&self, method: &str) {
        self.fallback.on_blocked(method);
        self.record(method, None, Change::Blocked);
    }

    fn snapshot(&self) -> Vec<(String, f64)> {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<(String, f64)> = seen.iter().map(|(k, v)| (k.clone(), *v)).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
