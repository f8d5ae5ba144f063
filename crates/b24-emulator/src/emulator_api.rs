//! The emulator's own HTTP API under `/_emulator/` (not part of a portal): `counters`,
//! `notifications`, `deliveries`, and the actions `install` / `uninstall` (param `handler`: the
//! app's URL), which answer `{"status": <the app's HTTP status or null>}`.

use serde_json::{Value, json};

use crate::events::app;
use crate::portal::{Portal, lock};
use crate::reply::{self, Body};

/// Serve `/_emulator/<action>`.
pub(crate) async fn handle(portal: &Portal, action: &str, params: &Value) -> http::Response<Body> {
    let handler = params.get("handler").and_then(Value::as_str).unwrap_or("");
    let value = match action.trim_end_matches('/') {
        "counters" => serde_json::to_value(portal.counters.snapshot()),
        "notifications" => serde_json::to_value(lock(&portal.data).notifications.clone()),
        "deliveries" => serde_json::to_value(lock(&portal.deliveries).clone()),
        "install" if !handler.is_empty() => Ok(json!({"status": app::install(portal, handler).await})),
        "uninstall" if !handler.is_empty() => Ok(json!({"status": app::uninstall(portal, handler).await})),
        "install" | "uninstall" => {
            return reply::json(400, &json!({"error": "the handler param (the app URL) is required"}));
        }
        _ => return reply::text(404, "Not Found"),
    };
    reply::json(200, &value.unwrap_or(Value::Null))
}
