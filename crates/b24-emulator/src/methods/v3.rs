//! v3 lists: `crm.item.list` / `tasks.task.list` with `pagination` and triple filters, and the
//! keyset `*.tail` variants with a `cursor`. No COUNT, no `next`, no `total`.

use serde_json::{Value, json};

use super::crm::item_table;
use super::lists::{self, Page};
use super::registry::TASKS;
use super::{Ctx, param};
use crate::data::Table;
use crate::data::filter::{self, Filter, ListQuery, Op};
use crate::portal::{Api, MethodError, MethodResult, Portal};

const MAX_LIMIT: u64 = 1000;

fn invalid(code: &str, text: impl Into<String>) -> MethodError {
    MethodError::bad(&format!("BITRIX_REST_V3_EXCEPTION_{code}"), text)
}

/// A strict v3 `select`: unknown fields are an error.
fn select(table: &Table, value: Option<&Value>) -> Result<Option<Vec<usize>>, MethodError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let name =
                    item.as_str().ok_or_else(|| invalid("INVALIDSELECTEXCEPTION", "select must list field names"))?;
                if name == "*" {
                    return Ok(None);
                }
                let index = table
                    .schema
                    .index(name)
                    .ok_or_else(|| invalid("UNKNOWNDTOPROPERTYEXCEPTION", format!("Unknown field \"{name}\"")))?;
                out.push(index);
            }
            Ok(if out.is_empty() { None } else { Some(out) })
        }
        Some(_) => Err(invalid("INVALIDSELECTEXCEPTION", "select must be a list")),
    }
}

fn order(table: &Table, value: Option<&Value>) -> Result<Option<(usize, bool)>, MethodError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            let Some((k, v)) = map.iter().next() else { return Ok(None) };
            let field = table
                .schema
                .index(k)
                .ok_or_else(|| invalid("INVALIDORDEREXCEPTION", format!("Unknown field \"{k}\"")))?;
            match v.as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("ASC") => Ok(Some((field, true))),
                Some("DESC") => Ok(Some((field, false))),
                _ => Err(invalid("INVALIDORDEREXCEPTION", "order direction must be ASC or DESC")),
            }
        }
        Some(_) => Err(invalid("INVALIDORDEREXCEPTION", "order must be an object")),
    }
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn page_of(portal: &Portal, table: &Table, params: &Value) -> Result<Page, MethodError> {
    let filter = filter::parse_v3(table, param(params, "filter")).map_err(|e| lists::filter_error(e, true))?;
    let order = order(table, param(params, "order"))?;
    let select = select(table, param(params, "select"))?;
    let pagination = param(params, "pagination");
    let get = |k: &str| number(pagination.and_then(|p| p.get(k)));
    let limit = get("limit").unwrap_or(50);
    let page = get("page").unwrap_or(1);
    let offset = get("offset").unwrap_or(0);
    if !(1..=MAX_LIMIT as i64).contains(&limit) || page < 0 || offset < 0 {
        return Err(invalid("INVALIDPAGINATIONEXCEPTION", "limit must be 1..1000, page 0 or more, offset 0 or more"));
    }
    // Pages count from 1; page 0 (what the JS SDK's list helpers send) is the first page too.
    let offset = (page.max(1) as u64 - 1) * limit as u64 + offset as u64;
    let q = ListQuery { filter, order, offset, limit: limit as u64, count: false };
    let schema = &table.schema;
    lists::run_page(portal, Api::V3, table, q, |r| schema.render(r, true, select.as_deref()))
}

fn tail_of(portal: &Portal, table: &Table, params: &Value) -> Result<Page, MethodError> {
    let filter = filter::parse_v3(table, param(params, "filter")).map_err(|e| lists::filter_error(e, true))?;
    let select = select(table, param(params, "select"))?;
    let cursor = param(params, "cursor").cloned().unwrap_or(json!({}));
    let field_name = cursor.get("field").and_then(Value::as_str).unwrap_or("id");
    let field = table
        .schema
        .index(field_name)
        .ok_or_else(|| invalid("UNKNOWNDTOPROPERTYEXCEPTION", format!("Unknown field \"{field_name}\"")))?;
    let ascending = !cursor.get("order").and_then(Value::as_str).is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    let limit = number(cursor.get("limit")).unwrap_or(50);
    if !(1..=MAX_LIMIT as i64).contains(&limit) {
        return Err(invalid("INVALIDPAGINATIONEXCEPTION", "cursor limit must be 1..1000"));
    }
    let mut parts = vec![filter];
    if let Some(value) = cursor.get("value").filter(|v| !v.is_null()) {
        let op = if ascending { Op::Gt } else { Op::Lt };
        parts.push(Filter::Cond { field, op, value: value.clone() });
    }
    let q = ListQuery {
        filter: Filter::All(parts),
        order: Some((field, ascending)),
        offset: 0,
        limit: limit as u64,
        count: false,
    };
    let schema = &table.schema;
    lists::run_page(portal, Api::V3, table, q, |r| schema.render(r, true, select.as_deref()))
}

fn items(page: Page) -> crate::portal::Outcome {
    let mut outcome = page.into_outcome(|items| json!({"items": items}));
    outcome.total = None;
    outcome.next = None;
    outcome
}

pub(crate) fn item_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let portal = ctx.portal;
    Ok(items(page_of(portal, item_table(ctx.data, params)?, params)?))
}

pub(crate) fn item_tail(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let portal = ctx.portal;
    Ok(items(tail_of(portal, item_table(ctx.data, params)?, params)?))
}

pub(crate) fn task_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let portal = ctx.portal;
    Ok(items(page_of(portal, ctx.data.table(TASKS), params)?))
}

pub(crate) fn task_tail(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let portal = ctx.portal;
    Ok(items(tail_of(portal, ctx.data.table(TASKS), params)?))
}
