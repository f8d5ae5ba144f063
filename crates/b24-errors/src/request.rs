//! What a portal-side error knows about the request that failed.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::redact::redact_params;

/// The REST API version a request was made against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    /// `/rest/<method>`: the classic API, every method.
    #[default]
    V2,
    /// `/rest/api/<method>`: the new JSON-only API, a subset of methods.
    V3,
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V3 => "v3",
        })
    }
}

/// The request a portal-side error belongs to: method, request id, API version and the params
/// with every credential redacted. It never holds the request URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestInfo {
    method: String,
    request_id: String,
    api: ApiVersion,
    params: Value,
}

impl RequestInfo {
    /// Build from the request's parts; `params` are redacted here, once.
    pub fn new(method: impl Into<String>, request_id: impl Into<String>, api: ApiVersion, params: &Value) -> Self {
        RequestInfo { method: method.into(), request_id: request_id.into(), api, params: redact_params(params) }
    }

    /// The REST method, e.g. `crm.deal.list`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The id b24 gave the request (also sent as the `X-Request-Id` header).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The API version it was sent to.
    pub fn api(&self) -> ApiVersion {
        self.api
    }

    /// The params, credentials redacted.
    pub fn params(&self) -> &Value {
        &self.params
    }
}

/// One entry of a v3 error's `validation` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationIssue {
    /// The field the portal complained about, when it named one.
    pub field: Option<String>,
    /// The portal's message.
    pub message: String,
}
