//! Reading a batch answer into one [`Outcome`] per command.

use b24_errors::{ApiVersion, Code, Error, ErrorCode, PortalFailure, RequestInfo};
use serde_json::{Map, Value};

use crate::batch::Batch;

/// What a command returned.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandResult {
    /// The result (may be `null`).
    pub value: Value,
    /// `total`, for list methods.
    pub total: Option<u64>,
    /// `next`, for list methods.
    pub next: Option<u64>,
    /// The command's `time` block.
    pub time: Option<Value>,
}

/// The outcome of one command.
#[derive(Debug)]
pub enum Outcome {
    /// It succeeded.
    Done(CommandResult),
    /// It failed: `JSSDK_BATCH_SUB_ERROR` with the portal's error as the source (or a parsing
    /// code of this crate).
    Failed(Error),
    /// It did not run: an earlier command failed in a halting batch.
    NotRun,
}

impl Outcome {
    /// The result, if it succeeded.
    pub fn ok(&self) -> Option<&CommandResult> {
        match self {
            Outcome::Done(r) => Some(r),
            _ => None,
        }
    }

    /// The error, if it failed.
    pub fn err(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The portal's own code for a failed command (`ACCESS_DENIED`, `""` for legacy CRM…): the
    /// failure is a `JSSDK_BATCH_SUB_ERROR` wrapping it, and this looks inside.
    pub fn code(&self) -> Option<ErrorCode> {
        self.err().map(|e| e.root().code())
    }
}

/// The outcomes of a batch (or of all chunks of one), in command order.
#[derive(Debug, Default)]
pub struct BatchResult {
    entries: Vec<(String, String, Outcome)>,
}

impl BatchResult {
    /// An empty result, to merge chunks into.
    pub fn new() -> BatchResult {
        BatchResult::default()
    }

    /// Add a command's outcome.
    pub fn push(&mut self, key: String, method: String, outcome: Outcome) {
        self.entries.push((key, method, outcome));
    }

    /// Append another (later) chunk's outcomes; keys are global, so nothing is overwritten.
    pub fn extend(&mut self, other: BatchResult) {
        self.entries.extend(other.entries);
    }

    /// True when every command succeeded.
    pub fn is_success(&self) -> bool {
        self.entries.iter().all(|(_, _, o)| matches!(o, Outcome::Done(_)))
    }

    /// The outcome of the command named `key` (or at position `key` for lists).
    pub fn outcome(&self, key: &str) -> Option<&Outcome> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, _, o)| o)
    }

    /// The result of the command named `key`, deserialized into `T`; its failure (a copy of
    /// the portal's error) if it failed. A wrong `key` or a command skipped by `halt` is an
    /// error too, never a default value.
    ///
    /// ```
    /// # use b24_batch::{Batch, Command, parse_v2};
    /// # let batch = Batch::named(vec![("me".into(), Command::new("user.current", serde_json::json!({})))]).unwrap();
    /// let answer = serde_json::json!({"result": {"me": {"ID": "1"}}, "result_error": []});
    /// let result = parse_v2(&batch, &answer, "req-1").unwrap();
    /// let me: serde_json::Map<String, serde_json::Value> = result.get("me").unwrap();
    /// assert_eq!(me["ID"], "1");
    /// assert!(result.get::<u64>("me").is_err(), "a result of another shape is an error naming the command");
    /// assert!(result.get::<u64>("nobody").is_err());
    /// ```
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, Error> {
        let Some((_, method, outcome)) = self.entries.iter().find(|(k, _, _)| k == key) else {
            return Err(Error::sdk(Code::JssdkInvalidParams, format!("the batch has no command named {key:?}")));
        };
        match outcome {
            Outcome::Done(r) => T::deserialize(&r.value).map_err(|e| {
                Error::sdk_caused(
                    Code::JssdkResponseUnexpectedShape,
                    format!("the result of batch command {key:?} ({method}) does not fit the requested type: {e}"),
                    e,
                )
            }),
            Outcome::Failed(e) => Err(Error::wrap(
                Code::JssdkBatchSubError,
                format!("batch command {key:?} ({method}) failed"),
                e.root_copy(),
            )),
            Outcome::NotRun => Err(Error::sdk(
                Code::JssdkBatchSubError,
                format!("batch command {key:?} ({method}) did not run: an earlier command failed and the batch halts"),
            )),
        }
    }

    /// (key, method, outcome) in command order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Outcome)> {
        self.entries.iter().map(|(k, m, o)| (k.as_str(), m.as_str(), o))
    }

    /// The successful results by key (still available when other commands failed).
    pub fn data(&self) -> Vec<(&str, &Value)> {
        self.entries.iter().filter_map(|(k, _, o)| o.ok().map(|r| (k.as_str(), &r.value))).collect()
    }

    /// The failures by key.
    pub fn errors(&self) -> Vec<(&str, &Error)> {
        self.entries.iter().filter_map(|(k, _, o)| o.err().map(|e| (k.as_str(), e))).collect()
    }

    /// One line per failed command: `key: CODE: message`.
    pub fn error_messages(&self) -> Vec<String> {
        self.errors().iter().map(|(k, e)| format!("{k}: {}: {}", e.root().code(), e.root().message())).collect()
    }

    /// Take the outcomes: (key, method, outcome) in command order.
    pub fn into_entries(self) -> Vec<(String, String, Outcome)> {
        self.entries
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no commands.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// PHP's JSON shapes of a map: an object, a list (keys `0..n-1`), or `[]`/`null` when empty.
pub fn php_map(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.clone(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v.clone())).collect(),
        _ => Map::new(),
    }
}

/// [`php_map`] taking ownership (no copy of the values).
fn php_map_owned(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        Value::Array(items) => items.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Map::new(),
    }
}

fn number(v: Option<&Value>) -> Result<Option<u64>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(()),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

fn row_fail(key: &str, method: &str, what: &str) -> Error {
    Error::sdk(Code::JssdkInteractionBatchRowFail, format!("batch command {key:?} ({method}): {what}"))
}

/// A sub-call's failure: the portal's error for the command, wrapped as `JSSDK_BATCH_SUB_ERROR`.
fn sub_error(key: &str, command: &crate::Command, request_id: &str, error: &Value) -> Error {
    let Some(code) = error.get("error").and_then(Value::as_str) else {
        return row_fail(key, &command.method, "its error entry has no code");
    };
    let code = ErrorCode::from_portal(code);
    let status = code.known().and_then(|c| c.status()).unwrap_or(400);
    let message = error.get("error_description").and_then(Value::as_str).unwrap_or_default();
    let info = RequestInfo::new(command.method.clone(), format!("{request_id}#{key}"), ApiVersion::V2, &command.params);
    let inner = Error::portal(PortalFailure::new(code, status, message, info));
    Error::wrap(Code::JssdkBatchSubError, format!("batch command {key:?} ({}) failed", command.method), inner)
}

/// Read a v2 batch's `result` (the object holding `result`, `result_error`, …).
pub fn parse_v2(batch: &Batch, result: &Value, request_id: &str) -> Result<BatchResult, Error> {
    parse_v2_owned(batch, result.clone(), request_id)
}

/// [`parse_v2`] taking the answer by value: the rows move into the outcomes, uncopied (the
/// export's hot path).
pub fn parse_v2_owned(batch: &Batch, result: Value, request_id: &str) -> Result<BatchResult, Error> {
    let Value::Object(mut parts) = result else {
        return Err(Error::sdk(
            Code::JssdkInteractionBatchEmptyProcessingStrategy,
            "the batch answer is not an object: no processing strategy matches it",
        ));
    };
    let Some(results) = parts.remove("result") else {
        return Err(Error::sdk(
            Code::JssdkInteractionBatchEmptyProcessingStrategy,
            "the batch answer has no `result` map: no processing strategy matches it",
        ));
    };
    let mut take = |key: &str| php_map_owned(parts.remove(key).unwrap_or(Value::Null));
    let mut results = php_map_owned(results);
    let errors = take("result_error");
    let totals = take("result_total");
    let nexts = take("result_next");
    let mut times = take("result_time");
    let mut out = BatchResult::new();
    let mut halted = false;
    for (key, command) in batch.entries() {
        let outcome = if let Some(value) = results.remove(key) {
            match (number(totals.get(key)), number(nexts.get(key))) {
                (Ok(total), Ok(next)) => Outcome::Done(CommandResult { value, total, next, time: times.remove(key) }),
                _ => Outcome::Failed(row_fail(key, &command.method, "its total or next is not a number")),
            }
        } else if let Some(error) = errors.get(key) {
            halted = batch.halts();
            if error.is_object() {
                Outcome::Failed(sub_error(key, command, request_id, error))
            } else {
                Outcome::Failed(row_fail(key, &command.method, "its error entry is not an object"))
            }
        } else if halted {
            Outcome::NotRun
        } else {
            Outcome::Failed(Error::sdk(
                Code::JssdkInteractionBatchStrategyV2EmptyCommandResponse,
                format!("batch command {key:?} ({}) has neither a result nor an error in the answer", command.method),
            ))
        };
        out.push(key.clone(), command.method.clone(), outcome);
    }
    Ok(out)
}

/// Read a v3 batch's `result` (a list in command order).
pub fn parse_v3(batch: &Batch, result: &Value) -> Result<BatchResult, Error> {
    let Some(items) = result.as_array() else {
        return Err(Error::sdk(
            Code::JssdkInteractionBatchEmptyProcessingStrategy,
            "the v3 batch answer is not a list",
        ));
    };
    let mut out = BatchResult::new();
    for (i, (key, command)) in batch.entries().iter().enumerate() {
        let outcome = match items.get(i) {
            Some(value) => Outcome::Done(CommandResult { value: value.clone(), total: None, next: None, time: None }),
            None => Outcome::Failed(row_fail(key, &command.method, "the v3 answer has no entry for it")),
        };
        out.push(key.clone(), command.method.clone(), outcome);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Command;
    use serde_json::json;

    fn batch(n: usize, halt: bool) -> Batch {
        Batch::list((0..n).map(|_| Command::new("crm.deal.get", json!({"id": 1, "auth": "fake-tok-1"}))).collect())
            .map(|b| b.halt(halt))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_php_shape() {
        // Keys 0 and 2 succeed (an object, since 1 is missing), 1 failed.
        let answer = json!({
            "result": {"0": {"ID": "1"}, "2": null},
            "result_error": {"1": {"error": "NOT_FOUND", "error_description": "Not found"}},
            "result_total": [],
            "result_next": [],
            "result_time": {"0": {"start": 1}},
        });
        let r = parse_v2(&batch(3, false), &answer, "req-1").unwrap_or_default();
        assert!(!r.is_success());
        assert_eq!(r.data().len(), 2);
        assert_eq!(
            r.outcome("2").and_then(Outcome::ok).map(|c| c.value.clone()),
            Some(Value::Null),
            "null is a result"
        );
        let e = r.outcome("1").and_then(Outcome::err).map(|e| (e.code(), e.root().code()));
        assert_eq!(e, Some((Code::JssdkBatchSubError.into(), ErrorCode::from_portal("NOT_FOUND"))));
        assert_eq!(r.error_messages(), vec!["1: NOT_FOUND: Not found".to_owned()]);
        let text = format!("{:?}", r.errors());
        assert!(!text.contains("fake-tok-1"), "sub-call params are redacted");
        let all = json!({"result": [1, 2], "result_error": [], "result_total": [10, 20], "result_next": [], "result_time": []});
        let r = parse_v2(&batch(2, false), &all, "req").unwrap_or_default();
        assert!(r.is_success());
        assert_eq!(r.outcome("1").and_then(Outcome::ok).and_then(|c| c.total), Some(20));
    }

    #[test]
    fn halt_absent_and_broken_rows() {
        let answer = json!({"result": {"0": 1}, "result_error": {"1": {"error": "X", "error_description": ""}}});
        let r = parse_v2(&batch(3, true), &answer, "r").unwrap_or_default();
        assert!(matches!(r.outcome("2"), Some(Outcome::NotRun)));
        let r = parse_v2(&batch(3, false), &answer, "r").unwrap_or_default();
        let code = r.outcome("2").and_then(Outcome::err).map(|e| e.code());
        assert_eq!(code, Some(Code::JssdkInteractionBatchStrategyV2EmptyCommandResponse.into()));
        let broken = json!({"result": {"0": 1}, "result_total": {"0": "many"}, "result_error": {"1": "oops"}});
        let r = parse_v2(&batch(2, false), &broken, "r").unwrap_or_default();
        for key in ["0", "1"] {
            assert_eq!(
                r.outcome(key).and_then(Outcome::err).map(|e| e.code()),
                Some(Code::JssdkInteractionBatchRowFail.into())
            );
        }
        let e = parse_v2(&batch(1, false), &json!([1, 2]), "r").err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkInteractionBatchEmptyProcessingStrategy.into()));
    }
}
