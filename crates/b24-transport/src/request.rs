//! [`B24Request`]: one call of a REST method, before any layer has touched it.

use std::fmt;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use b24_errors::{ApiVersion, Code, Error, RequestInfo};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::credentials::AttachedAuth;

/// A call of one REST method.
///
/// ```
/// use b24_transport::B24Request;
/// use serde_json::json;
///
/// let request = B24Request::v2("crm.deal.list", &json!({"filter": {">ID": 5}})).unwrap();
/// assert_eq!(request.method(), "crm.deal.list");
/// assert!(request.is_idempotent());
/// assert!(B24Request::v2("crm deal", &json!({})).is_err());
/// assert!(B24Request::v2("crm.deal.list", &json!([1, 2])).is_err());
/// ```
#[derive(Clone)]
pub struct B24Request {
    // What the caller asked for, shared: every retry, timeout and error keeps a handle to it, so
    // a clone costs one reference count however large the params are.
    call: Arc<Call>,
    /// Credentials attached by the auth layer for this attempt.
    pub(crate) auth: Option<AttachedAuth>,
}

#[derive(Clone)]
struct Call {
    method: Arc<str>,
    params: Value,
    api: ApiVersion,
    request_id: RequestId,
    idempotent: Option<bool>,
    idempotency_key: Option<String>,
    raw_result: bool,
    retry_budget: Option<std::time::Duration>,
}

impl fmt::Debug for B24Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("B24Request")
            .field("method", &self.call.method)
            .field("api", &self.call.api)
            .field("request_id", &self.call.request_id)
            .field("params", &b24_errors::redact_params(&self.call.params))
            .finish_non_exhaustive()
    }
}

/// Checks a method name: non-empty, no whitespace, slashes, `?`, `#` or control characters.
pub fn validate_method(method: &str) -> Result<(), Error> {
    let bad = method.is_empty()
        || method.len() > 255
        || method
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '%' | '&'));
    if bad {
        let shown: String = method.chars().take(64).collect();
        return Err(Error::sdk(Code::JssdkInvalidMethod, format!("invalid method name {shown:?}")));
    }
    Ok(())
}

/// Legacy `task.*` methods read params by position (`[123, {...}]`).
fn positional(method: &str) -> bool {
    method.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("task."))
}

impl B24Request {
    /// A call with `params` serialized to a JSON object.
    pub fn new(api: ApiVersion, method: impl Into<String>, params: &impl Serialize) -> Result<B24Request, Error> {
        let method = method.into();
        validate_method(&method)?;
        let params = serde_json::to_value(params).map_err(|e| {
            Error::sdk_caused(Code::JssdkInvalidParams, format!("params of {method} cannot be serialized"), e)
        })?;
        let params = match params {
            Value::Null => Value::Object(Map::new()),
            Value::Object(_) => params,
            Value::Array(_) if positional(&method) => params,
            Value::Array(_) if api == ApiVersion::V3 && method.eq_ignore_ascii_case("batch") => params,
            other => {
                let kind = match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    _ => "a boolean",
                };
                return Err(Error::sdk(
                    Code::JssdkInvalidParams,
                    format!("params of {method} must be a JSON object, not {kind}"),
                ));
            }
        };
        let call = Call {
            method: method.into(),
            params,
            api,
            request_id: RequestId::next(),
            idempotent: None,
            idempotency_key: None,
            raw_result: false,
            retry_budget: None,
        };
        Ok(B24Request { call: Arc::new(call), auth: None })
    }

    /// A v2 call.
    pub fn v2(method: impl Into<String>, params: &impl Serialize) -> Result<B24Request, Error> {
        B24Request::new(ApiVersion::V2, method, params)
    }

    /// A v3 call.
    pub fn v3(method: impl Into<String>, params: &impl Serialize) -> Result<B24Request, Error> {
        B24Request::new(ApiVersion::V3, method, params)
    }

    /// Mark the call idempotent (safe to re-send after an ambiguous failure) or not, overriding
    /// the guess from the method name.
    pub fn idempotent(mut self, idempotent: bool) -> B24Request {
        Arc::make_mut(&mut self.call).idempotent = Some(idempotent);
        self
    }

    /// Send a v3 `Idempotency-Key`: the portal replays the stored answer for a repeat, so the
    /// call may be re-sent safely.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> B24Request {
        Arc::make_mut(&mut self.call).idempotency_key = Some(key.into());
        self
    }

    /// Long-running work: retry transient failures (network errors, 5xx without a code,
    /// timeouts of an idempotent call) for as long as `budget` lasts, counted from the first
    /// failure, instead of `max_retries` times. `fetch_list` and the bulk writer mark their
    /// requests with `RetryConfig::work_retry_budget`.
    pub fn retry_within(mut self, budget: std::time::Duration) -> B24Request {
        Arc::make_mut(&mut self.call).retry_budget = Some(budget);
        self
    }

    /// The time budget for transient retries, when the call has one ([`B24Request::retry_within`]).
    pub fn retry_budget(&self) -> Option<std::time::Duration> {
        self.call.retry_budget
    }

    /// The answer is the whole body, not a `result` envelope (`rest.documentation.openapi`).
    pub fn raw_result(mut self) -> B24Request {
        Arc::make_mut(&mut self.call).raw_result = true;
        self
    }

    /// The method name.
    pub fn method(&self) -> &str {
        &self.call.method
    }

    /// The method name, shared (for answers and errors that outlive the request).
    pub(crate) fn method_shared(&self) -> Arc<str> {
        self.call.method.clone()
    }

    /// The params.
    pub fn params(&self) -> &Value {
        &self.call.params
    }

    /// The API version.
    pub fn api(&self) -> ApiVersion {
        self.call.api
    }

    /// The request id (sent as `X-Request-Id`).
    pub fn request_id(&self) -> &RequestId {
        &self.call.request_id
    }

    /// The v3 idempotency key, if any.
    pub fn key(&self) -> Option<&str> {
        self.call.idempotency_key.as_deref()
    }

    pub(crate) fn wants_raw(&self) -> bool {
        self.call.raw_result
    }

    /// Whether re-sending after an ambiguous failure is safe: an explicit mark, a v3
    /// idempotency key, or a method that does not create anything (`*.add`, `*.create`,
    /// `*.send`, uploads, and batches holding any of them are not).
    pub fn is_idempotent(&self) -> bool {
        let call = &*self.call;
        if let Some(explicit) = call.idempotent {
            return explicit;
        }
        if call.idempotency_key.is_some() {
            return true;
        }
        if call.method.eq_ignore_ascii_case("batch") {
            return !batch_creates(&call.params);
        }
        !creates(&call.method)
    }

    /// The credentials attached to this attempt, as text that must never appear in an error
    /// (computed only when an error is being built).
    pub(crate) fn secret_texts(&self) -> Vec<&str> {
        match &self.auth {
            Some(AttachedAuth::Webhook(hook)) => vec![hook.secret().expose()],
            Some(AttachedAuth::OAuth(grant)) => vec![grant.access_token.expose()],
            None => Vec::new(),
        }
    }

    /// `text` from outside (the portal's error description, a proxy's page) with every
    /// credential this attempt carried replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, text: String) -> String {
        let secrets = self.secret_texts();
        if secrets.iter().any(|s| text.contains(s)) { b24_errors::scrub(&text, &secrets) } else { text }
    }

    /// What errors say about this request (params redacted).
    pub fn info(&self) -> RequestInfo {
        let call = &*self.call;
        RequestInfo::new(call.method.as_ref(), call.request_id.as_str(), call.api, &call.params)
    }
}

/// True for methods that create something when repeated.
pub fn creates(method: &str) -> bool {
    let last = method.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(last.as_str(), "add" | "create" | "send" | "upload" | "copy" | "import") || last.contains("upload")
}

fn batch_creates(params: &Value) -> bool {
    let rows: Vec<&Value> = match params.get("cmd") {
        Some(Value::Object(m)) => m.values().collect(),
        Some(Value::Array(a)) => a.iter().collect(),
        _ => match params {
            Value::Array(commands) => commands.iter().filter_map(|c| c.get("method")).collect(),
            _ => Vec::new(),
        },
    };
    rows.iter().filter_map(|r| r.as_str()).any(|row| creates(row.split('?').next().unwrap_or("")))
}

/// A request id: `b24-<process tag>-<counter>`, unique within the process.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

static COUNTER: AtomicU64 = AtomicU64::new(1);

impl RequestId {
    /// The next id.
    pub fn next() -> RequestId {
        static PREFIX: OnceLock<String> = OnceLock::new();
        let prefix = PREFIX.get_or_init(|| format!("b24-{:x}-", std::process::id()));
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // The prefix is formatted once per process; per call only the counter is written.
        let mut id = String::with_capacity(prefix.len() + 20);
        id.push_str(prefix);
        let _ = write!(id, "{n}");
        RequestId(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_names() {
        for bad in ["", "crm deal", "crm/deal", "a?b", "x\ny", "a#b"] {
            let e = B24Request::v2(bad, &json!({})).err().map(|e| e.code());
            assert_eq!(e, Some(Code::JssdkInvalidMethod.into()), "{bad:?}");
        }
        assert!(B24Request::v2("tasks.flow.Flow.get", &json!({})).is_ok());
    }

    #[test]
    fn params_shapes() {
        assert!(B24Request::v2("task.item.getdata", &json!([1])).is_ok(), "positional legacy task methods");
        assert!(B24Request::v3("batch", &json!([])).is_ok());
        let e = B24Request::v2("crm.deal.list", &"text").err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkInvalidParams.into()));
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 2);
        let e = B24Request::v2("crm.deal.list", &map).err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkInvalidParams.into()), "non-string keys cannot be serialized");
        assert_eq!(B24Request::v2("server.time", &()).map(|r| r.params().clone()).ok(), Some(json!({})));
    }

    #[test]
    fn request_ids_count_up_in_one_process() {
        let (a, b) = (RequestId::next(), RequestId::next());
        let prefix = format!("b24-{:x}-", std::process::id());
        let n = |id: &RequestId| id.as_str().strip_prefix(&prefix).and_then(|d| d.parse::<u64>().ok());
        assert!(matches!((n(&a), n(&b)), (Some(x), Some(y)) if y > x), "{a} then {b}");
    }

    #[test]
    fn clones_share_the_call_and_marks_do_not_leak_into_them() {
        let a = B24Request::v2("crm.item.add", &json!({"fields": {"TITLE": "x"}})).map(|r| r.idempotent(false));
        let a = a.expect("valid");
        let b = a.clone().idempotent(true);
        assert!(!a.is_idempotent() && b.is_idempotent());
        assert_eq!(a.request_id(), b.request_id());
    }

    #[test]
    fn idempotency() {
        let r = |m: &str, p: Value| B24Request::v2(m, &p).map(|r| r.is_idempotent()).unwrap_or(false);
        assert!(r("crm.deal.list", json!({})));
        assert!(!r("crm.item.add", json!({})));
        assert!(!r("disk.folder.uploadfile", json!({})));
        assert!(!r("batch", json!({"cmd": {"a": "crm.deal.add?fields[TITLE]=x"}})));
        assert!(r("batch", json!({"cmd": ["crm.deal.list", "crm.deal.get?id=1"]})));
        let keyed = B24Request::v3("crm.item.add", &json!({})).map(|r| r.idempotency_key("k").is_idempotent());
        assert_eq!(keyed.ok(), Some(true));
    }
}
