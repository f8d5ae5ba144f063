//! The wire service: a [`B24Request`] with credentials attached becomes an HTTP POST (v2 or v3
//! address, JSON body, `auth` for OAuth), and the answer becomes a [`B24Response`] or the
//! portal's error. A moved portal's redirect is followed once, by re-POSTing.

use std::sync::Arc;
use std::task::{Context, Poll};

use b24_errors::{ApiVersion, Code, Error};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::Full;
use serde_json::Value;
use tower::Service;

use crate::credentials::{AttachedAuth, check_scheme};
use crate::envelope::{self, sdk_failure};
use crate::http::HttpClient;
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
    // Straight into the header map: `http::request::Builder` moves the whole request through
    // each `.header()` call, which showed up in the per-call profile.
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the portal address does not form a valid URL"))?;
    let mut http_request = Request::new(Full::new(encoded.body.clone()));
    *http_request.method_mut() = Method::POST;
    *http_request.uri_mut() = uri;
    let headers = http_request.headers_mut();
    headers.reserve(6);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(header::USER_AGENT, limits.user_agent.clone());
    // Ids are ASCII letters, digits and dashes, always a valid header value.
    if let Ok(id) = HeaderValue::from_str(request.request_id().as_str()) {
        headers.insert(X_REQUEST_ID, id);
    }
    if let Some(token) = &encoded.bearer {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the access token holds characters a header cannot"))?;
        // Sensitive: hyper and `http`'s Debug never print it.
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
    }
    if let Some(key) = request.key() {
        let key = HeaderValue::from_str(key).map_err(|_| {
            Error::sdk(Code::JssdkInvalidParams, "the idempotency key holds characters a header cannot")
        })?;
        headers.insert(IDEMPOTENCY_KEY, key);
    }
    Ok(http_request)
}

const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");
const IDEMPOTENCY_KEY: header::HeaderName = header::HeaderName::from_static("idempotency-key");

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
                let sent = tokio::time::Instant::now();
                let answer = http
                    .send(http_request, limits.max_response_bytes)
                    .await
                    .map_err(|e| e.into_error(request.info(), request.method(), &request.secret_texts()))?;
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
                let mut response = envelope::parse(&request, answer.status.as_u16(), answer.body)?;
                response.round_trip = Some(sent.elapsed());
                return Ok(response);
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

    fn limits() -> WireLimits {
        WireLimits {
            max_request_bytes: 1 << 20,
            max_response_bytes: 1 << 20,
            allow_http: true,
            user_agent: HeaderValue::from_static("b24-test"),
        }
    }

    fn built(mut request: B24Request, auth: AttachedAuth) -> Result<Request<Full<Bytes>>, Error> {
        request.auth = Some(auth);
        let encoded = encode(&request, &limits())?;
        build(&request, &encoded, &encoded.url, &limits())
    }

    #[test]
    fn headers_of_a_built_request() {
        let hook = crate::credentials::Webhook::parse("http://portal.example.invalid/rest/1/fake-secret/", true);
        let hook = Arc::new(hook.expect("webhook"));
        let request = B24Request::v3("crm.item.add", &json!({})).map(|r| r.idempotency_key("k-1")).expect("request");
        let http = built(request.clone(), AttachedAuth::Webhook(hook.clone())).expect("built");
        let header = |name: &str| http.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(http.method(), Method::POST);
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        assert_eq!(header("x-request-id").as_deref(), Some(request.request_id().as_str()));
        assert_eq!(header("idempotency-key").as_deref(), Some("k-1"));
        assert!(http.headers().get(header::AUTHORIZATION).is_none(), "a webhook's secret is in its URL only");

        let bad = B24Request::v3("crm.item.add", &json!({})).map(|r| r.idempotency_key("line\nbreak"));
        let bad = bad.expect("request");
        let e = built(bad, AttachedAuth::Webhook(hook)).expect_err("not a header value");
        assert_eq!(e.code(), Code::JssdkInvalidParams);
    }

    #[test]
    fn a_bearer_token_is_a_sensitive_header() {
        let grant = crate::credentials::AccessGrant {
            access_token: b24_errors::Secret::new("fake-access-token-77"),
            client_endpoint: "https://portal.example.invalid/rest/".into(),
        };
        // Positional params cannot carry `auth` in the body, so the token goes in a header.
        let request = B24Request::v2("task.item.getdata", &json!([1])).expect("request");
        let http = built(request, AttachedAuth::OAuth(grant)).expect("built");
        let value = http.headers().get(header::AUTHORIZATION).expect("bearer");
        assert!(value.is_sensitive());
        assert!(!format!("{http:?}").contains("fake-access-token-77"));
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
