//! Methods every portal has: `server.time`, `profile`, `app.info`, `scope`,
//! `methods`, `method.get`.

use serde_json::{Value, json};

use super::{Ctx, param, registry};
use crate::catalogue;
use crate::clock::iso8601;
use crate::portal::{MethodResult, Outcome};

fn trivial(ctx: &Ctx<'_>) -> f64 {
    ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.trivial).unwrap_or(0.0))
}

pub(crate) fn server_time(ctx: &mut Ctx<'_>, _params: &Value) -> MethodResult {
    Ok(Outcome::value(Value::from(iso8601(ctx.portal.clock.wall(ctx.now))), trivial(ctx)))
}

pub(crate) fn profile(ctx: &mut Ctx<'_>, _params: &Value) -> MethodResult {
    let id = ctx.caller.user_id;
    let profile = json!({
        "ID": id.to_string(),
        "ADMIN": true,
        "NAME": "Emulator",
        "LAST_NAME": "User",
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
        "TIME_ZONE_OFFSET": 0,
    });
    Ok(Outcome::value(profile, trivial(ctx)))
}

pub(crate) fn app_info(ctx: &mut Ctx<'_>, _params: &Value) -> MethodResult {
    let (client_id, scopes) =
        ctx.portal.settings.read().map(|s| (s.client_id.clone(), s.scopes.join(","))).unwrap_or_default();
    let info = json!({
        "ID": "1",
        "CODE": client_id,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": true,
        "PAYMENT_EXPIRED": "N",
        "DAYS": Value::Null,
        "LICENSE": "en_project",
        "LICENSE_TYPE": "project",
        "LICENSE_FAMILY": "project",
        "SCOPE": scopes,
    });
    Ok(Outcome::value(info, trivial(ctx)))
}

fn full(params: &Value) -> bool {
    param(params, "full").is_some_and(|v| matches!(v, Value::Bool(true)) || v == "true" || v == "1")
}

pub(crate) fn scope(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let scopes: Vec<String> = if full(params) {
        catalogue::scopes().into_iter().map(str::to_owned).collect()
    } else {
        ctx.portal.settings.read().map(|s| s.scopes.clone()).unwrap_or_default()
    };
    Ok(Outcome::value(json!(scopes), trivial(ctx)))
}

pub(crate) fn methods(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let wanted = param(params, "scope").and_then(Value::as_str).map(str::to_owned);
    let every = full(params);
    let settings = ctx.portal.settings();
    let names: Vec<&str> = registry::all(ctx.caller.api)
        .into_iter()
        .filter(|m| match wanted.as_deref() {
            Some(w) => w == m.scope,
            None => every || settings.granted(m.scope),
        })
        .map(|m| m.name)
        .collect();
    Ok(Outcome::value(json!(names), trivial(ctx)))
}

pub(crate) fn method_get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let name = param(params, "name").and_then(Value::as_str).unwrap_or("");
    let found = registry::find(ctx.caller.api, name);
    let granted = ctx.portal.settings.read().map(|s| s.scopes.clone()).unwrap_or_default();
    let available = found.is_some_and(|m| m.scope.is_empty() || granted.iter().any(|g| g == m.scope));
    Ok(Outcome::value(json!({"isExisting": found.is_some(), "isAvailable": available}), trivial(ctx)))
}
