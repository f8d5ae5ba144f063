//! The PHP-bracket query format: `filter[>ID]=5&select[]=ID&fields[PHONE][0][VALUE]=1`.
//!
//! [`encode`] writes what PHP's `parse_str` reads back into the same nested arrays (batch `cmd`
//! rows need it); [`decode`] is its inverse, used to check the encoder. Rules:
//! - nested maps and lists become bracketed keys; an empty list or map is sent as `key[]=`
//!   (many encoders drop it, and the portal then never sees the key);
//! - `true`/`false` become `1`/`0` (PHP reads the string `"false"` as true); `null` becomes an
//!   empty value;
//! - keys and values are percent-encoded, except the brackets of keys and the `$`, `[` and `]`
//!   of values, so that batch references such as `$result[prev][49][ID]` reach the portal as
//!   written.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
const VALUE: &AsciiSet = &KEY.remove(b'$').remove(b'[').remove(b']');

/// Encode a params object as a PHP-bracket query string.
///
/// ```
/// use serde_json::json;
/// let q = b24_transport::php_query::encode(&json!({"filter": {">ID": 5}, "select": ["ID"], "empty": [], "ok": true}));
/// assert_eq!(q, "filter[%3EID]=5&select[0]=ID&empty[]=&ok=1");
/// ```
pub fn encode(params: &Value) -> String {
    let mut out = String::new();
    // One key buffer for the whole walk: each level appends its `[segment]` and cuts it off
    // again, instead of formatting a new key string per nested value.
    let mut key = String::new();
    match params {
        Value::Object(map) => {
            for (k, v) in map {
                key.clear();
                key.extend(utf8_percent_encode(k, KEY));
                write(&mut out, &mut key, v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                key.clear();
                push_index(&mut key, i);
                write(&mut out, &mut key, v);
            }
        }
        _ => {}
    }
    out
}

fn push_index(key: &mut String, i: usize) {
    use std::fmt::Write as _;
    let _ = write!(key, "{i}");
}

fn pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str(key);
    out.push('=');
    out.extend(utf8_percent_encode(value, VALUE));
}

fn write(out: &mut String, key: &mut String, value: &Value) {
    let len = key.len();
    match value {
        Value::Object(map) if map.is_empty() => {
            key.push_str("[]");
            pair(out, key, "");
        }
        Value::Array(items) if items.is_empty() => {
            key.push_str("[]");
            pair(out, key, "");
        }
        Value::Object(map) => {
            for (k, v) in map {
                key.truncate(len);
                key.push('[');
                key.extend(utf8_percent_encode(k, KEY));
                key.push(']');
                write(out, key, v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                key.truncate(len);
                key.push('[');
                push_index(key, i);
                key.push(']');
                write(out, key, v);
            }
        }
        Value::String(s) => pair(out, key, s),
        Value::Number(n) => pair(out, key, &n.to_string()),
        Value::Bool(b) => pair(out, key, if *b { "1" } else { "0" }),
        Value::Null => pair(out, key, ""),
    }
    key.truncate(len);
}

fn unescape(text: &str) -> String {
    percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Decode a PHP-bracket query string (PHP `parse_str`), giving every leaf as a string and
/// `key[]` segments as list appends. Maps whose keys are exactly `0..n-1` become lists.
pub fn decode(query: &str) -> Value {
    let mut root = Value::Object(Map::new());
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let key = unescape(raw_key);
        let value = unescape(raw_value);
        let (name, segments) = match key.find('[') {
            Some(open) if open > 0 => {
                let mut segs = Vec::new();
                let mut rest = &key[open..];
                while let Some(inner) = rest.strip_prefix('[') {
                    let Some(close) = inner.find(']') else { break };
                    segs.push(inner[..close].to_owned());
                    rest = &inner[close + 1..];
                }
                (key[..open].to_owned(), segs)
            }
            _ => (key.clone(), Vec::new()),
        };
        insert(&mut root, &name, &segments, value);
    }
    listify(root)
}

fn insert(node: &mut Value, name: &str, segments: &[String], value: String) {
    let Value::Object(map) = node else { return };
    let name = if name.is_empty() { map.len().to_string() } else { name.to_owned() };
    if segments.is_empty() {
        map.insert(name, Value::String(value));
        return;
    }
    let child = map.entry(name).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    insert(child, &segments[0], &segments[1..], value);
}

fn listify(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_list = !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if is_list {
                let mut items: Vec<(usize, Value)> =
                    map.into_iter().filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, listify(v)))).collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, listify(v))).collect())
            }
        }
        other => other,
    }
}

/// What [`decode`]`(`[`encode`]`(params))` gives for a params object: leaves as PHP sees them
/// (strings; `1`/`0` for booleans; empty for null), nested empty lists and maps as `[""]`.
pub fn php_view(params: &Value) -> Value {
    match params {
        Value::Object(map) => listify(Value::Object(map.iter().map(|(k, v)| (k.clone(), php_leaf(v))).collect())),
        other => php_leaf(other),
    }
}

fn php_leaf(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.is_empty() => Value::Array(vec![Value::String(String::new())]),
        Value::Array(items) if items.is_empty() => Value::Array(vec![Value::String(String::new())]),
        Value::Object(map) => listify(Value::Object(map.iter().map(|(k, v)| (k.clone(), php_leaf(v))).collect())),
        Value::Array(items) => Value::Array(items.iter().map(php_leaf).collect()),
        Value::String(s) => Value::String(s.clone()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(if *b { "1" } else { "0" }.to_owned()),
        Value::Null => Value::String(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn reserved_and_unicode() {
        let v = json!({"filter": {"%TITLE": "a&b=c d+é/?#"}, "ref": "$result[p0][49][ID]", "n": null, "f": false});
        let q = encode(&v);
        assert_eq!(q, "filter[%25TITLE]=a%26b%3Dc%20d%2B%C3%A9%2F%3F%23&ref=$result[p0][49][ID]&n=&f=0");
        assert_eq!(decode(&q), php_view(&v));
    }

    #[test]
    fn nested_lists_of_maps() {
        let v = json!({"fields": {"PHONE": [{"VALUE": "1", "TYPE": "WORK"}], "TAGS": []}});
        assert_eq!(encode(&v), "fields[PHONE][0][VALUE]=1&fields[PHONE][0][TYPE]=WORK&fields[TAGS][]=");
        assert_eq!(decode(&encode(&v)), php_view(&v));
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
            Just(Value::Null),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        // PHP reserves brackets in keys, and `parse_str` turns spaces and dots in a top-level
        // name into underscores; keys are otherwise arbitrary text.
        "[^\\[\\]\\s.&=+%#]{1,10}".prop_filter("not numeric", |k| k.parse::<u64>().is_err())
    }

    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(map in prop::collection::btree_map(key(), tree(), 0..6)) {
            let value = Value::Object(map.into_iter().collect());
            prop_assert_eq!(decode(&encode(&value)), php_view(&value));
        }
    }
}
