//! The OAuth server's `refresh_token` grant over HTTP (POST form, so no token sits in a URL).

use b24_errors::{ApiVersion, Code, Error, ErrorCode, PortalFailure, RequestInfo, Secret, scrub};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, header};
use http_body_util::Full;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;

use crate::credentials::{OAuthApp, Refresher, TokenSet, check_scheme};
use crate::http::HttpClient;
use crate::request::RequestId;

/// Refreshes through the OAuth server's token endpoint.
#[derive(Clone, Debug)]
pub(crate) struct HttpRefresher {
    pub(crate) http: HttpClient,
    pub(crate) allow_http: bool,
}

#[derive(Deserialize)]
struct Grant {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    client_endpoint: Option<String>,
    server_endpoint: Option<String>,
    member_id: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn as_u64(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn refresh_failed(info: &RequestInfo, code: ErrorCode, status: u16, message: String) -> Error {
    let inner = Error::portal(PortalFailure::new(code, status, message, info.clone()));
    Error::wrap(Code::JssdkTokenRefreshFailed, "the OAuth server refused to refresh the access token", inner)
}

impl Refresher for HttpRefresher {
    fn refresh<'a>(&'a self, app: &'a OAuthApp, tokens: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet, Error>> {
        Box::pin(async move {
            let url = app.token_url_for(tokens);
            let uri: http::Uri =
                url.parse().map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the OAuth token URL is not a URL"))?;
            check_scheme(uri.scheme_str().unwrap_or(""), uri.host().unwrap_or(""), self.allow_http)?;
            let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
            let form = format!(
                "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                enc(&app.client_id),
                enc(app.client_secret.expose()),
                enc(tokens.refresh_token.expose())
            );
            let id = RequestId::next();
            let info = RequestInfo::new(
                "oauth/token",
                id.as_str(),
                ApiVersion::V2,
                &json!({"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": "", "refresh_token": ""}),
            );
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-request-id", id.as_str())
                .body(Full::new(Bytes::from(form)))
                .map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the OAuth token request could not be built"))?;
            let secrets = [app.client_secret.expose(), tokens.refresh_token.expose(), tokens.access_token.expose()];
            let answer = self.http.send(request, 1 << 20).await.map_err(|e| {
                let cause = e.into_error(info.clone(), "the OAuth token request", &secrets);
                Error::wrap(Code::JssdkTokenRefreshFailed, "the access token could not be refreshed", cause)
            })?;
            let status = answer.status.as_u16();
            let grant: Grant = serde_json::from_slice(&answer.body).map_err(|_| {
                refresh_failed(
                    &info,
                    Code::JssdkResponseNotJson.into(),
                    status,
                    "the OAuth server's answer is not JSON".into(),
                )
            })?;
            if let Some(code) = grant.error {
                return Err(refresh_failed(
                    &info,
                    ErrorCode::from_portal(&scrub(&code, &secrets)),
                    status.max(400),
                    scrub(&grant.error_description.unwrap_or_default(), &secrets),
                ));
            }
            let (Some(access), Some(refresh)) = (grant.access_token, grant.refresh_token) else {
                return Err(refresh_failed(
                    &info,
                    Code::JssdkResponseUnexpectedShape.into(),
                    status,
                    "the OAuth answer has no tokens".into(),
                ));
            };
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let expires_at =
                as_u64(grant.expires.as_ref()).or_else(|| as_u64(grant.expires_in.as_ref()).map(|s| now + s));
            Ok(TokenSet {
                access_token: Secret::new(access),
                refresh_token: Secret::new(refresh),
                expires_at,
                client_endpoint: grant.client_endpoint.unwrap_or_else(|| tokens.client_endpoint.clone()),
                server_endpoint: grant.server_endpoint.or_else(|| tokens.server_endpoint.clone()),
                member_id: grant.member_id.or_else(|| tokens.member_id.clone()),
            })
        })
    }
}
