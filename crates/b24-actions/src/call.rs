//! `call`: one method, and [`CallResult`], the JS SDK's `AjaxResult` in Rust terms, with the v2
//! paging helpers (`total`, `next`, `has_more`, `fetch_next`) that refuse to invent values on a
//! v3 answer.

use b24_errors::{ApiVersion, Code, Error};
use b24_transport::{B24Request, B24Response, Transport};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::versions;

/// A method's answer.
#[derive(Debug, Clone)]
pub struct CallResult {
    response: B24Response,
    transport: Transport,
    params: Value,
}

fn v2_only(what: &str) -> Error {
    Error::sdk(
        Code::JssdkCoreMethodNotSupportInApiV3,
        format!("{what} is a v2 paging helper; v3 answers have no `next` or `total` (use fetch_list)"),
    )
}

impl CallResult {
    /// The result deserialized into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.response.json()
    }

    /// The result as a `serde_json::Value`.
    pub fn value(&self) -> Result<Value, Error> {
        self.response.value()
    }

    /// The raw answer (time block, status, request id).
    pub fn response(&self) -> &B24Response {
        &self.response
    }

    fn require_v2(&self, what: &str) -> Result<(), Error> {
        match self.response.api() {
            ApiVersion::V2 => Ok(()),
            ApiVersion::V3 => Err(v2_only(what)),
        }
    }

    /// `total` of a v2 list answer.
    pub fn total(&self) -> Result<Option<u64>, Error> {
        self.require_v2("total")?;
        Ok(self.response.total())
    }

    /// `next` (the offset of the next page) of a v2 list answer.
    pub fn next_offset(&self) -> Result<Option<u64>, Error> {
        self.require_v2("next_offset")?;
        Ok(self.response.next())
    }

    /// Whether a v2 list has more pages.
    pub fn has_more(&self) -> Result<bool, Error> {
        Ok(self.next_offset()?.is_some())
    }

    /// Fetch the next page of a v2 list (`None` on the last page).
    pub async fn fetch_next(&self) -> Result<Option<CallResult>, Error> {
        let Some(next) = self.next_offset()? else { return Ok(None) };
        let mut params = self.params.clone();
        if let Value::Object(map) = &mut params {
            map.insert("start".into(), Value::from(next));
        }
        call(&self.transport, ApiVersion::V2, self.response.method(), &params).await.map(Some)
    }
}

/// Check `method` for `api` and build its request (nothing is sent yet; `params` are
/// serialized now, so nothing borrowed outlives this call).
pub(crate) fn prepare(api: ApiVersion, method: &str, params: &impl Serialize) -> Result<B24Request, Error> {
    match api {
        ApiVersion::V3 => versions::require_v3(method)?,
        ApiVersion::V2 => {
            versions::note_v2_call(method);
        }
    }
    B24Request::new(api, method, params)
}

/// Send a prepared request through `transport`.
pub(crate) async fn send(transport: Transport, request: B24Request) -> Result<CallResult, Error> {
    let params = request.params().clone();
    let response = transport.call(request).await?;
    Ok(CallResult { response, transport, params })
}

/// Call `method` through `transport`.
pub(crate) async fn call(
    transport: &Transport,
    api: ApiVersion,
    method: &str,
    params: &impl Serialize,
) -> Result<CallResult, Error> {
    send(transport.clone(), prepare(api, method, params)?).await
}
