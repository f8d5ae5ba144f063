//! REST v3 filters: the typed form ([`V3Filter`]: conditions `[field, operator, value]` and
//! OR-groups, as the v3 OpenAPI gives them), and the conversion of [`ListQuery::filter`]'s v2-style
//! keys (`">=ID"`, `"@STATUS"`) into those conditions, so one `ListQuery` filters on both APIs.
//!
//! [`ListQuery::filter`]: crate::ListQuery::filter

use b24_errors::{Code, Error};
use serde_json::{Map, Value, json};

/// A v3 filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum V3Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `in`: the value is a list.
    In,
    /// `between`: the value is `[from, to]`, both included.
    Between,
}

impl V3Op {
    /// The operator as the portal spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            V3Op::Eq => "=",
            V3Op::Ne => "!=",
            V3Op::Gt => ">",
            V3Op::Ge => ">=",
            V3Op::Lt => "<",
            V3Op::Le => "<=",
            V3Op::In => "in",
            V3Op::Between => "between",
        }
    }
}

/// A REST v3 filter: every condition must hold; [`V3Filter::any`] adds a group of which one must.
///
/// ```
/// use b24_actions::V3Filter;
/// use serde_json::json;
///
/// let filter = V3Filter::new()
///     .ge("id", 10)
///     .is_in("status", [2, 3])
///     .any(V3Filter::new().eq("responsibleId", 1).eq("creatorId", 1));
/// assert_eq!(filter.into_value(), json!([
///     ["id", ">=", 10],
///     ["status", "in", [2, 3]],
///     {"logic": "or", "conditions": [["responsibleId", "=", 1], ["creatorId", "=", 1]]},
/// ]));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct V3Filter {
    items: Vec<Value>,
}

impl V3Filter {
    /// An empty filter (every row).
    pub fn new() -> V3Filter {
        V3Filter::default()
    }

    /// Add `[field, op, value]`.
    pub fn condition(mut self, field: &str, op: V3Op, value: impl Into<Value>) -> V3Filter {
        self.items.push(json!([field, op.as_str(), value.into()]));
        self
    }

    /// `field = value`.
    pub fn eq(self, field: &str, value: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Eq, value)
    }

    /// `field != value`.
    pub fn ne(self, field: &str, value: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Ne, value)
    }

    /// `field > value`.
    pub fn gt(self, field: &str, value: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Gt, value)
    }

    /// `field >= value`.
    pub fn ge(self, field: &str, value: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Ge, value)
    }

    /// `field < value`.
    pub fn lt(self, field: &str, value: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Lt, value)
    }

    /// `field <= value`.
    pub fn le(self, field: &str, value: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Le, value)
    }

    /// `field in [values…]`.
    pub fn is_in<V: Into<Value>>(self, field: &str, values: impl IntoIterator<Item = V>) -> V3Filter {
        let values: Vec<Value> = values.into_iter().map(Into::into).collect();
        self.condition(field, V3Op::In, values)
    }

    /// `from <= field <= to`.
    pub fn between(self, field: &str, from: impl Into<Value>, to: impl Into<Value>) -> V3Filter {
        self.condition(field, V3Op::Between, json!([from.into(), to.into()]))
    }

    /// Add a group of which at least one condition must hold.
    pub fn any(mut self, alternatives: V3Filter) -> V3Filter {
        self.items.push(json!({"logic": "or", "conditions": alternatives.items}));
        self
    }

    /// Whether the filter has no condition.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The filter as the portal reads it: a JSON array.
    pub fn into_value(self) -> Value {
        Value::Array(self.items)
    }
}

impl From<V3Filter> for Value {
    fn from(f: V3Filter) -> Value {
        f.into_value()
    }
}

/// Prefixes of v2 filter keys, longest first, and what each means in v3 (`None`: v3 has no such
/// operator).
const PREFIXES: &[(&str, Option<V3Op>)] = &[
    ("!@", None),
    ("!%", None),
    ("=%", None),
    ("%=", None),
    ("><", Some(V3Op::Between)),
    (">=", Some(V3Op::Ge)),
    ("<=", Some(V3Op::Le)),
    ("!=", Some(V3Op::Ne)),
    (">", Some(V3Op::Gt)),
    ("<", Some(V3Op::Lt)),
    ("=", Some(V3Op::Eq)),
    ("!", Some(V3Op::Ne)),
    ("@", Some(V3Op::In)),
    ("%", None),
];

/// `{">=ID": 5, "STATUS": [2, 3]}` → `[["ID", ">=", 5], ["STATUS", "in", [2, 3]]]`. A list value
/// without an operator means `in`, as it does in v2.
pub(crate) fn from_v2_keys(filter: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::with_capacity(filter.len());
    for (key, value) in filter {
        let (op, field) = match PREFIXES.iter().find(|(p, _)| key.starts_with(p)) {
            Some((prefix, Some(op))) => (*op, &key[prefix.len()..]),
            Some((prefix, None)) => {
                return Err(Error::sdk(
                    Code::JssdkInvalidParams,
                    format!(
                        "filter key {key:?}: REST v3 has no {prefix:?} operator (it knows = != > >= < <= in between); \
                         filter on v2 or drop the condition"
                    ),
                ));
            }
            None if value.is_array() => (V3Op::In, key.as_str()),
            None => (V3Op::Eq, key.as_str()),
        };
        if field.is_empty() {
            return Err(Error::sdk(Code::JssdkInvalidParams, format!("filter key {key:?} names no field")));
        }
        out.push(json!([field, op.as_str(), value]));
    }
    Ok(out)
}

/// The `filter` param of a v3 list: the conditions given as a param (an array, or one group
/// object) followed by those of `ListQuery::filter`.
pub(crate) fn merge(param: Option<Value>, keys: &Map<String, Value>) -> Result<Option<Value>, Error> {
    let converted = from_v2_keys(keys)?;
    let mut items = match param {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(group @ Value::Object(_)) => vec![group],
        Some(other) => {
            return Err(Error::sdk(
                Code::JssdkInvalidParams,
                format!("a v3 filter is a list of conditions, not {other}"),
            ));
        }
    };
    items.extend(converted);
    Ok((!items.is_empty()).then_some(Value::Array(items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn v2_keys_become_conditions() {
        let conditions = from_v2_keys(&keys(json!({
            ">=id": 5, "<id": 9, "!=status": 1, "!stageId": "X", "@groupId": [1, 2], "title": "a", "tags": ["x"], "><deadline": ["a", "b"]
        })));
        assert_eq!(
            conditions.unwrap_or_default(),
            vec![
                json!(["id", ">=", 5]),
                json!(["id", "<", 9]),
                json!(["status", "!=", 1]),
                json!(["stageId", "!=", "X"]),
                json!(["groupId", "in", [1, 2]]),
                json!(["title", "=", "a"]),
                json!(["tags", "in", ["x"]]),
                json!(["deadline", "between", ["a", "b"]]),
            ]
        );
    }

    #[test]
    fn operators_v3_lacks_are_refused() {
        for key in ["%title", "!@id", "=%title", ">="] {
            let e = from_v2_keys(&keys(json!({ key: 1 }))).err();
            assert_eq!(e.map(|e| e.code()), Some(Code::JssdkInvalidParams.into()), "{key}");
        }
    }

    #[test]
    fn merged_with_a_filter_param() {
        let merged = merge(Some(json!([["a", "=", 1]])), &keys(json!({">b": 2})));
        assert_eq!(merged.ok().flatten(), Some(json!([["a", "=", 1], ["b", ">", 2]])));
        let group = merge(Some(json!({"logic": "or", "conditions": []})), &Map::new());
        assert_eq!(group.ok().flatten(), Some(json!([{"logic": "or", "conditions": []}])));
        assert_eq!(merge(None, &Map::new()).ok().flatten(), None);
        assert!(merge(Some(json!("x")), &Map::new()).is_err());
    }
}
