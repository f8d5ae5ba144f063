//! `event.bind`, `event.unbind` and `event.get`: which events the portal delivers to the app,
//! and where.

use b24_errors::Error;
use b24_transport::{B24Request, Transport};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// How a bound event is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// POSTed to the handler URL as it happens (the default).
    #[default]
    Online,
    /// Queued at the portal for [`crate::offline::OfflineEvents`] to fetch.
    Offline,
}

/// One `event.bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The event, e.g. `ONCRMDEALADD`.
    pub event: String,
    /// The app's URL the portal POSTs to (ignored for offline delivery).
    pub handler: String,
    /// Deliver with the tokens of this user (`auth_type`); `None`: the user who raised it.
    pub auth_type: Option<u64>,
    /// Online or offline.
    pub delivery: Delivery,
    /// For offline events: the source key whose own changes are not queued (`auth_connector`).
    pub auth_connector: Option<String>,
}

impl Binding {
    /// Deliver `event` online to `handler`.
    pub fn online(event: impl Into<String>, handler: impl Into<String>) -> Binding {
        Binding {
            event: event.into(),
            handler: handler.into(),
            auth_type: None,
            delivery: Delivery::Online,
            auth_connector: None,
        }
    }

    /// Queue `event` for the offline consumer.
    pub fn offline(event: impl Into<String>) -> Binding {
        Binding { delivery: Delivery::Offline, ..Binding::online(event, "") }
    }

    fn params(&self) -> Value {
        let mut params = Map::new();
        params.insert("event".into(), json!(self.event));
        if !self.handler.is_empty() {
            params.insert("handler".into(), json!(self.handler));
        }
        if let Some(user) = self.auth_type {
            params.insert("auth_type".into(), json!(user));
        }
        if self.delivery == Delivery::Offline {
            params.insert("event_type".into(), json!("offline"));
        }
        if let Some(connector) = &self.auth_connector {
            params.insert("auth_connector".into(), json!(connector));
        }
        Value::Object(params)
    }
}

/// What `event.get` lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Bound {
    /// The event, as the portal spells it.
    pub event: String,
    /// The handler URL (empty for offline bindings).
    #[serde(default)]
    pub handler: String,
    /// The user whose tokens come with it (`0`: the one who raised it).
    #[serde(default, deserialize_with = "number")]
    pub auth_type: u64,
    /// 1 for offline bindings.
    #[serde(default, deserialize_with = "number")]
    pub offline: u64,
}

fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    })
}

/// True when the portal refused a bind because the same binding exists.
fn already_bound(e: &Error) -> bool {
    e.root().message().to_ascii_lowercase().contains("already bind")
}

/// `event.bind`. Binding what is already bound is not an error (the portal's "Handler already
/// binded" is taken as done): true when a new binding was made.
pub async fn bind(transport: &Transport, binding: &Binding) -> Result<bool, Error> {
    match transport.call(B24Request::v2("event.bind", &binding.params())?.idempotent(true)).await {
        Ok(_) => Ok(true),
        Err(e) if already_bound(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `event.unbind`: how many bindings were removed.
pub async fn unbind(transport: &Transport, binding: &Binding) -> Result<u64, Error> {
    let answer = transport.call(B24Request::v2("event.unbind", &binding.params())?).await?.value()?;
    Ok(answer.get("count").and_then(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.parse().ok()))).unwrap_or(0))
}

/// `event.get`: the app's bindings in this portal.
pub async fn bound(transport: &Transport) -> Result<Vec<Bound>, Error> {
    transport.call(B24Request::v2("event.get", &json!({}))?).await?.json()
}
