//! `crm.item.*`: the universal CRM methods (camelCase, native numbers, `entityTypeId` required,
//! `result.item` / `result.items`), over the same tables as the legacy families (`crm.deal`,
//! `crm.contact`...; smart processes have tables of their own).

use serde_json::{Value, json};

use super::entity::describe;
use super::lists;
use super::{Ctx, param, param_i64};
use crate::clock::iso8601;
use crate::data::Table;
use crate::data::tables::crm_type_key;
use crate::errors::{self, MethodError, not_found};
use crate::events::names::{self, Kind};
use crate::portal::{Data, MethodResult, Outcome};

fn single_cost(ctx: &Ctx<'_>) -> f64 {
    ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.single_item).unwrap_or(0.0))
}

/// Input `fields` as (field index, typed value); unknown names are ignored, as the portal
/// ignores them.
fn fields(table: &mut Table, params: &Value) -> Vec<(usize, Value)> {
    let Some(Value::Object(map)) = param(params, "fields") else { return Vec::new() };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        if let Some(i) = table.schema.index_or_prefixed(k).filter(|i| *i != 0) {
            out.push((i, table.schema.coerce(i, v)));
        }
    }
    out
}

/// The table key of a call's `entityTypeId`.
fn item_key(params: &Value) -> Result<String, MethodError> {
    let Some(type_id) = param_i64(params, "entityTypeId") else { return Err(errors::argument("entityTypeId")) };
    u64::try_from(type_id)
        .ok()
        .and_then(crm_type_key)
        .ok_or_else(|| MethodError::bad("NOT_FOUND", "Smart process not found"))
}

/// The table of an `entityTypeId`: 2 deals, 1 leads, 3 contacts, 4 companies, 7 quotes, 31
/// invoices and 128 and up smart processes.
pub(crate) fn item_table<'d>(data: &'d mut Data, params: &Value) -> Result<&'d mut Table, MethodError> {
    Ok(data.table(&item_key(params)?))
}

/// Record a change of the call's table for the events.
fn changed(ctx: &mut Ctx<'_>, params: &Value, kind: Kind, id: u64) {
    if let Ok(key) = item_key(params) {
        let connector = param(params, "auth_connector");
        ctx.changes.extend(names::change(&key, kind, id, connector, ctx.caller.user_id));
    }
}

fn item_json(table: &Table, id: u64) -> Result<Value, MethodError> {
    let record = table.get(id).ok_or_else(not_found)?;
    Ok(json!({"item": table.schema.render(&record, true, None)}))
}

fn require_id(params: &Value) -> Result<u64, MethodError> {
    param_i64(params, "id").filter(|id| *id > 0).map(|id| id as u64).ok_or_else(not_found)
}

pub(crate) fn item_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let (portal, api) = (ctx.portal, ctx.caller.api);
    let table = item_table(ctx.data, params)?;
    let page = lists::classic(portal, api, table, params, true)?;
    Ok(page.into_outcome(|items| json!({"items": items})))
}

pub(crate) fn item_get(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    let id = require_id(params)?;
    Ok(Outcome::value(item_json(table, id)?, cost))
}

pub(crate) fn item_add(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let cost = single_cost(ctx);
    let now = iso8601(ctx.portal.clock.wall(ctx.now));
    let table = item_table(ctx.data, params)?;
    let fields = fields(table, params);
    let id = table.add(fields, &now);
    let item = item_json(table, id)?;
    changed(ctx, params, Kind::Add, id);
    Ok(Outcome::value(item, cost))
}

pub(crate) fn item_update(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    let id = require_id(params)?;
    let fields = fields(table, params);
    if !table.update(id, fields) {
        return Err(not_found());
    }
    let item = item_json(table, id)?;
    changed(ctx, params, Kind::Update, id);
    Ok(Outcome::value(item, cost))
}

pub(crate) fn item_delete(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    let id = require_id(params)?;
    if !table.delete(id) {
        return Err(not_found());
    }
    changed(ctx, params, Kind::Delete, id);
    Ok(Outcome::value(Value::Array(Vec::new()), cost))
}

pub(crate) fn item_fields(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let cost = single_cost(ctx);
    let table = item_table(ctx.data, params)?;
    Ok(Outcome::value(json!({"fields": describe(&table.schema, true)}), cost))
}
