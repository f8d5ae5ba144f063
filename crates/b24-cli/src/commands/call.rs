//! `b24 call METHOD [key=value ...|--json JSON] [--v3]`

use b24_sdk::{Client, Code, Error};
use serde_json::Value;

use crate::kv;

/// Call and print the result as pretty JSON on stdout.
pub async fn run(client: &Client, method: &str, args: &[String], json: Option<&str>, v3: bool) -> Result<(), Error> {
    let params: Value = match json {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| Error::sdk_caused(Code::JssdkInvalidParams, "--json is not valid JSON", e))?,
        None => kv::params(args)?,
    };
    let result = if v3 { client.v3().call(method, &params).await? } else { client.v2().call(method, &params).await? };
    let value = result.value()?;
    let text = serde_json::to_string_pretty(&value).map_err(Error::from_error)?;
    println!("{text}");
    Ok(())
}
