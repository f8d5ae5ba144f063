//! Request input as the server reads it: v2 merges the query string and the body (form or, for
//! `application/json` only, JSON; malformed JSON becomes an empty body); v3 reads a JSON body only.

use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use crate::errors::MethodError;
use crate::php;
use crate::portal::Api;

/// Request bodies over this are refused.
const MAX_BODY: usize = 64 << 20;

/// Whether the body is declared as exactly `application/json`.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// The whole body, or `Err` when it is too large or broken.
pub(crate) async fn read_body(body: Incoming) -> Result<Bytes, ()> {
    Limited::new(body, MAX_BODY).collect().await.map(|c| c.to_bytes()).map_err(|_| ())
}

/// The params of a REST call.
pub(crate) fn parse_params(api: Api, headers: &HeaderMap, query: &str, body: &[u8]) -> Result<Value, MethodError> {
    match api {
        Api::V3 => {
            let bad = || {
                MethodError::bad("BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION", "Invalid JSON in the request body")
            };
            if body.is_empty() {
                return Ok(Value::Object(Map::new()));
            }
            if !is_json(headers) {
                return Err(bad());
            }
            serde_json::from_slice(body).map_err(|_| bad())
        }
        Api::V2 => {
            let mut params = php::query_to_object(query);
            let overlay = if is_json(headers) {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(map)) => map,
                    _ => Map::new(),
                }
            } else {
                php::query_to_object(&String::from_utf8_lossy(body))
            };
            php::merge(&mut params, overlay);
            Ok(Value::Object(params))
        }
    }
}

/// The form and query fields of a request outside the REST API (the OAuth server).
pub(crate) fn form_params(headers: &HeaderMap, query: &str, body: &[u8]) -> Value {
    let mut params = php::query_to_object(query);
    if !is_json(headers) {
        php::merge(&mut params, php::query_to_object(&String::from_utf8_lossy(body)));
    }
    Value::Object(params)
}
