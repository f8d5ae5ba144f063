//! Observability: what the emulator saw, readable in-process ([`Counters::snapshot`]) and over
//! HTTP (`GET /_emulator/counters`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    rows_served: AtomicU64,
    count_queries: AtomicU64,
    status_503: AtomicU64,
    status_429: AtomicU64,
    bucket_refusals: AtomicU64,
    oauth_refreshes: AtomicU64,
    oauth_refused: AtomicU64,
    events_delivered: AtomicU64,
    events_failed: AtomicU64,
    methods: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<BTreeMap<&'static str, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// HTTP requests to REST routes.
    pub requests: u64,
    /// Requests being handled now.
    pub in_flight: u64,
    /// The most requests ever handled at once.
    pub max_in_flight: u64,
    /// List rows returned (in every list call, batches included).
    pub rows_served: u64,
    /// List calls that ran a COUNT (`start >= 0`).
    pub count_queries: u64,
    /// Answers with status 503 (bucket, injected, overload).
    pub status_503: u64,
    /// Answers with status 429.
    pub status_429: u64,
    /// Requests the bucket refused (a subset of the 503s).
    pub bucket_refusals: u64,
    /// Successful refresh-token grants at the OAuth endpoint.
    pub oauth_refreshes: u64,
    /// Refused grants (`invalid_grant`, `invalid_client`...).
    pub oauth_refused: u64,
    /// Events a handler took (a 2xx answer).
    pub events_delivered: u64,
    /// Events whose handler failed or could not be reached.
    pub events_failed: u64,
    /// Calls per method (lower case), batch sub-calls included.
    pub methods: BTreeMap<String, u64>,
    /// Injected faults per kind.
    pub faults: BTreeMap<String, u64>,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn request_started(&self) {
        bump(&self.requests);
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
    }

    pub(crate) fn request_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn status(&self, status: u16) {
        match status {
            503 => bump(&self.status_503),
            429 => bump(&self.status_429),
            _ => {}
        }
    }

    pub(crate) fn bucket_refused(&self) {
        bump(&self.bucket_refusals);
    }

    pub(crate) fn rows(&self, n: u64) {
        self.rows_served.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn counted(&self) {
        bump(&self.count_queries);
    }

    pub(crate) fn oauth(&self, granted: bool) {
        bump(if granted { &self.oauth_refreshes } else { &self.oauth_refused });
    }

    pub(crate) fn event_delivered(&self, ok: bool) {
        bump(if ok { &self.events_delivered } else { &self.events_failed });
    }

    pub(crate) fn method(&self, name: &str) {
        if let Ok(mut m) = self.methods.lock() {
            *m.entry(name.to_owned()).or_default() += 1;
        }
    }

    pub(crate) fn fault(&self, kind: &'static str) {
        if let Ok(mut m) = self.faults.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            requests: load(&self.requests),
            in_flight: load(&self.in_flight),
            max_in_flight: load(&self.max_in_flight),
            rows_served: load(&self.rows_served),
            count_queries: load(&self.count_queries),
            status_503: load(&self.status_503),
            status_429: load(&self.status_429),
            bucket_refusals: load(&self.bucket_refusals),
            oauth_refreshes: load(&self.oauth_refreshes),
            oauth_refused: load(&self.oauth_refused),
            events_delivered: load(&self.events_delivered),
            events_failed: load(&self.events_failed),
            methods: self.methods.lock().map(|m| m.clone()).unwrap_or_default(),
            faults: self
                .faults
                .lock()
                .map(|m| m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
                .unwrap_or_default(),
        }
    }
}
