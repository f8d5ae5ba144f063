//! `key=value` arguments into params: PHP-bracket keys nest (`filter[>ID]=5`), values that are
//! JSON (numbers, `true`, lists, objects) are read as JSON, anything else is a string.

use b24_sdk::transport::php_query;
use b24_sdk::{Code, Error};
use serde_json::{Map, Value};

fn value(text: &str) -> Value {
    serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn insert(map: &mut Map<String, Value>, key: &str, v: Value) {
    // Reuse the PHP decoder for the nesting, then put the typed value at the leaf.
    let shape =
        php_query::decode(&format!("{}=__b24_leaf__", key.replace('%', "%25").replace('&', "%26").replace('=', "%3D")));
    merge(map, shape, &v);
}

fn merge(target: &mut Map<String, Value>, shape: Value, leaf: &Value) {
    let Value::Object(shape) = shape else { return };
    for (k, sv) in shape {
        match sv {
            Value::String(s) if s == "__b24_leaf__" => {
                target.insert(k, leaf.clone());
            }
            Value::Array(items) => {
                let entry = target.entry(k).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = entry {
                    for item in items {
                        list.push(if item == "__b24_leaf__" { leaf.clone() } else { item });
                    }
                }
            }
            Value::Object(inner) => {
                let entry = target.entry(k).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(child) = entry {
                    merge(child, Value::Object(inner), leaf);
                }
            }
            other => {
                target.insert(k, other);
            }
        }
    }
}

/// Params from `key=value` arguments.
pub fn params(args: &[String]) -> Result<Value, Error> {
    let mut map = Map::new();
    for arg in args {
        let Some((key, v)) = arg.split_once('=') else {
            return Err(Error::sdk(Code::JssdkInvalidParams, format!("{arg:?} is not key=value")));
        };
        if key.is_empty() {
            return Err(Error::sdk(Code::JssdkInvalidParams, format!("{arg:?} has no key")));
        }
        insert(&mut map, key, value(v));
    }
    Ok(Value::Object(map))
}

/// `--filter` conditions of `export`: `KEY=VALUE` with the operator in front of the field
/// (`>ID=100`, `STAGE_ID=WON`, `@ID=[1,2]`). The `filter[>ID]=100` form of `call` is refused
/// rather than sent as a field named `filter`.
pub fn filter(args: &[String]) -> Result<Map<String, Value>, Error> {
    let mut map = Map::new();
    for arg in args {
        let Some((key, v)) = arg.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::sdk(
                Code::JssdkInvalidParams,
                format!("--filter {arg:?} is not KEY=VALUE (e.g. >ID=100)"),
            ));
        };
        let field = key.trim_start_matches(['>', '<', '=', '!', '@', '%']);
        let operator = &key[..key.len() - field.len()];
        let known_operator =
            matches!(operator, "" | ">" | ">=" | "<" | "<=" | "=" | "!=" | "!" | "@" | "!@" | "%" | "!%" | "=%" | "%=");
        let plain_field = !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !known_operator || !plain_field {
            let example = key.strip_prefix("filter[").and_then(|k| k.strip_suffix(']')).unwrap_or(">ID");
            return Err(Error::sdk(
                Code::JssdkInvalidParams,
                format!(
                    "--filter {arg:?}: the key must be a field with an optional operator (>, >=, <, <=, =, !=, !, @, !@, %, !%), e.g. --filter '{example}={v}'"
                ),
            ));
        }
        map.insert(key.to_owned(), value(v));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_and_types() {
        let args: Vec<String> =
            ["filter[>ID]=5", "select[]=ID", "select[]=TITLE", "entityTypeId=2", "title=Hello world", "flag=true"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        let p = params(&args).unwrap_or_default();
        assert_eq!(
            p,
            json!({"filter": {">ID": 5}, "select": ["ID", "TITLE"], "entityTypeId": 2, "title": "Hello world", "flag": true})
        );
        assert!(params(&["novalue".to_owned()]).is_err());
    }

    #[test]
    fn filters_take_the_operator_in_the_key_and_refuse_the_call_form() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let map = filter(&args(&[">ID=100", "STAGE_ID=WON", "@ID=[1,2]", "!%TITLE=x"])).expect("valid");
        assert_eq!(Value::Object(map), json!({">ID": 100, "STAGE_ID": "WON", "@ID": [1, 2], "!%TITLE": "x"}));
        let e = filter(&args(&["filter[>ID]=19990"])).expect_err("the call form");
        assert!(e.message().contains("--filter '>ID=19990'"), "{}", e.message());
        assert!(filter(&args(&["=>ID=1"])).is_err() && filter(&args(&["ID"])).is_err());
    }
}
