//! The portal's shared state and the types every method handler speaks.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};

use serde_json::Value;
use tokio::sync::Semaphore;

use crate::auth::Tokens;
use crate::clock::Clock;
use crate::counters::Counters;
pub(crate) use crate::data::Data;
pub(crate) use crate::errors::MethodError;
use crate::events::deliver::{self, Delivery, HttpClient};
use crate::faults::Faults;
use crate::limits::{Buckets, Operating};
use crate::settings::Settings;

/// The API a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    V2,
    V3,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// `webhook` or `oauth`: part of the operating-time key.
    pub(crate) auth_kind: &'static str,
    /// The webhook's user id or the app's client id: part of the operating-time key.
    pub(crate) credential: String,
    pub(crate) api: Api,
    /// The portal user the call acts as.
    pub(crate) user_id: u64,
}

/// A handler's success.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) result: Value,
    pub(crate) next: Option<u64>,
    pub(crate) total: Option<u64>,
    /// Handler time in virtual seconds (the cost model).
    pub(crate) cost: f64,
    /// Rows returned by a list call.
    pub(crate) rows: u64,
    /// Whether a list call counted.
    pub(crate) counted: bool,
    /// Send `result` as the whole body, outside the envelope (`rest.documentation.openapi`).
    pub(crate) raw: bool,
}

impl Outcome {
    pub(crate) fn value(result: Value, cost: f64) -> Outcome {
        Outcome { result, cost, ..Outcome::default() }
    }
}

/// A method's result.
pub(crate) type MethodResult = Result<Outcome, MethodError>;

/// A stored v3 idempotent answer.
#[derive(Debug, Clone)]
pub(crate) struct StoredAnswer {
    pub(crate) body_hash: u64,
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Everything the portal holds.
#[derive(Debug)]
pub(crate) struct Portal {
    pub(crate) settings: RwLock<Settings>,
    pub(crate) clock: Clock,
    pub(crate) data: Mutex<Data>,
    pub(crate) tokens: Mutex<Tokens>,
    pub(crate) buckets: Mutex<Buckets>,
    pub(crate) operating: Mutex<Operating>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) counters: Counters,
    pub(crate) workers: Semaphore,
    pub(crate) idempotency: Mutex<HashMap<String, StoredAnswer>>,
    /// The client events are delivered with.
    pub(crate) http: HttpClient,
    /// Every event delivery attempted.
    pub(crate) deliveries: Mutex<Vec<Delivery>>,
    /// `scheme://host:port`, set once the listener is bound.
    pub(crate) base_url: RwLock<String>,
}

/// Lock a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Portal {
    pub(crate) fn new(settings: Settings) -> Portal {
        let data = Data::new(&settings);
        Portal {
            clock: Clock::new(settings.time_scale),
            data: Mutex::new(data),
            tokens: Mutex::new(Tokens::default()),
            buckets: Mutex::new(Buckets::default()),
            operating: Mutex::new(Operating::default()),
            faults: Mutex::new(Faults::new(settings.faults.clone())),
            counters: Counters::default(),
            workers: Semaphore::new(settings.cost.workers.max(1)),
            idempotency: Mutex::new(HashMap::new()),
            http: deliver::client(),
            deliveries: Mutex::new(Vec::new()),
            base_url: RwLock::new(String::new()),
            settings: RwLock::new(settings),
        }
    }

    /// A copy of the settings.
    pub(crate) fn settings(&self) -> Settings {
        self.settings.read().map(|s| s.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    pub(crate) fn base_url(&self) -> String {
        self.base_url.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// The cost of a call under the model (0 when costs are off).
    pub(crate) fn cost(&self, secs: f64) -> f64 {
        if self.settings.read().map(|s| s.cost.enabled).unwrap_or(false) { secs } else { 0.0 }
    }
}
