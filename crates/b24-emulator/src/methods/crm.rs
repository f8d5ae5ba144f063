//! `crm.deal.*` (legacy shapes: upper-case keys, string values, a bare list) and `crm.item.*`
//! (camelCase, native numbers, `entityTypeId` required, `result.items`).

use serde_json::{Value, json};

use super::lists;
use super::{Ctx, param, param_i64, require_id};
use crate::clock::iso8601;
use crate::data::{DEALS, Table};
use crate::errors::{self, MethodError, not_found};
use crate::portal::{Data, MethodResult, Outcome};

fn single_cost(ctx: &Ctx<'_>) -> f64 {
    ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.single_item).unwrap_or(0.0))
}

/// Input `fields` as (field index, typed value); unknown names are ignored.
fn fields(table: &Table, params: &Value) -> Vec<(usize, Value)> {
    let Some(Value::Object(map)) = param(params, "fields") else { return Vec::new() };
    map.iter().filter_map(|(k, v)| table.schema.index(k).map(|i| (i, table.coerce(i, v)))).collect()
}

pub(crate) fn deal_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let page = lists::classic(ctx.portal, ctx.caller.api, &ctx.data.deals, params, false)?;
    Ok(page.into_outcome(Value::Array))
}

pub(crate) fn deal_get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = require_id(params, "id")?;
    let record = ctx.data.deals.get(id).ok_or_else(|| errors::legacy("Not found"))?;
    Ok(Outcome::value(DEALS.render(&record, false, None), single_cost(ctx)))
}

pub(crate) fn deal_add(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let fields = fields(&ctx.data.deals, params);
    let id = ctx.data.deals.add(fields, &iso8601(ctx.now));
    Ok(Outcome::value(Value::from(id), single_cost(ctx)))
}

pub(crate) fn deal_update(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = require_id(params, "id")?;
    let fields = fields(&ctx.data.deals, params);
    if !ctx.data.deals.update(id, fields) {
        return Err(errors::legacy("Not found"));
    }
    Ok(Outcome::value(Value::Bool(true), single_cost(ctx)))
}

pub(crate) fn deal_delete(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = require_id(params, "id")?;
    if !ctx.data.deals.delete(id) {
        return Err(errors::legacy("Not found"));
    }
    Ok(Outcome::value(Value::Bool(true), single_cost(ctx)))
}

/// The table of an `entityTypeId`: 2 is the deals table; leads (1), contacts (3), companies
/// (4), quotes (7), invoices (31) and smart processes (128 and up) start empty.
pub(crate) fn item_table<'d>(data: &'d mut Data, params: &Value) -> Result<&'d mut Table, MethodError> {
    let Some(type_id) = param_i64(params, "entityTypeId") else {
        return Err(errors::argument("entityTypeId"));
    };
    match type_id {
        2 => Ok(&mut data.deals),
        1 | 3 | 4 | 7 | 31 | 128..=2047 => {
            Ok(data.other_items.entry(type_id as u64).or_insert_with(|| Table::new(&DEALS, 0, type_id as u64)))
        }
        _ => Err(MethodError::bad("NOT_FOUND", "Smart process not found")),
    }
}

fn item_json(table: &Table, id: u64) -> Result<Value, MethodError> {
    let record = table.get(id).ok_or_else(not_found)?;
    Ok(json!({"item": table.schema.render(&record, true, None)}))
}

pub(crate) fn item_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let (portal, api) = (ctx.portal, ctx.caller.api);
    let table = item_table(ctx.data, params)?;
    let page = lists::classic(portal, api, table, params, true)?;
    Ok(page.into_outcome(|items| json!({"items": items})))
}

pub(crate) fn item_get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = require_id(params, "id").map_err(|_| not_found())?;
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    Ok(Outcome::value(item_json(table, id)?, cost))
}

pub(crate) fn item_add(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let cost = single_cost(ctx);
    let now = iso8601(ctx.now);
    let table = item_table(ctx.data, params)?;
    let fields = fields(table, params);
    let id = table.add(fields, &now);
    Ok(Outcome::value(item_json(table, id)?, cost))
}

pub(crate) fn item_update(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = require_id(params, "id").map_err(|_| not_found())?;
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    let fields = fields(table, params);
    if !table.update(id, fields) {
        return Err(not_found());
    }
    Ok(Outcome::value(item_json(table, id)?, cost))
}

pub(crate) fn item_delete(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = require_id(params, "id").map_err(|_| not_found())?;
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    if !table.delete(id) {
        return Err(not_found());
    }
    Ok(Outcome::value(Value::Array(Vec::new()), cost))
}
