//! `b24 batch FILE [--halt] [--v3]`

use std::path::Path;

use b24_sdk::{Batch, Client, Code, Command, Error, Outcome};
use serde_json::{Value, json};

fn command(v: &Value) -> Result<Command, Error> {
    let method = v.get("method").and_then(Value::as_str).unwrap_or_default();
    Ok(Command::new(method, v.get("params").cloned().unwrap_or(json!({}))))
}

/// Read the batch file: `{"cmd": {name: {method, params}}}` or `[{method, params}, ...]`.
pub fn read(path: &Path, halt: bool) -> Result<Batch, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::sdk_caused(Code::JssdkInvalidParams, format!("cannot read {}", path.display()), e))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| Error::sdk_caused(Code::JssdkInvalidParams, format!("{} is not JSON", path.display()), e))?;
    let halt = halt || doc.get("halt").and_then(Value::as_bool).unwrap_or(false);
    let batch = match doc.get("cmd").unwrap_or(&doc) {
        Value::Array(items) => Batch::list(items.iter().map(command).collect::<Result<_, _>>()?)?,
        Value::Object(map) => {
            Batch::named(map.iter().map(|(k, v)| command(v).map(|c| (k.clone(), c))).collect::<Result<_, _>>()?)?
        }
        _ => {
            return Err(Error::sdk(
                Code::JssdkInvalidParams,
                "a batch file holds a list of commands or {\"cmd\": {...}}",
            ));
        }
    };
    Ok(batch.halt(halt))
}

/// Run it; print `{key: {result} | {error}}` and fail when any command failed.
pub async fn run(client: &Client, path: &Path, halt: bool, v3: bool) -> Result<(), Error> {
    let batch = read(path, halt)?;
    let result = if v3 { client.v3().batch(&batch).await? } else { client.v2().batch(&batch).await? };
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
    if result.is_success() {
        Ok(())
    } else {
        Err(Error::sdk(
            Code::JssdkBatchSubError,
            format!(
                "{} of {} commands failed: {}",
                result.errors().len(),
                result.len(),
                result.error_messages().join("; ")
            ),
        ))
    }
}
