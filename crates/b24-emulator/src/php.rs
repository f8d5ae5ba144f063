//! PHP's view of request input: `a[b][]=1` query strings, form bodies, and PHP's JSON shapes.
//!
//! The portal is PHP: `parse_str` builds nested arrays from bracketed keys, and `json_encode`
//! writes an array with keys `0..n-1` as a JSON list, any other array as an object, and an
//! empty array as `[]`. This module is the emulator's own implementation of both, written
//! independently of the SDK's encoder so that one tests the other.

use percent_encoding::percent_decode;
use serde_json::{Map, Value};

/// A PHP array: ordered keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PhpArray(pub(crate) Vec<(String, PhpValue)>);

/// A value from `parse_str`: a string or a nested array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PhpValue {
    Str(String),
    Array(PhpArray),
}

impl PhpArray {
    fn next_index(&self) -> String {
        let max = self.0.iter().filter_map(|(k, _)| k.parse::<i64>().ok()).max();
        max.map_or(0, |m| m + 1).to_string()
    }

    fn slot(&mut self, key: Option<&str>) -> &mut PhpValue {
        let key = match key {
            Some(k) => k.to_owned(),
            None => self.next_index(),
        };
        let pos = match self.0.iter().position(|(k, _)| *k == key) {
            Some(pos) => pos,
            None => {
                self.0.push((key, PhpValue::Str(String::new())));
                self.0.len() - 1
            }
        };
        &mut self.0[pos].1
    }

    /// Insert `value` at the path `name[seg1][seg2]...` (an empty segment appends).
    fn insert(&mut self, name: &str, segments: &[Option<String>], value: String) {
        let mut node = self.slot(Some(name));
        for seg in segments {
            if !matches!(node, PhpValue::Array(_)) {
                *node = PhpValue::Array(PhpArray::default());
            }
            let PhpValue::Array(array) = node else { return };
            node = array.slot(seg.as_deref());
        }
        *node = PhpValue::Str(value);
    }

    /// PHP's `json_encode` shape of this array.
    pub(crate) fn to_json(&self) -> Value {
        php_shape(self.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }
}

impl PhpValue {
    fn to_json(&self) -> Value {
        match self {
            PhpValue::Str(s) => Value::String(s.clone()),
            PhpValue::Array(a) => a.to_json(),
        }
    }
}

/// PHP's `json_encode` of an ordered map: `[]` when empty, a list when the keys are exactly
/// `0..n-1` in order, an object otherwise.
pub(crate) fn php_shape(entries: Vec<(String, Value)>) -> Value {
    let is_list = entries.iter().enumerate().all(|(i, (k, _))| *k == i.to_string());
    if is_list {
        Value::Array(entries.into_iter().map(|(_, v)| v).collect())
    } else {
        let mut map = Map::with_capacity(entries.len());
        for (k, v) in entries {
            map.insert(k, v);
        }
        Value::Object(map)
    }
}

fn decode(raw: &str) -> String {
    let plus = raw.replace('+', " ");
    percent_decode(plus.as_bytes()).decode_utf8_lossy().into_owned()
}

/// Split `a[b][]` into `a` and `[Some(b), None]`; PHP's rules for unbalanced brackets are
/// approximated by keeping the raw name.
fn split_key(key: &str) -> (String, Vec<Option<String>>) {
    let Some(open) = key.find('[') else { return (key.to_owned(), Vec::new()) };
    if open == 0 {
        return (key.to_owned(), Vec::new());
    }
    let name = key[..open].to_owned();
    let mut segments = Vec::new();
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else { break };
        let seg = &stripped[..close];
        segments.push(if seg.is_empty() { None } else { Some(seg.to_owned()) });
        rest = &stripped[close + 1..];
    }
    (name, segments)
}

/// `parse_str`: a query string or form body into a PHP array.
pub(crate) fn parse_query(query: &str) -> PhpArray {
    let mut out = PhpArray::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key);
        if key.is_empty() {
            continue;
        }
        let (name, segments) = split_key(&key);
        out.insert(&name, &segments, decode(raw_value));
    }
    out
}

/// Merge `overlay` into `base` (the form body wins over the query string).
pub(crate) fn merge(base: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (k, v) in overlay {
        base.insert(k, v);
    }
}

/// The params object of a query string, in PHP's JSON shape (always an object).
pub(crate) fn query_to_object(query: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in parse_query(query).0 {
        map.insert(k, v.to_json());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets() {
        let q = "filter%5B%3EID%5D=5&select[]=ID&select[]=TITLE&fields[PHONE][0][VALUE]=1&key[]=&order[ID]=ASC&a+b=c+d";
        assert_eq!(
            Value::Object(query_to_object(q)),
            json!({
                "filter": {">ID": "5"},
                "select": ["ID", "TITLE"],
                "fields": {"PHONE": [{"VALUE": "1"}]},
                "key": [""],
                "order": {"ID": "ASC"},
                "a b": "c d",
            })
        );
    }

    #[test]
    fn positional_and_sparse_keys() {
        assert_eq!(
            Value::Object(query_to_object("0=123&1[POST_MESSAGE]=x")),
            json!({"0": "123", "1": {"POST_MESSAGE": "x"}})
        );
        assert_eq!(Value::Object(query_to_object("a[1]=x&a[5]=y")), json!({"a": {"1": "x", "5": "y"}}));
        assert_eq!(Value::Object(query_to_object("a[0]=x&a[1]=y")), json!({"a": ["x", "y"]}));
    }

    #[test]
    fn shapes() {
        assert_eq!(php_shape(vec![]), json!([]));
        assert_eq!(php_shape(vec![("1".into(), json!(1))]), json!({"1": 1}));
    }
}
