//! `b24 call METHOD [key=value ...|--json JSON] [--v3]`

use b24_sdk::{Client, Code, Error};
use serde_json::Value;

use crate::kv;

/// The params from `key=value` arguments or `--json`.
pub fn params(args: &[String], json: Option<&str>) -> Result<Value, Error> {
    match json {
        Some(text) => {
            let value: Value = serde_json::from_str(text).map_err(|e| {
                Error::sdk(
                    Code::JssdkInvalidParams,
                    format!("--json is not valid JSON: {e} (line {}, column {})", e.line(), e.column()),
                )
            })?;
            if !value.is_object() {
                return Err(Error::sdk(Code::JssdkInvalidParams, "--json takes a JSON object: {\"id\": 1}"));
            }
            Ok(value)
        }
        None => kv::params(args),
    }
}

/// Call and print the result as pretty JSON on stdout. A list answer that has more pages says
/// so on stderr: `call` shows one page; `export` fetches them all.
pub async fn run(client: &Client, method: &str, params: &Value, v3: bool) -> Result<(), Error> {
    let result = if v3 { client.v3().call(method, params).await? } else { client.v2().call(method, params).await? };
    let value = result.value()?;
    let text = serde_json::to_string_pretty(&value).map_err(Error::from_error)?;
    println!("{text}");
    let response = result.response();
    if let Some(next) = response.next() {
        let total = response.total().map(|t| format!(" of {t}")).unwrap_or_default();
        eprintln!(
            "note: this is one page{total}; more rows follow (add start={next} for the next page, or `b24 export {method} --out FILE` for all of them)"
        );
    }
    Ok(())
}
