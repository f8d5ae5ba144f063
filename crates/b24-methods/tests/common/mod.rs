//! Helpers of the generated tests (`reach.rs`, `encoding.rs`) and the emulator round trips.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use b24_methods::Actions;
use b24_transport::credentials::Webhook;
use b24_transport::{TransportBuilder, TransportConfig, php_query};
use serde_json::Value;

/// Actions that never send anything (the tests only build calls).
pub fn offline_actions() -> Actions {
    let hook = Webhook::parse("https://portal.example.invalid/rest/1/fake-webhook-secret/", false).expect("webhook");
    Actions::new(TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport"))
}

fn catalogue() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/catalog");
    dir.join("methods.json").is_file().then_some(dir)
}

/// With the catalogue present, the reached names are exactly its methods and paths.
pub fn compare_with_catalogue<'a>(reached: impl Iterator<Item = (&'a str, bool)>) {
    let Some(dir) = catalogue() else {
        eprintln!("../shared/catalog is absent: the reached names are not compared with it");
        return;
    };
    let read = |file: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(file)).expect("catalogue file");
        serde_json::from_str(&text).expect("catalogue JSON")
    };
    let mut want: BTreeSet<String> = read("methods.json")["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .filter_map(|m| m["method"].as_str().map(str::to_owned))
        .collect();
    let v2 = want.len();
    let paths =
        read("openapi-v3.json")["paths"].as_object().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let v3 = paths.len();
    want.extend(paths.into_iter().map(|p| format!("v3:{}", p.trim_start_matches('/'))));
    let got: BTreeSet<String> = reached.map(|(n, v3)| if v3 { format!("v3:{n}") } else { n.to_owned() }).collect();
    let missing: Vec<&String> = want.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, not in the catalogue {extra:?}");
    eprintln!("reached every catalogue method: {v2} v2 methods and {v3} v3 paths");
}

/// What PHP's `parse_str` makes of a JSON value: every leaf a string (`true` → `1`, `false` →
/// `0`, `null` → empty), lists as lists, and an empty list or map — sent as `key[]=` so that the
/// key reaches the portal at all — as a list holding one empty string.
fn php_view(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.is_empty() => Value::Array(vec![Value::String(String::new())]),
        Value::Array(items) if items.is_empty() => Value::Array(vec![Value::String(String::new())]),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), php_view(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(php_view).collect()),
        Value::Bool(b) => Value::String(if *b { "1" } else { "0" }.to_owned()),
        Value::Null => Value::String(String::new()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => Value::String(s.clone()),
    }
}

/// One case: (method, positional, the params, the batch command), v3, the expected params.
pub type Case = ((&'static str, bool, Value, b24_methods::Command), bool, &'static str);

/// The params must be the expected JSON (the body of a call), and for v2 the batch row must be
/// a PHP-bracket query the portal parses back into the same structure.
pub fn check_encodings(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    for ((method, positional, params, command), v3, expected) in cases {
        let expected: Value = serde_json::from_str(expected).expect("expected JSON");
        assert_eq!(params, expected, "{method}: the params as sent");
        assert_eq!(command.method, method);
        if v3 {
            let body = serde_json::to_string(&command.params).expect("JSON body");
            assert_eq!(serde_json::from_str::<Value>(&body).ok(), Some(expected), "{method}: the v3 JSON body");
            continue;
        }
        let row = php_query::encode(&command.params);
        let parsed = php_query::decode(&row);
        let want = match (positional, &expected) {
            (true, Value::Array(items)) => {
                Value::Object(items.iter().enumerate().map(|(i, v)| (i.to_string(), php_view(v))).collect())
            }
            _ => php_view(&expected),
        };
        assert_eq!(normalize(parsed), normalize(want), "{method}: the batch row {row}");
    }
}

/// `parse_str` turns maps keyed 0..n-1 into lists; compare both sides the same way.
fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sequential = !map.is_empty() && map.keys().enumerate().all(|(i, k)| *k == i.to_string());
            if sequential {
                Value::Array(map.into_iter().map(|(_, v)| normalize(v)).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}
