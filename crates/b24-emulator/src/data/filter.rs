//! Filters, order and paging over a [`Table`]: the classic prefix form (`>=ID`, `@STAGE_ID`,
//! `%TITLE`, `!=`), v3 triples (`["id", ">", 5]`, `{"logic": "or", "conditions": [...]}`), and
//! the list query that walks ids without generating rows it does not return.

use std::cmp::Ordering;

use serde_json::Value;

use super::{Record, Table};
use crate::settings::ArrayFilterValue;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Like,
}

/// A filter: conditions joined by AND, or groups joined by OR.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    Cond { field: usize, op: Op, value: Value },
    All(Vec<Filter>),
    Any(Vec<Filter>),
}

/// Why a filter could not be built or evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilterError {
    UnknownField(String),
    UnknownOperator(String),
    Malformed(String),
    ArrayValue(String),
}

const PREFIXES: [(&str, Op); 10] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    ("!@", Op::NotIn),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("=", Op::Eq),
    ("@", Op::In),
    ("%", Op::Like),
    ("!", Op::Ne),
];

/// The classic form: `{">ID": 5, "STAGE_ID": "NEW"}`. Unknown fields are ignored, as the
/// legacy methods do. An array value means IN for `=` (and NOT IN for `!=`); with any other
/// operator the condition is OR-ed over the elements (`{">ID": [5, 9]}` is `ID > 5 OR ID > 9`).
pub(crate) fn parse_classic(table: &Table, filter: Option<&Value>) -> Result<Filter, FilterError> {
    let mut conds = Vec::new();
    let Some(Value::Object(map)) = filter else { return Ok(Filter::All(conds)) };
    for (key, value) in map {
        let (op, name) = PREFIXES
            .iter()
            .find_map(|(p, op)| key.strip_prefix(p).map(|rest| (*op, rest)))
            .unwrap_or((Op::Eq, key.as_str()));
        let op = match (op, value) {
            (Op::Eq, Value::Array(_)) => Op::In,
            (Op::Ne, Value::Array(_)) => Op::NotIn,
            (op, _) => op,
        };
        let Some(field) = table.schema.index(name) else { continue };
        match value {
            Value::Array(items) if !matches!(op, Op::In | Op::NotIn) => conds
                .push(Filter::Any(items.iter().map(|item| Filter::Cond { field, op, value: item.clone() }).collect())),
            _ => conds.push(Filter::Cond { field, op, value: value.clone() }),
        }
    }
    Ok(Filter::All(conds))
}

/// The v3 form: a list of triples and groups.
pub(crate) fn parse_v3(table: &Table, filter: Option<&Value>) -> Result<Filter, FilterError> {
    match filter {
        None | Some(Value::Null) => Ok(Filter::All(Vec::new())),
        Some(Value::Array(items)) => {
            items.iter().map(|item| parse_v3_item(table, item)).collect::<Result<_, _>>().map(Filter::All)
        }
        Some(Value::Object(_)) => parse_v3_item(table, filter.unwrap_or(&Value::Null)),
        Some(other) => Err(FilterError::Malformed(other.to_string())),
    }
}

fn parse_v3_item(table: &Table, item: &Value) -> Result<Filter, FilterError> {
    match item {
        Value::Array(triple) if triple.len() == 3 => {
            let name = triple[0].as_str().ok_or_else(|| FilterError::Malformed(item.to_string()))?;
            let field = table.schema.index(name).ok_or_else(|| FilterError::UnknownField(name.to_owned()))?;
            let op = match triple[1].as_str().unwrap_or("") {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                "<=" => Op::Le,
                "in" => Op::In,
                "between" => {
                    let bounds = triple[2].as_array().filter(|b| b.len() == 2);
                    let bounds = bounds.ok_or_else(|| FilterError::Malformed(item.to_string()))?;
                    return Ok(Filter::All(vec![
                        Filter::Cond { field, op: Op::Ge, value: bounds[0].clone() },
                        Filter::Cond { field, op: Op::Le, value: bounds[1].clone() },
                    ]));
                }
                other => return Err(FilterError::UnknownOperator(other.to_owned())),
            };
            Ok(Filter::Cond { field, op, value: triple[2].clone() })
        }
        Value::Object(group) => {
            let conditions = group.get("conditions").and_then(Value::as_array);
            let conditions = conditions.ok_or_else(|| FilterError::Malformed(item.to_string()))?;
            let parts = conditions.iter().map(|c| parse_v3_item(table, c)).collect::<Result<Vec<_>, _>>()?;
            match group.get("logic").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("or") => Ok(Filter::Any(parts)),
                None | Some("and") => Ok(Filter::All(parts)),
                Some(other) => Err(FilterError::UnknownOperator(other.to_owned())),
            }
        }
        other => Err(FilterError::Malformed(other.to_string())),
    }
}

/// PHP `intval`-ish reading of a number.
fn number(value: &Value, arrays: ArrayFilterValue) -> Result<Option<f64>, FilterError> {
    Ok(match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            let end = t
                .char_indices()
                .take_while(|(i, c)| c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+')))
                .last()
                .map_or(0, |(i, c)| i + c.len_utf8());
            Some(t[..end].parse::<f64>().unwrap_or(0.0))
        }
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Null => Some(0.0),
        Value::Array(_) | Value::Object(_) => match arrays {
            ArrayFilterValue::Intval => Some(if value.as_array().is_some_and(Vec::is_empty) { 0.0 } else { 1.0 }),
            ArrayFilterValue::Empty => None,
            ArrayFilterValue::Error => return Err(FilterError::ArrayValue(value.to_string())),
        },
    })
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn compare(record_value: &Value, wanted: &Value, arrays: ArrayFilterValue) -> Result<Option<Ordering>, FilterError> {
    if let Value::Number(n) = record_value {
        let Some(w) = number(wanted, arrays)? else { return Ok(None) };
        return Ok(n.as_f64().and_then(|x| x.partial_cmp(&w)));
    }
    Ok(Some(text(record_value).as_str().cmp(text(wanted).as_str())))
}

impl Filter {
    /// Whether `record` passes.
    pub(crate) fn matches(&self, record: &Record, arrays: ArrayFilterValue) -> Result<bool, FilterError> {
        match self {
            Filter::All(parts) => {
                for p in parts {
                    if !p.matches(record, arrays)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Filter::Any(parts) => {
                for p in parts {
                    if p.matches(record, arrays)? {
                        return Ok(true);
                    }
                }
                Ok(parts.is_empty())
            }
            Filter::Cond { field, op, value } => {
                let have = record.get(*field).unwrap_or(&Value::Null);
                let list = || match value {
                    Value::Array(items) => items.clone(),
                    Value::Object(map) => map.values().cloned().collect(),
                    single => vec![single.clone()],
                };
                Ok(match op {
                    Op::In | Op::NotIn => {
                        let mut found = false;
                        for item in list() {
                            if compare(have, &item, ArrayFilterValue::Intval)? == Some(Ordering::Equal) {
                                found = true;
                                break;
                            }
                        }
                        found == (*op == Op::In)
                    }
                    Op::Like => text(have).to_lowercase().contains(&text(value).to_lowercase().replace('%', "")),
                    _ => match compare(have, value, arrays)? {
                        None => false,
                        Some(ord) => match op {
                            Op::Eq => ord == Ordering::Equal,
                            Op::Ne => ord != Ordering::Equal,
                            Op::Gt => ord == Ordering::Greater,
                            Op::Ge => ord != Ordering::Less,
                            Op::Lt => ord == Ordering::Less,
                            _ => ord != Ordering::Greater,
                        },
                    },
                })
            }
        }
    }

    /// Bounds on the id implied by top-level AND conditions: `(lowest, highest)` inclusive.
    fn id_bounds(&self, arrays: ArrayFilterValue) -> (u64, u64) {
        let (mut lo, mut hi) = (0u64, u64::MAX);
        if let Filter::All(parts) = self {
            for p in parts {
                if let Filter::Cond { field: 0, op, value } = p {
                    let Ok(Some(v)) = number(value, arrays) else { continue };
                    let v = v.max(-1.0);
                    match op {
                        Op::Gt => lo = lo.max((v.floor() + 1.0).max(0.0) as u64),
                        Op::Ge => lo = lo.max(v.ceil().max(0.0) as u64),
                        Op::Lt => hi = hi.min((v.ceil() - 1.0).max(0.0) as u64),
                        Op::Le => hi = hi.min(v.floor().max(0.0) as u64),
                        Op::Eq => {
                            lo = lo.max(v.max(0.0) as u64);
                            hi = hi.min(v.max(0.0) as u64);
                        }
                        _ => {}
                    }
                }
            }
        }
        (lo, hi)
    }

    /// True when every condition is a top-level id comparison (so counting needs no rows).
    fn only_id_ranges(&self) -> bool {
        match self {
            Filter::All(parts) => parts.iter().all(|p| {
                matches!(p, Filter::Cond { field: 0, op: Op::Gt | Op::Ge | Op::Lt | Op::Le | Op::Eq, value } if !value.is_array() && !value.is_object())
            }),
            _ => false,
        }
    }
}

/// A list request against one table.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub(crate) filter: Filter,
    /// Sort field and direction; `None` sorts by id ascending.
    pub(crate) order: Option<(usize, bool)>,
    /// Rows to skip.
    pub(crate) offset: u64,
    /// Rows to return.
    pub(crate) limit: u64,
    /// Whether to count the whole filtered set.
    pub(crate) count: bool,
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) rows: Vec<Record>,
    /// Matching rows in all, when counted.
    pub(crate) total: Option<u64>,
}

/// Run a list query.
pub(crate) fn run(table: &Table, q: &ListQuery, arrays: ArrayFilterValue) -> Result<ListPage, FilterError> {
    let (lo, hi) = q.filter.id_bounds(arrays);
    let by_id = match q.order {
        None => Some(true),
        Some((0, asc)) => Some(asc),
        Some(_) => None,
    };
    let Some(ascending) = by_id else { return run_sorted(table, q, arrays) };
    let mut rows = Vec::new();
    let mut skipped = 0u64;
    let mut matched = 0u64;
    let fast_count = q.filter.only_id_ranges();
    let mut cursor: Option<u64> = None;
    loop {
        let next = if ascending {
            table.next_after(cursor.or(lo.checked_sub(1)))
        } else {
            table.prev_before(cursor.or(hi.checked_add(1)))
        };
        let Some(record) = next else { break };
        let id = record[0].as_u64().unwrap_or(0);
        if id < lo || id > hi {
            break;
        }
        cursor = Some(id);
        if !q.filter.matches(&record, arrays)? {
            continue;
        }
        matched += 1;
        if skipped < q.offset {
            skipped += 1;
            continue;
        }
        if (rows.len() as u64) < q.limit {
            rows.push(record);
            continue;
        }
        if !q.count || fast_count {
            break;
        }
    }
    let total = if !q.count {
        None
    } else if fast_count {
        Some(table.count_in_range(lo, hi))
    } else {
        Some(matched)
    };
    Ok(ListPage { rows, total })
}

fn run_sorted(table: &Table, q: &ListQuery, arrays: ArrayFilterValue) -> Result<ListPage, FilterError> {
    let Some((field, ascending)) = q.order else { return Ok(ListPage { rows: Vec::new(), total: None }) };
    let mut all = Vec::new();
    let mut cursor = None;
    while let Some(record) = table.next_after(cursor) {
        cursor = record[0].as_u64();
        if q.filter.matches(&record, arrays)? {
            all.push(record);
        }
    }
    all.sort_by(|a, b| {
        let (x, y) = (a.get(field).unwrap_or(&Value::Null), b.get(field).unwrap_or(&Value::Null));
        let ord = compare(x, y, arrays).ok().flatten().unwrap_or(Ordering::Equal);
        if ascending { ord } else { ord.reverse() }
    });
    let total = q.count.then_some(all.len() as u64);
    let rows = all.into_iter().skip(q.offset as usize).take(q.limit as usize).collect();
    Ok(ListPage { rows, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, id_of, seed};

    fn deals(rows: u64) -> Table {
        Table::new(
            Schema::build(seed::DEALS, Some("crm.deal"), "Deal"),
            rows,
            7,
            seed::Refs { users: 10, companies: 0 },
        )
    }
    use serde_json::json;

    fn ids(page: &ListPage) -> Vec<u64> {
        page.rows.iter().filter_map(|r| r[0].as_u64()).collect()
    }

    #[test]
    fn id_cursor_pages_and_counts() {
        let t = deals(200);
        let f = parse_classic(&t, Some(&json!({">ID": "8"}))).expect("filter");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 3, count: true };
        let page = run(&t, &q, ArrayFilterValue::Intval).expect("page");
        assert_eq!(ids(&page), vec![9, 10, 11]);
        assert_eq!(page.total, Some(195), "ids above 8: rows 5..199");
        let f = parse_classic(&t, Some(&json!({"<=ID": 4}))).expect("filter");
        let q = ListQuery { filter: f, order: Some((0, false)), offset: 1, limit: 10, count: false };
        assert_eq!(ids(&run(&t, &q, ArrayFilterValue::Intval).expect("page")), vec![3, 2, 1]);
    }

    #[test]
    fn prefixes_and_v3_triples() {
        let t = deals(50);
        let f = parse_classic(&t, Some(&json!({"@ID": ["1", "2", id_of(10).to_string()], "!=ID": 2}))).expect("f");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 50, count: true };
        let page = run(&t, &q, ArrayFilterValue::Intval).expect("page");
        assert_eq!(ids(&page), vec![1, id_of(10)]);
        assert_eq!(page.total, Some(2));
        let f =
            parse_v3(&t, Some(&json!([{"logic": "or", "conditions": [["id", "=", 1], ["id", "between", [3, 4]]]}])))
                .expect("f");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 50, count: false };
        assert_eq!(ids(&run(&t, &q, ArrayFilterValue::Intval).expect("page")), vec![1, 3, 4]);
        assert!(matches!(parse_v3(&t, Some(&json!([["id", "~", 1]]))), Err(FilterError::UnknownOperator(_))));
        let f = parse_classic(&t, Some(&json!({"%TITLE": "deal 1"}))).expect("f");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 50, count: true };
        assert!(run(&t, &q, ArrayFilterValue::Intval).expect("page").total.unwrap_or(0) >= 2);
    }

    #[test]
    fn array_values_are_or_ed_per_element() {
        let t = deals(20);
        let f = parse_classic(&t, Some(&json!({"<ID": ["3", "9"], ">ID": ["10", "2"]}))).expect("f");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 50, count: true };
        let page = run(&t, &q, ArrayFilterValue::Intval).expect("page");
        assert_eq!(ids(&page), vec![3, 4, 8], "(ID < 3 OR ID < 9) AND (ID > 10 OR ID > 2)");
        let f = parse_classic(&t, Some(&json!({"ID": ["1", "4"]}))).expect("f");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 50, count: true };
        assert_eq!(ids(&run(&t, &q, ArrayFilterValue::Intval).expect("page")), vec![1, 4], "= with a list is IN");
    }

    #[test]
    fn array_as_id_value() {
        let t = deals(20);
        let f = parse_classic(&t, Some(&json!({">ID": [{"ID": "5"}]}))).expect("f");
        let q = ListQuery { filter: f, order: None, offset: 0, limit: 2, count: false };
        assert_eq!(ids(&run(&t, &q, ArrayFilterValue::Intval).expect("page")), vec![2, 3]);
        assert!(run(&t, &q, ArrayFilterValue::Empty).expect("page").rows.is_empty());
        assert!(run(&t, &q, ArrayFilterValue::Error).is_err());
    }
}
