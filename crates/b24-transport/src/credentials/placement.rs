//! An app opened in a portal frame receives its tokens in the placement POST: `AUTH_ID`,
//! `REFRESH_ID`, `AUTH_EXPIRES`, `SERVER_ENDPOINT`, `member_id` (and `DOMAIN` in the query).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use b24_errors::{Code, Error, Secret};
use percent_encoding::percent_decode_str;

use super::oauth::{OAuthApp, OAuthCredentials};
use super::store::TokenSet;

/// Parse an `application/x-www-form-urlencoded` body (or query) into fields.
pub fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

impl OAuthCredentials {
    /// Credentials from the fields of a placement POST (form body and query merged).
    ///
    /// ```
    /// use b24_transport::credentials::{OAuthApp, OAuthCredentials, parse_form};
    /// let fields = parse_form("AUTH_ID=fake-access&REFRESH_ID=fake-refresh&AUTH_EXPIRES=3600&SERVER_ENDPOINT=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&member_id=m1&DOMAIN=example.bitrix24.com");
    /// let creds = OAuthCredentials::from_placement(OAuthApp::new("local.x", "fake-secret"), &fields).unwrap();
    /// assert_eq!(creds.tokens().client_endpoint, "https://example.bitrix24.com/rest/");
    /// ```
    pub fn from_placement(app: OAuthApp, fields: &HashMap<String, String>) -> Result<OAuthCredentials, Error> {
        let get = |name: &str| fields.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let missing = |name: &str| Error::sdk(Code::JssdkInvalidConfig, format!("the placement POST has no {name}"));
        let access = get("AUTH_ID").ok_or_else(|| missing("AUTH_ID"))?;
        let refresh = get("REFRESH_ID").ok_or_else(|| missing("REFRESH_ID"))?;
        let domain = get("DOMAIN").ok_or_else(|| missing("DOMAIN"))?;
        if domain.contains('/') || domain.contains('@') {
            return Err(Error::sdk(Code::JssdkInvalidConfig, "the placement DOMAIN is not a host name"));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let expires_at = get("AUTH_EXPIRES").and_then(|s| s.parse::<u64>().ok()).map(|secs| now + secs);
        let tokens = TokenSet {
            access_token: Secret::new(access),
            refresh_token: Secret::new(refresh),
            expires_at,
            client_endpoint: format!("https://{domain}/rest/"),
            server_endpoint: get("SERVER_ENDPOINT").map(str::to_owned),
            member_id: get("member_id").map(str::to_owned),
        };
        Ok(OAuthCredentials::new(app, tokens))
    }
}
