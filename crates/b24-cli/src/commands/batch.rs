//! `b24 batch FILE [--halt] [--v3]`

use std::path::Path;

use b24_sdk::{Batch, Client, Code, Command, Error, Outcome};
use serde_json::{Value, json};

use crate::failure::Failure;

const SHAPE: &str = r#"a batch file holds {"cmd": {"name": {"method": "crm.deal.get", "params": {"id": 1}}}} or a list of {"method", "params"}"#;

fn invalid(path: &Path, what: String) -> Failure {
    Failure::usage(Error::sdk(Code::JssdkInvalidParams, format!("{}: {what}", path.display())))
}

fn command(path: &Path, key: &str, v: &Value) -> Result<Command, Failure> {
    let Some(entry) = v.as_object() else {
        return Err(invalid(path, format!("command {key} is not an object; {SHAPE}")));
    };
    let method = match entry.get("method") {
        Some(Value::String(m)) if !m.trim().is_empty() => m,
        Some(_) => return Err(invalid(path, format!("command {key} has a `method` that is not a method name"))),
        None => return Err(invalid(path, format!("command {key} has no `method`; {SHAPE}"))),
    };
    if let Some(unknown) = entry.keys().find(|k| !matches!(k.as_str(), "method" | "params")) {
        return Err(invalid(
            path,
            format!("command {key} has an unknown key `{unknown}` (only `method` and `params`)"),
        ));
    }
    let params = entry.get("params").cloned().unwrap_or(json!({}));
    if !params.is_object() {
        return Err(invalid(path, format!("command {key}'s `params` is not an object")));
    }
    Ok(Command::new(method.as_str(), params))
}

/// Read the batch file: `{"cmd": {name: {method, params}}}` or `[{method, params}, ...]`.
pub fn read(path: &Path, halt: bool) -> Result<Batch, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(Error::sdk(Code::JssdkIoError, format!("cannot read the batch file {}: {e}", path.display())))
    })?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| invalid(path, format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column())))?;
    let halt = halt || doc.get("halt").and_then(Value::as_bool).unwrap_or(false);
    let commands = match &doc {
        Value::Object(map) if map.contains_key("cmd") => &map["cmd"],
        Value::Array(_) => &doc,
        _ => return Err(invalid(path, SHAPE.to_owned())),
    };
    let batch = match commands {
        Value::Array(items) => Batch::list(
            items.iter().enumerate().map(|(i, v)| command(path, &format!("#{i}"), v)).collect::<Result<_, _>>()?,
        )?,
        Value::Object(map) => Batch::named(
            map.iter()
                .map(|(k, v)| command(path, &format!("{k:?}"), v).map(|c| (k.clone(), c)))
                .collect::<Result<_, _>>()?,
        )?,
        _ => return Err(invalid(path, format!("`cmd` is neither a list nor an object; {SHAPE}"))),
    };
    Ok(batch.halt(halt))
}

/// Run it; print `{key: {result} | {error}}` and fail when any command failed, with the
/// portal's own code and status of the first failure.
pub async fn run(client: &Client, batch: &Batch, v3: bool) -> Result<(), Error> {
    let result = if v3 { client.v3().batch(batch).await? } else { client.v2().batch(batch).await? };
    let mut out = serde_json::Map::new();
    for (key, method, outcome) in result.iter() {
        let entry = match outcome {
            Outcome::Done(r) => json!({"method": method, "result": r.value, "total": r.total, "next": r.next}),
            Outcome::Failed(e) => {
                json!({"method": method, "error": e.root().code().as_str(), "status": e.root().status(), "message": e.root().message()})
            }
            Outcome::NotRun => json!({"method": method, "skipped": true}),
        };
        out.insert(key.to_owned(), entry);
    }
    println!("{}", serde_json::to_string_pretty(&Value::Object(out)).map_err(Error::from_error)?);
    let errors = result.errors();
    match errors.first() {
        None => Ok(()),
        Some((_, first)) => Err(Error::wrap(
            Code::JssdkBatchSubError,
            format!("{} of {} commands failed: {}", errors.len(), result.len(), result.error_messages().join("; ")),
            first.root_copy(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Batch, String> {
        let path = std::env::temp_dir().join(format!("b24-batch-test-{}-{}.json", std::process::id(), text.len()));
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let result = read(&path, false).map_err(|f| f.line());
        let _ = std::fs::remove_file(&path);
        result
    }

    #[test]
    fn bad_files_say_what_is_wrong_and_where() {
        let e = read_text("{\"cmd\": {\"a\": {\"method\": \"x.y\",}}}").expect_err("JSON error");
        assert!(e.contains("line 1, column"), "{e}");
        let e = read_text(r#"{"foo": 1}"#).expect_err("no cmd");
        assert!(e.contains("a batch file holds") && !e.contains("invalid method name"), "{e}");
        let e = read_text(r#"[{"params": {}}]"#).expect_err("no method");
        assert!(e.contains("#0 has no `method`"), "{e}");
        let e = read_text(r#"{"cmd": {"a": {"method": "x.y", "parms": {}}}}"#).expect_err("typo");
        assert!(e.contains("unknown key `parms`"), "{e}");
        assert!(!e.contains("Pass params as a map"), "no library hint for a file: {e}");
        let missing = read(Path::new("/nonexistent/batch.json"), false).expect_err("missing");
        assert!(missing.line().contains("No such file"), "{}", missing.line());
        assert_eq!(missing.exit_code(), 2);
        assert!(read_text(r#"{"halt": true, "cmd": [{"method": "server.time"}]}"#).is_ok());
    }
}
