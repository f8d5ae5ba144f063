//! [`ListQuery`]: what to list and how to read its pages, with defaults per method.

use b24_errors::{Code, Error};
use serde_json::{Map, Value};

use crate::concurrency::Concurrency;

/// Where a page's rows sit in the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKey {
    /// The result is the list (`crm.deal.list`).
    Bare,
    /// The list is under this key (`items` for `crm.item.list`, `tasks` for `tasks.task.list`).
    Field(String),
}

/// A list request: method, params, and the defaults that read its pages.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub(crate) method: String,
    pub(crate) params: Map<String, Value>,
    pub(crate) filter: Map<String, Value>,
    pub(crate) select: Vec<String>,
    pub(crate) order: Map<String, Value>,
    pub(crate) list_key: ListKey,
    pub(crate) id_filter: String,
    pub(crate) id_row: String,
    pub(crate) page_size: u32,
    pub(crate) concurrency: Concurrency,
}

impl ListQuery {
    /// A list of `method`, with the list key and id fields guessed from its name:
    /// `crm.item.*` → `items`, `id`; `tasks.task.*` → `tasks` (v2) / `items` (v3), filter by `ID`,
    /// rows carry `id`; other v2 lists → a bare list with `ID`.
    pub fn new(method: impl Into<String>) -> ListQuery {
        let method = method.into();
        let lower = method.to_ascii_lowercase();
        let (list_key, id_filter, id_row) = if lower.starts_with("crm.item.") {
            (ListKey::Field("items".into()), "id", "id")
        } else if lower.starts_with("tasks.task.") {
            (ListKey::Field("tasks".into()), "ID", "id")
        } else {
            (ListKey::Bare, "ID", "ID")
        };
        ListQuery {
            method,
            params: Map::new(),
            filter: Map::new(),
            select: Vec::new(),
            order: Map::new(),
            list_key,
            id_filter: id_filter.into(),
            id_row: id_row.into(),
            page_size: 50,
            concurrency: Concurrency::default(),
        }
    }

    /// Add a param other than filter, select and order (e.g. `entityTypeId`).
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> ListQuery {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// Add a filter condition (`">ID"`, `"STAGE_ID"`, `"%TITLE"`…). On v3 each key becomes a
    /// condition (`">=id": 5` → `["id", ">=", 5]`; a list value without an operator → `in`),
    /// sent after any conditions given as `param("filter", …)` (or a [`crate::V3Filter`]);
    /// operators v3 lacks (`%`, `!@`) fail with `JSSDK_INVALID_PARAMS` before any request.
    pub fn filter(mut self, key: &str, value: impl Into<Value>) -> ListQuery {
        self.filter.insert(key.to_owned(), value.into());
        self
    }

    /// Select fields (the id field is always added).
    pub fn select<I, S>(mut self, fields: I) -> ListQuery
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Order by a field (`"ASC"`/`"DESC"`). The fast export needs the id field, or no order.
    pub fn order(mut self, field: &str, direction: &str) -> ListQuery {
        self.order.insert(field.to_owned(), Value::from(direction));
        self
    }

    /// Where the rows sit in a page.
    pub fn list_key(mut self, key: ListKey) -> ListQuery {
        self.list_key = key;
        self
    }

    /// The id field used in filter and order, and the one read from rows (they differ for
    /// `tasks.task.list`: `ID` and `id`).
    pub fn id_fields(mut self, in_filter: &str, in_rows: &str) -> ListQuery {
        self.id_filter = in_filter.to_owned();
        self.id_row = in_rows.to_owned();
        self
    }

    /// Rows per page (v3: 1 to 1000; v2 pages are always 50).
    pub fn page_size(mut self, size: u32) -> ListQuery {
        self.page_size = size.clamp(1, 1000);
        self
    }

    /// v2 fast export: fetch exactly `chains` id windows at once (1: one chain, no windows),
    /// with as many windows again queued ahead, so up to `2 x chains` requests are in flight.
    /// Pages still come out in id order. Without this, the number of windows adapts to the
    /// portal (see [`ListQuery::max_chains`]); set it only to override what the portal shows.
    pub fn chains(mut self, chains: usize) -> ListQuery {
        self.concurrency = Concurrency::fixed(chains);
        self
    }

    /// v2 fast export, the default: find how many requests the portal serves at once from its
    /// answers and keep that many id windows in flight (plus a few queued ahead), never more
    /// than `max` requests at once (default [`crate::concurrency::DEFAULT_MAX`], 16); see
    /// [`crate::concurrency`].
    pub fn max_chains(mut self, max: usize) -> ListQuery {
        self.concurrency = Concurrency::adaptive(max);
        self
    }

    /// How the export decides how many requests to keep in flight.
    pub fn concurrency(&self) -> Concurrency {
        self.concurrency
    }

    /// Continue after row `id`: the first page starts at the first row whose id is greater,
    /// whatever lower bound the filter had (a higher one is kept). This is how an export that
    /// stopped resumes from the last id it delivered.
    pub fn after(mut self, id: u64) -> ListQuery {
        let key = &self.id_filter;
        let bound = |k: &str, prefix: &str| k.strip_prefix(prefix).is_some_and(|rest| rest.eq_ignore_ascii_case(key));
        let mut start = id;
        self.filter.retain(|k, v| {
            let lower = if bound(k, ">=") {
                number(v).map(|n| n.saturating_sub(1))
            } else if bound(k, ">") {
                number(v)
            } else {
                return true;
            };
            start = start.max(lower.unwrap_or(0));
            false
        });
        self.filter.insert(format!(">{key}"), Value::from(start));
        self
    }

    /// The id field in filters and order, and in rows (`ID` and `ID` for `crm.deal.list`, `id`
    /// and `id` for `crm.item.list`, `ID` and `id` for `tasks.task.list`).
    pub fn id_keys(&self) -> (&str, &str) {
        (&self.id_filter, &self.id_row)
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The id of a row.
    pub(crate) fn row_id(&self, row: &Value) -> Option<u64> {
        number(row.get(&self.id_row)?)
    }

    /// The rows of a page's result.
    pub(crate) fn rows(&self, result: Value) -> Result<Vec<Value>, Error> {
        let list = match (&self.list_key, result) {
            (ListKey::Bare, v) => v,
            (ListKey::Field(k), Value::Object(mut map)) => match map.remove(k) {
                Some(list) => list,
                None => return Err(not_a_list(&self.method, &format!("an object without `{k}`"))),
            },
            // A list where a key was expected: the rows themselves (v3's OpenAPI documents its
            // lists as a bare `result` array; portals answer `result.items`).
            (ListKey::Field(_), rows @ Value::Array(_)) => rows,
            (ListKey::Field(k), other) => {
                return Err(not_a_list(&self.method, &format!("{} where an object with `{k}` belongs", kind(&other))));
            }
        };
        match list {
            Value::Array(rows) => Ok(rows),
            // PHP writes a list with gaps in its keys as an object of rows.
            Value::Object(map) if map.values().all(Value::is_object) => Ok(map.into_iter().map(|(_, v)| v).collect()),
            // PHP writes an empty list as `[]` but a missing one as `null`/`false` in some methods.
            Value::Null | Value::Bool(false) => Ok(Vec::new()),
            other => Err(not_a_list(&self.method, &kind(&other))),
        }
    }

    /// The select list with the id field in it.
    pub(crate) fn select_with_id(&self) -> Vec<String> {
        let mut select = self.select.clone();
        if !select.is_empty() && !select.iter().any(|s| s == "*" || s.eq_ignore_ascii_case(&self.id_filter)) {
            select.push(self.id_filter.clone());
        }
        select
    }

    /// Ascending (`Some(true)`), descending (`Some(false)`) or not an id order (`None`).
    pub(crate) fn id_order(&self) -> Option<bool> {
        match self.order.len() {
            0 => Some(true),
            1 => {
                let (k, v) = self.order.iter().next()?;
                if !k.eq_ignore_ascii_case(&self.id_filter) && !k.eq_ignore_ascii_case(&self.id_row) {
                    return None;
                }
                Some(!v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("desc")))
            }
            _ => None,
        }
    }
}

/// An id as JSON: a number or a numeric string.
pub(crate) fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object (one record, not rows)".into(),
    }
}

/// A list read of a method that does not answer a list (`server.time`, a `*.get`).
fn not_a_list(method: &str, what: &str) -> Error {
    Error::sdk(
        Code::JssdkResponseUnexpectedShape,
        format!(
            "{method} answered {what}, not a list of rows: list reads (fetch_list, call_list, b24 export) take list methods such as crm.deal.list"
        ),
    )
}
