//! `user.current` (the caller's user) and `user.get` (a list with `FILTER` or top-level field
//! filters, `sort`/`order`, `start`), from the seeded users table.

use serde_json::{Map, Value, json};

use super::{Ctx, lists, param};
use crate::portal::{MethodResult, Outcome};

/// The users table.
pub(crate) const USERS: &str = "user";

pub(crate) fn current(ctx: &mut Ctx<'_>, _params: &Value) -> MethodResult {
    let cost = ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.trivial).unwrap_or(0.0));
    let id = ctx.caller.user_id;
    let table = ctx.data.table(USERS);
    let user = match table.get(id) {
        Some(record) => table.schema.render(&record, false, None),
        None => json!({"ID": id.to_string(), "ACTIVE": true}),
    };
    Ok(Outcome::value(user, cost))
}

/// Params that steer `user.get` rather than filter it.
const CONTROL: [&str; 6] = ["sort", "order", "filter", "start", "admin_mode", "auth"];

pub(crate) fn get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let (portal, api) = (ctx.portal, ctx.caller.api);
    let table = ctx.data.table(USERS);
    let mut filter = match param(params, "FILTER") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if let Some(map) = params.as_object() {
        for (k, v) in map {
            let control = CONTROL.iter().any(|c| k.eq_ignore_ascii_case(c));
            if !control && table.schema.index(k).is_some() {
                filter.insert(k.clone(), v.clone());
            }
        }
    }
    let sort = param(params, "sort").and_then(Value::as_str).unwrap_or("ID").to_owned();
    let order = param(params, "order").and_then(Value::as_str).unwrap_or("ASC").to_owned();
    let mut query = json!({"filter": filter, "order": {sort: order}});
    if let Some(start) = param(params, "start") {
        query["start"] = start.clone();
    }
    let page = lists::classic(portal, api, table, &query, false)?;
    Ok(page.into_outcome(Value::Array))
}
