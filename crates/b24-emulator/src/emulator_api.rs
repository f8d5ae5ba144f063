//! The emulator's own HTTP API under `/_emulator/` (not part of a portal): `counters`.

use serde_json::Value;

use crate::portal::Portal;
use crate::reply::{self, Body};

/// Serve `/_emulator/<action>`.
pub(crate) async fn handle(portal: &Portal, action: &str, _params: &Value) -> http::Response<Body> {
    match action.trim_end_matches('/') {
        "counters" => {
            let snapshot = portal.counters.snapshot();
            reply::json(200, &serde_json::to_value(snapshot).unwrap_or(Value::Null))
        }
        _ => reply::text(404, "Not Found"),
    }
}
