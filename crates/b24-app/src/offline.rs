//! Offline events: the portal queues them (`event.bind` with `event_type=offline`); the app
//! fetches them with `event.offline.get`, handles them, and clears them with
//! `event.offline.clear`.
//!
//! # The contract: at least once, in order, nothing lost
//!
//! [`OfflineEvents::drain`] fetches with `clear=0`, so the portal marks the records with this
//! consumer's `process_id` and keeps them. Each record is cleared only after the handler
//! returned `Ok` for it. When the handler fails, the records already handled are cleared, the
//! failed one and those after it stay queued under the same `process_id`, and `drain` returns
//! `JSSDK_APP_HANDLER_FAILED`; the next `drain` of the same consumer fetches them again first.
//! A consumer that restarts must reuse its process id ([`OfflineEvents::process_id`],
//! [`OfflineEvents::resume`]): records marked by a lost process id are not handed to others.
//!
//! So an event is handled once or more, never zero times: if the process stops between a
//! handler's success and the clear, or the clear fails, the event comes again. Make handlers
//! idempotent (for example by the record's `MESSAGE_ID`).

use std::future::Future;

use b24_errors::{Code, Error};
use b24_transport::{B24Request, Transport};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// One queued event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OfflineEvent {
    /// The record's id in the queue.
    #[serde(rename = "ID", deserialize_with = "id")]
    pub id: u64,
    /// The event, e.g. `ONCRMDEALADD`.
    #[serde(rename = "EVENT_NAME")]
    pub event: String,
    /// Its data (as in an online event's `data`).
    #[serde(rename = "EVENT_DATA", default)]
    pub data: Value,
    /// Extra data (`EVENT_ADDITIONAL`: the user, the auth connector…).
    #[serde(rename = "EVENT_ADDITIONAL", default)]
    pub additional: Value,
    /// The change's id: several records of one change share it (deduplicate by it).
    #[serde(rename = "MESSAGE_ID", default)]
    pub message_id: String,
    /// When it was queued.
    #[serde(rename = "TIMESTAMP_X", default)]
    pub timestamp: Option<String>,
}

fn id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().ok_or_else(|| serde::de::Error::custom("a negative id")),
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("an id is a number")),
    }
}

#[derive(Deserialize)]
struct Fetched {
    #[serde(default)]
    process_id: Option<String>,
    #[serde(default)]
    events: Vec<OfflineEvent>,
}

/// What a [`OfflineEvents::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Drained {
    /// Events handled and cleared.
    pub handled: usize,
    /// `event.offline.get` calls made.
    pub fetches: usize,
}

/// A consumer of one portal's offline events.
#[derive(Debug, Clone)]
pub struct OfflineEvents {
    transport: Transport,
    auth_connector: Option<String>,
    limit: u32,
    process_id: Option<String>,
}

impl OfflineEvents {
    /// A consumer through `transport` (the portal's client).
    pub fn new(transport: Transport) -> OfflineEvents {
        OfflineEvents { transport, auth_connector: None, limit: 50, process_id: None }
    }

    /// Fetch only the events not caused by this source key (`auth_connector`).
    pub fn auth_connector(mut self, connector: impl Into<String>) -> OfflineEvents {
        self.auth_connector = Some(connector.into());
        self
    }

    /// Records per fetch (1 to 50; default 50).
    pub fn limit(mut self, limit: u32) -> OfflineEvents {
        self.limit = limit.clamp(1, 50);
        self
    }

    /// Continue with the process id of an earlier consumer (persisted across a restart), so
    /// the records it fetched and did not clear come again.
    pub fn resume(mut self, process_id: impl Into<String>) -> OfflineEvents {
        self.process_id = Some(process_id.into());
        self
    }

    /// The process id the portal marks this consumer's records with (after the first fetch).
    pub fn process_id(&self) -> Option<&str> {
        self.process_id.as_deref()
    }

    async fn fetch(&mut self) -> Result<Vec<OfflineEvent>, Error> {
        let mut params = Map::new();
        params.insert("clear".into(), json!(0));
        params.insert("limit".into(), json!(self.limit));
        if let Some(pid) = &self.process_id {
            params.insert("process_id".into(), json!(pid));
        }
        if let Some(connector) = &self.auth_connector {
            params.insert("auth_connector".into(), json!(connector));
        }
        let request = B24Request::v2("event.offline.get", &Value::Object(params))?.idempotent(true);
        let fetched: Fetched = self.transport.call(request).await?.json()?;
        if let Some(pid) = fetched.process_id.filter(|p| !p.is_empty()) {
            self.process_id = Some(pid);
        }
        Ok(fetched.events)
    }

    async fn clear(&self, ids: &[u64]) -> Result<(), Error> {
        let Some(pid) = &self.process_id else { return Ok(()) };
        let request = B24Request::v2("event.offline.clear", &json!({"process_id": pid, "id": ids}))?.idempotent(true);
        self.transport.call(request).await.map(drop)
    }

    /// Fetch, handle and clear until the queue is empty, in the portal's order. Stops at the
    /// first event the handler fails (see the module's contract).
    pub async fn drain<F, Fut>(&mut self, mut handler: F) -> Result<Drained, Error>
    where
        F: FnMut(OfflineEvent) -> Fut,
        Fut: Future<Output = Result<(), Error>>,
    {
        let mut drained = Drained::default();
        loop {
            let events = self.fetch().await?;
            drained.fetches += 1;
            if events.is_empty() {
                return Ok(drained);
            }
            let mut done = Vec::with_capacity(events.len());
            let mut failed = None;
            for event in events {
                let (id, name) = (event.id, event.event.clone());
                match handler(event).await {
                    Ok(()) => done.push(id),
                    Err(e) => {
                        failed = Some((id, name, e));
                        break;
                    }
                }
            }
            if !done.is_empty() {
                self.clear(&done).await?;
                drained.handled += done.len();
            }
            if let Some((id, name, e)) = failed {
                let message = format!(
                    "the handler failed on offline event {id} ({name}) after {} were handled and cleared; it and the rest stay queued: drain again",
                    drained.handled
                );
                return Err(Error::wrap(Code::JssdkAppHandlerFailed, message, e));
            }
        }
    }
}
