//! The list machinery shared by `crm.deal.list`, `crm.item.list`, `tasks.task.list` and their
//! v3 forms: select, order, paging, the cost of a page, errors for bad filters.

use serde_json::Value;

use super::{param, param_i64};
use crate::data::Table;
use crate::data::filter::{self, FilterError, ListQuery};
use crate::portal::{Api, MethodError, Outcome, Portal};

/// Rows on a v2 page.
pub(crate) const PAGE: u64 = 50;

/// A rendered page.
pub(crate) struct Page {
    pub(crate) rows: Vec<Value>,
    pub(crate) total: Option<u64>,
    pub(crate) next: Option<u64>,
    pub(crate) cost: f64,
    pub(crate) counted: bool,
}

impl Page {
    /// The handler outcome, with the rows wrapped into the method's shape.
    pub(crate) fn into_outcome(self, wrap: impl FnOnce(Vec<Value>) -> Value) -> Outcome {
        let rows = self.rows.len() as u64;
        Outcome {
            result: wrap(self.rows),
            next: self.next,
            total: self.total,
            cost: self.cost,
            rows,
            counted: self.counted,
            ..Outcome::default()
        }
    }
}

/// `select`: field indexes, or `None` for all (`*`, empty, absent).
pub(crate) fn select(table: &Table, value: Option<&Value>) -> Option<Vec<usize>> {
    let names: Vec<&str> = match value? {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::Object(map) => map.values().filter_map(Value::as_str).collect(),
        Value::String(s) => vec![s.as_str()],
        _ => return None,
    };
    let names: Vec<&str> = names.into_iter().filter(|n| !n.is_empty()).collect();
    if names.is_empty() || names.contains(&"*") {
        return None;
    }
    Some(names.iter().filter_map(|n| table.schema.index(n)).collect())
}

/// `order`: the first known field and its direction (`true` ascending).
pub(crate) fn order(table: &Table, value: Option<&Value>) -> Option<(usize, bool)> {
    let Value::Object(map) = value? else { return None };
    map.iter().find_map(|(k, v)| {
        let field = table.schema.index(k)?;
        let ascending = !v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        Some((field, ascending))
    })
}

/// Map a filter problem to the portal's error.
pub(crate) fn filter_error(error: FilterError, v3: bool) -> MethodError {
    let (code, text) = match (&error, v3) {
        (FilterError::UnknownField(f), true) => {
            ("BITRIX_REST_V3_EXCEPTION_UNKNOWNDTOPROPERTYEXCEPTION", format!("Unknown field \"{f}\""))
        }
        (FilterError::UnknownOperator(o), true) => {
            ("BITRIX_REST_V3_EXCEPTION_UNKNOWNFILTEROPERATOREXCEPTION", format!("Unknown filter operator \"{o}\""))
        }
        (FilterError::Malformed(m) | FilterError::ArrayValue(m), true) => {
            ("BITRIX_REST_V3_EXCEPTION_INVALIDFILTEREXCEPTION", format!("Invalid filter: {m}"))
        }
        (_, false) => ("", format!("Invalid filter value: {error:?}")),
    };
    MethodError::bad(code, text)
}

/// Run one page and price it under the cost model.
pub(crate) fn run_page(
    portal: &Portal,
    api: Api,
    table: &Table,
    q: ListQuery,
    render: impl Fn(&crate::data::Record) -> Value,
) -> Result<Page, MethodError> {
    let (arrays, model) =
        portal.settings.read().map(|s| (s.array_filter_value, s.cost)).map_err(|_| crate::errors::internal())?;
    let v3 = api == Api::V3;
    let (offset, limit, count) = (q.offset, q.limit, q.count);
    let page = filter::run(table, &q, arrays).map_err(|e| filter_error(e, v3))?;
    let n = page.rows.len() as u64;
    let mut cost = model.list_base + model.per_row * n as f64 + model.per_skipped_row * offset as f64;
    if let Some(total) = page.total {
        cost += model.per_counted_row * total as f64;
    }
    let next = page.total.filter(|t| offset + n < *t).map(|_| offset + limit);
    Ok(Page {
        rows: page.rows.iter().map(render).collect(),
        total: page.total,
        next,
        cost: portal.cost(cost),
        counted: count,
    })
}

/// A classic v2 list call: `filter`, `order`, `select`, `start` (`-1`: no COUNT).
pub(crate) fn classic(
    portal: &Portal,
    api: Api,
    table: &Table,
    params: &Value,
    camel: bool,
) -> Result<Page, MethodError> {
    let filter = filter::parse_classic(table, param(params, "filter")).map_err(|e| filter_error(e, false))?;
    let order = order(table, param(params, "order"));
    let select = select(table, param(params, "select"));
    // The legacy list pages by whole pages: `start` is rounded down to a multiple of 50.
    let start = param_i64(params, "start").unwrap_or(0);
    let (offset, count) = if start < 0 { (0, false) } else { (start as u64 / PAGE * PAGE, true) };
    let schema = &table.schema;
    let q = ListQuery { filter, order, offset, limit: PAGE, count };
    let mut page = run_page(portal, api, table, q, |r| schema.render(r, camel, select.as_deref()))?;
    if !count {
        page.total = Some(0);
    }
    Ok(page)
}
