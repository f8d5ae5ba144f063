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
}
