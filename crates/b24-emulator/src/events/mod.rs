//! Events, the portal's side: handlers bound with `event.bind`, the changes the data makes
//! (`ONCRMDEALADD` after `crm.deal.add`...), online delivery as form POSTs to the handler URL
//! (see [`deliver`]), and the offline queue that `event.offline.*` reads (see [`offline`]).

pub(crate) mod app;
pub(crate) mod deliver;
pub(crate) mod names;
pub(crate) mod offline;

use serde_json::{Value, json};

use crate::clock::iso8601;
use crate::data::Data;
use crate::portal::Portal;

/// After a call: route its changes (offline bindings queue them) and give the online
/// deliveries to make, their auth blocks filled in.
pub(crate) fn publish(portal: &Portal, data: &mut Data, changes: Vec<Change>, now: f64) -> Vec<deliver::Post> {
    if changes.is_empty() || data.events.bindings.is_empty() {
        return Vec::new();
    }
    let pending = data.events.publish(changes, &iso8601(portal.clock.wall(now)));
    deliver::posts(portal, pending)
}

/// A change the data made, as an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// The event name, upper case (`ONCRMDEALADD`).
    pub(crate) event: String,
    /// The event's `data` (`{"FIELDS": {"ID": 5}}`).
    pub(crate) data: Value,
    /// The `auth_connector` of the call that made it: bindings with the same connector skip it.
    pub(crate) connector: Option<String>,
    /// The user who made it.
    pub(crate) user_id: u64,
}

/// A bound handler.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Binding {
    pub(crate) id: u64,
    /// Upper case.
    pub(crate) event: String,
    /// The URL (empty for offline bindings without one).
    pub(crate) handler: String,
    /// The user the handler's tokens act as (0: the user who made the change).
    pub(crate) auth_type: u64,
    pub(crate) offline: bool,
    /// `auth_connector`: the source key.
    pub(crate) connector: Option<String>,
}

impl Binding {
    /// As `event.get` lists it.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "event": self.event,
            "handler": self.handler,
            "auth_type": self.auth_type.to_string(),
            "offline": u8::from(self.offline),
        });
        if let Some(c) = &self.connector {
            v["connector_id"] = json!(c);
        }
        v
    }
}

/// A delivery to make: an online binding and the change it gets.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) binding: Binding,
    pub(crate) change: Change,
}

/// The portal's bindings and offline queue.
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub(crate) bindings: Vec<Binding>,
    pub(crate) offline: offline::Queue,
    next_binding: u64,
}

impl Events {
    /// Bind a handler; `false` (and nothing changes) when the same one is bound already.
    pub(crate) fn bind(&mut self, mut binding: Binding) -> bool {
        let same = |b: &Binding| {
            b.event == binding.event
                && b.handler == binding.handler
                && b.offline == binding.offline
                && b.connector == binding.connector
        };
        if self.bindings.iter().any(same) {
            return false;
        }
        self.next_binding += 1;
        binding.id = self.next_binding;
        self.bindings.push(binding);
        true
    }

    /// Unbind the handlers matching; how many went.
    pub(crate) fn unbind(&mut self, event: &str, handler: &str, offline: Option<bool>) -> usize {
        let before = self.bindings.len();
        self.bindings.retain(|b| {
            !(b.event == event
                && (handler.is_empty() || b.handler == handler)
                && offline.is_none_or(|o| b.offline == o))
        });
        before - self.bindings.len()
    }

    /// Route changes: offline bindings queue them, online ones give deliveries to make.
    pub(crate) fn publish(&mut self, changes: Vec<Change>, now_iso: &str) -> Vec<Pending> {
        let mut pending = Vec::new();
        for change in changes {
            for binding in self.bindings.iter().filter(|b| b.event == change.event) {
                if binding.connector.is_some() && binding.connector == change.connector {
                    continue;
                }
                if binding.offline {
                    self.offline.push(&change, binding.connector.clone(), now_iso);
                } else {
                    pending.push(Pending { binding: binding.clone(), change: change.clone() });
                }
            }
        }
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(event: &str, handler: &str, offline: bool, connector: Option<&str>) -> Binding {
        Binding {
            id: 0,
            event: event.into(),
            handler: handler.into(),
            auth_type: 0,
            offline,
            connector: connector.map(str::to_owned),
        }
    }

    #[test]
    fn routing() {
        let mut e = Events::default();
        assert!(e.bind(binding("ONCRMDEALADD", "http://a", false, None)));
        assert!(!e.bind(binding("ONCRMDEALADD", "http://a", false, None)));
        assert!(e.bind(binding("ONCRMDEALADD", "", true, Some("sync"))));
        assert_eq!(e.bindings.len(), 2, "the same binding twice is one");
        let change = |connector: Option<&str>| Change {
            event: "ONCRMDEALADD".into(),
            data: json!({"FIELDS": {"ID": 1}}),
            connector: connector.map(str::to_owned),
            user_id: 1,
        };
        let pending = e.publish(vec![change(None), change(Some("sync"))], "2024-01-01T00:00:00+00:00");
        assert_eq!(pending.len(), 2, "online: both");
        assert_eq!(e.offline.len(), 1, "offline: not the change made with its own connector");
        assert_eq!(e.unbind("ONCRMDEALADD", "http://a", Some(false)), 1);
    }
}
