//! `event.bind`, `event.unbind`, `event.get` and `event.offline.get/clear/list/error`. Like the
//! portal, they work only with an application's token (a webhook gets `WRONG_AUTH_TYPE`).

use serde_json::{Map, Value, json};

use super::{Ctx, param, param_i64, required};
use crate::catalogue;
use crate::errors::MethodError;
use crate::events::Binding;
use crate::events::offline::Take;
use crate::portal::{MethodResult, Outcome};

fn cost(ctx: &Ctx<'_>) -> f64 {
    ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.single_item).unwrap_or(0.0))
}

/// Application auth only; then the page's required parameters.
fn admit(ctx: &Ctx<'_>, method: &str, params: &Value) -> Result<(), MethodError> {
    if ctx.caller.auth_kind != "oauth" {
        return Err(MethodError::new("WRONG_AUTH_TYPE", "Current authorization type is denied for this method", 403));
    }
    match catalogue::method(method) {
        Some(documented) => required::check(documented, params, false),
        None => Ok(()),
    }
}

fn text(params: &Value, name: &str) -> Option<String> {
    match param(params, name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truthy(params: &Value, name: &str, default: bool) -> bool {
    match param(params, name) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(v) => !matches!(v.as_str().map(str::trim), Some("0" | "" | "N" | "n" | "false")) && v != &json!(0),
    }
}

fn offline(params: &Value) -> bool {
    text(params, "event_type").is_some_and(|t| t.eq_ignore_ascii_case("offline"))
}

pub(crate) fn bind(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let is_offline = offline(params);
    // An offline binding needs no handler URL.
    let mut checked = params.clone();
    if is_offline && !super::required::present(params, "handler") {
        checked["handler"] = json!("offline");
    }
    admit(ctx, "event.bind", &checked)?;
    let event = text(params, "event").unwrap_or_default().to_ascii_uppercase();
    if !event.starts_with("ON") {
        return Err(MethodError::bad("ERROR_EVENT_NOT_FOUND", "Event not found"));
    }
    let handler = text(params, "handler").unwrap_or_default();
    let url = handler.starts_with("http://") || handler.starts_with("https://");
    if !(is_offline || url) {
        return Err(MethodError::bad("ERROR_HANDLER_URL_MISMATCH", "Handler URL must be an http(s) address"));
    }
    let binding = Binding {
        id: 0,
        event,
        handler,
        auth_type: param_i64(params, "auth_type").unwrap_or(0).max(0) as u64,
        offline: is_offline,
        connector: text(params, "auth_connector"),
    };
    if !ctx.data.events.bind(binding) {
        // What the portal answers for a handler bound already.
        return Err(MethodError::bad("ERROR_CORE", "Handler already binded"));
    }
    Ok(Outcome::value(Value::Bool(true), cost(ctx)))
}

pub(crate) fn unbind(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let mut checked = params.clone();
    if offline(params) && !super::required::present(params, "handler") {
        checked["handler"] = json!("offline");
    }
    admit(ctx, "event.unbind", &checked)?;
    let event = text(params, "event").unwrap_or_default().to_ascii_uppercase();
    let handler = text(params, "handler").unwrap_or_default();
    let kind = param(params, "event_type").map(|_| offline(params));
    let count = ctx.data.events.unbind(&event, &handler, kind);
    Ok(Outcome::value(json!({"count": count}), cost(ctx)))
}

pub(crate) fn get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    admit(ctx, "event.get", params)?;
    let bindings: Vec<Value> = ctx.data.events.bindings.iter().map(Binding::to_json).collect();
    Ok(Outcome::value(Value::Array(bindings), cost(ctx)))
}

fn filter(params: &Value) -> Map<String, Value> {
    match param(params, "filter") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

fn descending(params: &Value) -> bool {
    match param(params, "order") {
        Some(Value::Object(m)) => {
            m.values().next().and_then(Value::as_str).is_some_and(|d| d.eq_ignore_ascii_case("desc"))
        }
        _ => false,
    }
}

fn list_of(params: &Value, name: &str) -> Vec<String> {
    match param(params, name) {
        Some(Value::Array(items)) => {
            items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
        }
        Some(Value::Object(m)) => m.values().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(v @ Value::Number(_)) => vec![v.to_string()],
        _ => Vec::new(),
    }
}

pub(crate) fn offline_get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    admit(ctx, "event.offline.get", params)?;
    let take = Take {
        filter: filter(params),
        descending: descending(params),
        limit: param_i64(params, "limit").unwrap_or(50).clamp(1, 1000) as usize,
        clear: truthy(params, "clear", true),
        process_id: text(params, "process_id"),
        connector: text(params, "auth_connector"),
        errors: truthy(params, "error", false),
    };
    let (process_id, records) = ctx.data.events.offline.take(&take);
    let events: Vec<Value> = records.iter().map(|r| r.to_json(false)).collect();
    Ok(Outcome::value(json!({"process_id": process_id, "events": events}), cost(ctx)))
}

pub(crate) fn offline_clear(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    admit(ctx, "event.offline.clear", params)?;
    let process_id = text(params, "process_id").unwrap_or_default();
    let ids: Vec<u64> = list_of(params, "id").iter().filter_map(|s| s.parse().ok()).collect();
    let message_ids = list_of(params, "message_id");
    ctx.data.events.offline.clear(&process_id, &ids, &message_ids);
    Ok(Outcome::value(Value::Bool(true), cost(ctx)))
}

pub(crate) fn offline_error(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    admit(ctx, "event.offline.error", params)?;
    let process_id = text(params, "process_id").unwrap_or_default();
    ctx.data.events.offline.fail(&process_id, &list_of(params, "message_id"));
    Ok(Outcome::value(Value::Bool(true), cost(ctx)))
}

pub(crate) fn offline_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    admit(ctx, "event.offline.list", params)?;
    let connector = text(params, "auth_connector");
    let mut records = ctx.data.events.offline.list(connector.as_deref(), &filter(params));
    if descending(params) {
        records.reverse();
    }
    let total = records.len() as u64;
    let start = param_i64(params, "start").unwrap_or(0).max(0) as u64 / 50 * 50;
    let page: Vec<Value> = records.iter().skip(start as usize).take(50).map(|r| r.to_json(true)).collect();
    let next = (start + (page.len() as u64) < total).then_some(start + 50);
    Ok(Outcome { result: Value::Array(page), total: Some(total), next, cost: cost(ctx), ..Outcome::default() })
}
