//! The wire service: a [`B24Request`] with credentials attached becomes an HTTP POST (v2 or v3
//! address, JSON body, `auth` for OAuth), and the answer becomes a [`B24Response`] or the
//! portal's error. A moved portal's redirect is followed once, by re-POSTing.

use std::sync::Arc;
use std::task::{Context, Poll};

use b24_errors::{ApiVersion, Code, Error, PortalFailure, Scrubbed};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::Full;
use serde_json::Value;
use tower::Service;

use crate::credentials::{AttachedAuth, check_scheme};
use crate::envelope::{self, sdk_failure};
use crate::http::{HttpClient, HttpFailure};
use crate::request::B24Request;
use crate::response::B24Response;

/// Size limits and flags the wire service enforces.
#[derive(Debug, Clone)]
pub(crate) struct WireLimits {
    pub(crate) max_request_bytes: usize,
    pub(crate) max_response_bytes: usize,
    pub(crate) allow_http: bool,
    pub(crate) user_agent: HeaderValue,
}

/// The innermost tower service.
#[derive(Clone)]
pub struct Wire {
    // Behind one Arc: every layer above clones the stack below it on each call (the tower
    // pattern), so a clone must cost one reference count, not a copy of the HTTP client.
    shared: Arc<(HttpClient, WireLimits)>,
}

impl Wire {
    pub(crate) fn new(http: HttpClient, limits: WireLimits) -> Wire {
        Wire { shared: Arc::new((http, limits)) }
    }
}

struct Encoded {
    url: String,
    body: Bytes,
    bearer: Option<String>,
}

/// The credentials of `request` that must never appear in an error's text (computed only when
/// an error is being built).
fn secrets_of(request: &B24Request) -> Vec<String> {
    match &request.auth {
        Some(AttachedAuth::Webhook(hook)) => vec![hook.secret().expose().to_owned()],
        Some(AttachedAuth::OAuth(grant)) => vec![grant.access_token.expose().to_owned()],
        None => Vec::new(),
    }
}

/// JSON of `params` with `"auth": token` spliced in first (objects only).
fn body_with_auth(params: &Value, token: Option<&str>) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(params)?;
    let Some(token) = token else { return Ok(json) };
    if !params.is_object() {
        return Ok(json);
    }
    let auth = serde_json::to_vec(token)?;
    let mut out = Vec::with_capacity(json.len() + auth.len() + 10);
    out.extend_from_slice(b"{\"auth\":");
    out.extend_from_slice(&auth);
    if json.len() > 2 {
        out.push(b',');
    }
    out.extend_from_slice(&json[1..]);
    Ok(out)
}

fn encode(request: &B24Request, limits: &WireLimits) -> Result<Encoded, Error> {
    let Some(auth) = &request.auth else {
        return Err(Error::sdk(Code::JssdkCoreB24NotInit, "no credentials were attached: the auth layer is missing"));
    };
    let method = request.method();
    let (url, token) = match auth {
        AttachedAuth::Webhook(hook) => {
            let url = match request.api() {
                ApiVersion::V2 => hook.v2_url(method),
                ApiVersion::V3 => hook.v3_url(method),
            };
            (url, None)
        }
        AttachedAuth::OAuth(grant) => {
            let base = grant.client_endpoint.trim_end_matches('/');
            let url = match request.api() {
                ApiVersion::V2 => format!("{base}/{method}"),
                ApiVersion::V3 => format!("{base}/api/{method}"),
            };
            (url, Some(grant.access_token.expose().to_owned()))
        }
    };
    let params = request.params();
    let in_body = token.as_deref().filter(|_| params.is_object());
    let body = body_with_auth(params, in_body).map_err(|e| {
        Error::sdk_caused(Code::JssdkInvalidParams, format!("params of {method} cannot be serialized"), e)
    })?;
    if body.len() > limits.max_request_bytes {
        return Err(Error::sdk(
            Code::JssdkParamsTooLarge,
            format!("the body of {method} is {} bytes; the limit is {}", body.len(), limits.max_request_bytes),
        ));
    }
    let bearer = if in_body.is_none() { token } else { None };
    Ok(Encoded { url, body: Bytes::from(body), bearer })
}

fn build(
    request: &B24Request,
    encoded: &Encoded,
    url: &str,
    limits: &WireLimits,
) -> Result<Request<Full<Bytes>>, Error> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, limits.user_agent.clone())
        .header("x-request-id", request.request_id().as_str());
    if let Some(token) = &encoded.bearer {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the access token holds characters a header cannot"))?;
        value.set_sensitive(true);
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if let Some(key) = request.key() {
        builder = builder.header("idempotency-key", key);
    }
    builder
        .body(Full::new(encoded.body.clone()))
        .map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the portal address does not form a valid URL"))
}

fn failure(
    request: &B24Request,
    code: Code,
    message: String,
    cause: &(dyn std::error::Error + 'static),
    secrets: &[String],
) -> Error {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let status = code.status().unwrap_or(502);
    let f = PortalFailure::new(code.into(), status, message, request.info());
    Error::portal_caused(f, Scrubbed::new(cause, &secrets))
}

fn http_failure(request: &B24Request, e: HttpFailure, secrets: &[String]) -> Error {
    let method = request.method();
    match e {
        HttpFailure::Connect(e) => failure(
            request,
            Code::JssdkConnectError,
            format!("could not connect to the portal for {method}"),
            &e,
            secrets,
        ),
        HttpFailure::Network(e) => {
            failure(request, Code::JssdkNetworkError, format!("the connection failed during {method}"), &e, secrets)
        }
        HttpFailure::Body(e) => {
            failure(request, Code::JssdkResponseTruncated, format!("the answer to {method} broke off"), &e, secrets)
        }
        HttpFailure::TooLarge { limit } => sdk_failure(
            request,
            Code::JssdkResponseTooLarge,
            502,
            format!("the answer to {method} is over the {limit}-byte cap"),
        ),
    }
}

/// The target of a redirect if it is the documented domain change: the same path on another
/// host, over https (or http where http is allowed).
fn redirect_target(from: &str, location: &str, allow_http: bool) -> Option<String> {
    let from: Uri = from.parse().ok()?;
    let to: Uri = location.parse().ok()?;
    let scheme = to.scheme_str()?;
    let host = to.host()?;
    check_scheme(scheme, host, allow_http).ok()?;
    if from.scheme_str() == Some("https") && scheme != "https" {
        return None;
    }
    (to.path() == from.path()).then(|| location.to_owned())
}

impl Service<B24Request> for Wire {
    type Response = B24Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<B24Response, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            let (http, limits) = &*shared;
            let encoded = encode(&request, limits)?;
            let mut url = encoded.url.clone();
            let mut hops = 0;
            loop {
                let http_request = build(&request, &encoded, &url, limits)?;
                let answer = http
                    .send(http_request, limits.max_response_bytes)
                    .await
                    .map_err(|e| http_failure(&request, e, &secrets_of(&request)))?;
                if answer.status.is_redirection() {
                    let location = answer.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
                    match redirect_target(&url, location, limits.allow_http) {
                        Some(next) if hops == 0 => {
                            tracing::info!(target: "b24::wire", method = request.method(), "the portal moved; re-sending to its new address");
                            url = next;
                            hops += 1;
                            continue;
                        }
                        _ => {
                            return Err(sdk_failure(
                                &request,
                                Code::JssdkRedirectRefused,
                                502,
                                format!("the portal redirected {} somewhere credentials must not go", request.method()),
                            ));
                        }
                    }
                }
                return envelope::parse(&request, answer.status.as_u16(), answer.body);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_is_spliced_first() {
        let out = body_with_auth(&json!({"a": 1}), Some("tok")).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&out), r#"{"auth":"tok","a":1}"#);
        let out = body_with_auth(&json!({}), Some("tok")).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&out), r#"{"auth":"tok"}"#);
        let out = body_with_auth(&json!([1]), Some("tok")).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&out), "[1]");
    }

    #[test]
    fn redirects() {
        let from = "https://old.example.invalid/rest/1/s/server.time";
        assert_eq!(
            redirect_target(from, "https://new.example.invalid/rest/1/s/server.time", false).as_deref(),
            Some("https://new.example.invalid/rest/1/s/server.time")
        );
        assert!(
            redirect_target(from, "http://new.example.invalid/rest/1/s/server.time", true).is_none(),
            "no downgrade"
        );
        assert!(redirect_target(from, "https://evil.example.invalid/collect", false).is_none(), "other path");
        assert!(redirect_target(from, "/relative", false).is_none());
    }
}
