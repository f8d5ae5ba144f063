//! [`Method`] and [`ListMethod`]: what every generated builder can do — send itself through the
//! client's actions, become a batch [`Command`], or (for lists) stream every row.

use std::future::Future;

use b24_actions::{CallResult, ListKey, ListQuery, Pages};
use b24_batch::{BatchResult, Command};
use b24_errors::{ApiVersion, Code, Error};
use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::request::Request;
use crate::MethodCode;

/// A call of one REST method, built by a generated builder (`client.crm().deal().get(5)`).
///
/// Every generated builder implements it; bring it into scope with `use b24_sdk::prelude::*`
/// (or `use b24_methods::prelude::*`).
pub trait Method: Sized + Send + 'static {
    /// What the method answers, as the catalogue describes it (`serde_json::Value` where it gives
    /// no structure).
    type Output: DeserializeOwned + Send + 'static;

    /// The REST method, as the docs spell it.
    const NAME: &'static str;
    /// The API version it belongs to.
    const API: ApiVersion;
    /// Its page on apidocs.bitrix24.com.
    const DOC: &'static str;
    /// The key of `result` that holds the output (`item` for `crm.item.get`), if not `result`
    /// itself.
    const RESULT_KEY: Option<&'static str> = None;
    /// The params in the order the method reads them, for legacy methods that read params by
    /// position (`task.*`); empty for every other method.
    const POSITIONAL: &'static [&'static str] = &[];
    /// The error codes the docs list for this method.
    const ERRORS: &'static [MethodCode] = &[];

    /// The builder's request.
    fn request(&self) -> &Request;
    #[doc(hidden)]
    fn into_request(self) -> Request;
    #[doc(hidden)]
    fn from_request(request: Request) -> Self;

    /// Set any param by its wire name, documented or not (custom fields, params newer than the
    /// catalogue). Replaces a value a setter gave.
    fn with_param(self, key: &str, value: impl Into<Value>) -> Self {
        Self::from_request(self.into_request().with(key, value.into()))
    }

    /// The params as they will be sent (a JSON object; an array for positional methods).
    fn wire_params(&self) -> Value {
        wire_params(self.request().params().clone(), Self::POSITIONAL)
    }

    /// Send the call; the answer comes back as [`Method::Output`].
    fn send(self) -> impl Future<Output = Result<Self::Output, Error>> + Send {
        self.send_as::<Self::Output>()
    }

    /// Send the call and read the answer as your own type `T` (from the same place as
    /// [`Method::Output`]).
    fn send_as<T: DeserializeOwned + Send + 'static>(self) -> impl Future<Output = Result<T, Error>> + Send {
        let raw = self.send_raw();
        async move { decode(&raw.await?, Self::NAME, Self::RESULT_KEY) }
    }

    /// Send the call and keep the whole answer: the result, `total`/`next` and the v2 paging
    /// helpers, the time block and the request id.
    fn send_raw(self) -> impl Future<Output = Result<CallResult, Error>> + Send {
        let (actions, params) = self.into_request().into_parts();
        let params = wire_params(params, Self::POSITIONAL);
        async move {
            match Self::API {
                ApiVersion::V2 => actions.v2().call(Self::NAME, &params).await,
                ApiVersion::V3 => actions.v3().call(Self::NAME, &params).await,
            }
        }
    }

    /// The output of the batch command `key` that this method made (with
    /// [`Method::into_command`]), typed as a direct call's: `crm::deal::Get::output_in(&result,
    /// "deal")?`. A command that failed gives its error.
    fn output_in(batch: &BatchResult, key: &str) -> Result<Self::Output, Error> {
        decode_value(batch.get::<Value>(key)?, Self::NAME, Self::RESULT_KEY)
    }

    /// The call as a batch command (`Batch::named(vec![("deal".into(), cmd)])`). Params may hold
    /// [`b24_batch::Ref`]s to earlier commands.
    fn into_command(self) -> Command {
        let (_, params) = self.into_request().into_parts();
        let params = match wire_params(params, Self::POSITIONAL) {
            // A positional method's batch row is `0=…&1[…]=…`: the same keys as an object.
            Value::Array(items) => {
                Value::Object(items.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect())
            }
            other => other,
        };
        Command::new(Self::NAME, params)
    }
}

/// A list method whose pages [`ListMethod::fetch`] streams (the fast export for v2, `pagination`
/// or the keyset `*.tail` for v3).
pub trait ListMethod: Method {
    /// One row of the list.
    type Row: DeserializeOwned + Send + 'static;

    /// The key of `result` that holds the rows (`None`: `result` is the list).
    const LIST_KEY: Option<&'static str>;
    /// The id field in `filter` and `order`.
    const ID_FILTER: &'static str = "ID";
    /// The id field in the rows.
    const ID_ROW: &'static str = "ID";
    /// Whether the method is a v3 keyset method (`*.tail`, paged by `cursor`).
    const TAIL: bool = false;

    /// The list as a [`ListQuery`] (filter, select, order and every other param set so far).
    fn query(&self) -> ListQuery {
        let mut query = ListQuery::new(Self::NAME)
            .list_key(Self::LIST_KEY.map_or(ListKey::Bare, |k| ListKey::Field(k.to_owned())))
            .id_fields(Self::ID_FILTER, Self::ID_ROW);
        for (key, value) in self.request().params() {
            query = match (key.as_str(), value) {
                ("filter", Value::Object(map)) => map.iter().fold(query, |q, (k, v)| q.filter(k, v.clone())),
                ("order", Value::Object(map)) => {
                    map.iter().fold(query, |q, (k, v)| q.order(k, v.as_str().unwrap_or("ASC")))
                }
                ("select", Value::Array(fields)) => {
                    query.select(fields.iter().map(|f| f.as_str().map_or_else(|| f.to_string(), str::to_owned)))
                }
                // The pager owns these.
                ("start" | "pagination" | "cursor", _) => query,
                (key, value) => query.param(key, value.clone()),
            };
        }
        query
    }

    /// Every page as a stream of typed rows.
    fn fetch(self) -> Pages<Self::Row> {
        self.fetch_as()
    }

    /// Every page as a stream of rows of your own type.
    fn fetch_as<T: DeserializeOwned + Send + 'static>(self) -> Pages<T> {
        let query = self.query();
        let actions = self.request().actions();
        match (Self::API, Self::TAIL) {
            (ApiVersion::V2, _) => actions.v2().fetch_list(query),
            (ApiVersion::V3, false) => actions.v3().fetch_list(query),
            (ApiVersion::V3, true) => actions.v3().fetch_tail(query),
        }
    }

    /// Every row, in memory.
    fn all(self) -> impl Future<Output = Result<Vec<Self::Row>, Error>> + Send {
        self.all_as()
    }

    /// Every row as your own type, in memory.
    fn all_as<T: DeserializeOwned + Send + 'static>(self) -> impl Future<Output = Result<Vec<T>, Error>> + Send {
        let pages = self.fetch_as::<T>();
        async move {
            let pages: Vec<Vec<T>> = pages.try_collect().await?;
            Ok(pages.into_iter().flatten().collect())
        }
    }
}

/// The params as sent: the object, or for a positional method its values in the documented
/// order (a missing one in the middle as `null`; undocumented params after them).
fn wire_params(mut params: Map<String, Value>, positional: &[&str]) -> Value {
    if positional.is_empty() {
        return Value::Object(params);
    }
    let used = positional.iter().rposition(|name| params.contains_key(*name)).map_or(0, |last| last + 1);
    let mut items: Vec<Value> =
        positional[..used].iter().map(|name| params.remove(*name).unwrap_or(Value::Null)).collect();
    items.extend(params.into_iter().map(|(_, v)| v));
    Value::Array(items)
}

/// The output from an answer: `result[key]` when the method nests it under a key (or `result`
/// itself when the portal did not nest it), else `result`.
fn decode<T: DeserializeOwned>(answer: &CallResult, method: &str, key: Option<&str>) -> Result<T, Error> {
    match key {
        // The common case reads the raw result once, without building a `Value`.
        None => answer.json().or_else(|e| answer.value().and_then(|v| retry_scalar(v).ok_or(e))),
        Some(_) => decode_value(answer.value()?, method, key),
    }
}

fn decode_value<T: DeserializeOwned>(value: Value, method: &str, key: Option<&str>) -> Result<T, Error> {
    let value = match (key, value) {
        (Some(key), Value::Object(mut map)) if map.contains_key(key) => map.remove(key).unwrap_or(Value::Null),
        (_, other) => other,
    };
    serde_json::from_value(value.clone()).or_else(|e| {
        retry_scalar(value).ok_or_else(|| {
            let message =
                format!("the {method} answer does not fit the expected type (read it with send_as or send_raw)");
            Error::sdk_caused(Code::JssdkResponseUnexpectedShape, message, e)
        })
    })
}

/// A scalar answer in the portal's habits (`"5"` for a number, `"Y"` or `1` for `true`, `""`
/// for nothing), read again as the plain JSON scalar it stands for.
fn retry_scalar<T: DeserializeOwned>(value: Value) -> Option<T> {
    let plain = match value {
        Value::String(s) => {
            let t = s.trim();
            if let Ok(n) = t.parse::<i64>() {
                Value::from(n)
            } else if let Ok(f) = t.parse::<f64>() {
                Value::from(f)
            } else if t.eq_ignore_ascii_case("y") || t.eq_ignore_ascii_case("true") {
                Value::Bool(true)
            } else if t.eq_ignore_ascii_case("n") || t.eq_ignore_ascii_case("false") {
                Value::Bool(false)
            } else if t.is_empty() {
                Value::Null
            } else {
                return None;
            }
        }
        Value::Number(n) if n.as_u64() == Some(1) => Value::Bool(true),
        Value::Number(n) if n.as_u64() == Some(0) => Value::Bool(false),
        _ => return None,
    };
    serde_json::from_value(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn scalar_answers_in_the_portals_habits() {
        assert_eq!(decode_value::<i64>(json!("37"), "m", None).ok(), Some(37));
        assert_eq!(decode_value::<bool>(json!("Y"), "m", None).ok(), Some(true));
        assert_eq!(decode_value::<bool>(json!(1), "m", None).ok(), Some(true));
        assert_eq!(decode_value::<Option<i64>>(json!(""), "m", None).ok(), Some(None));
        assert_eq!(decode_value::<i64>(json!({"id": 5}), "m", Some("id")).ok(), Some(5));
        assert_eq!(
            decode_value::<Vec<i64>>(json!([1]), "m", Some("items")).ok(),
            Some(vec![1]),
            "not nested after all"
        );
        let e = decode_value::<i64>(json!("many"), "crm.x", None).err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkResponseUnexpectedShape.into()));
    }

    #[test]
    fn positional_params_keep_the_documented_order() {
        let order = &["TASKID", "FIELDS", "PARAMS"];
        let params = map(json!({"FIELDS": {"A": 1}, "TASKID": 5}));
        assert_eq!(wire_params(params, order), json!([5, {"A": 1}]));
        let gap = map(json!({"PARAMS": 1, "TASKID": 5}));
        assert_eq!(wire_params(gap, order), json!([5, null, 1]));
        assert_eq!(wire_params(Map::new(), order), json!([]));
        let named = map(json!({"id": 1}));
        assert_eq!(wire_params(named, &[]), json!({"id": 1}));
    }
}
