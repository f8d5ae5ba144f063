//! The OAuth server's token endpoint, `/oauth/token/` (GET query or POST form): the
//! `refresh_token` grant (rotating, single-use refresh tokens) and `authorization_code`.

use serde_json::{Value, json};

use crate::auth::TokenPair;
use crate::portal::{Portal, lock};
use crate::reply::{self, Body};

fn refuse(portal: &Portal, status: u16, code: &str, text: &str) -> http::Response<Body> {
    portal.counters.oauth(false);
    reply::json(status, &json!({"error": code, "error_description": text}))
}

/// The portal's domain as reported: the setting, or the listening host and port.
pub(crate) fn domain(portal: &Portal, settings: &crate::Settings) -> String {
    let base = portal.base_url();
    settings.domain.clone().unwrap_or_else(|| base.split("://").nth(1).unwrap_or("").to_owned())
}

/// The `auth` block of an event: the grant's fields for `user_id` and the application token.
pub(crate) fn auth_block(portal: &Portal, pair: &TokenPair, user_id: u64) -> Value {
    let mut block = grant_json(portal, pair);
    block["user_id"] = json!(user_id);
    block["application_token"] = json!(portal.settings().application_token);
    block
}

/// The answer of a successful grant.
pub(crate) fn grant_json(portal: &Portal, pair: &TokenPair) -> Value {
    let settings = portal.settings();
    let base = portal.base_url();
    let domain = domain(portal, &settings);
    json!({
        "access_token": pair.access_token,
        "expires": portal.clock.wall(pair.expires).floor() as i64,
        "expires_in": portal.clock.real_secs(settings.access_token_lifetime_secs).round() as i64,
        "scope": settings.scopes.join(","),
        "domain": domain,
        "server_endpoint": format!("{base}/rest/"),
        "status": "L",
        "client_endpoint": format!("{base}/rest/"),
        "member_id": settings.member_id,
        "user_id": settings.webhook_user_id,
        "refresh_token": pair.refresh_token,
    })
}

/// Handle one token request; `params` are the merged query and form fields.
pub(crate) fn token(portal: &Portal, params: &Value) -> http::Response<Body> {
    let field = |name: &str| params.get(name).and_then(Value::as_str).unwrap_or("");
    let (client_id, client_secret, lifetime) = match portal.settings.read() {
        Ok(s) => (s.client_id.clone(), s.client_secret.clone(), s.access_token_lifetime_secs),
        Err(_) => return refuse(portal, 500, "server_error", "settings unavailable"),
    };
    let grant = field("grant_type");
    if grant.is_empty() {
        return refuse(portal, 400, "invalid_request", "grant_type is required");
    }
    if field("client_id") != client_id || field("client_secret") != client_secret {
        return refuse(portal, 401, "invalid_client", "Invalid client credentials");
    }
    let now = portal.clock.now();
    let pair = match grant {
        "refresh_token" => lock(&portal.tokens).refresh(field("refresh_token"), now, lifetime),
        "authorization_code" => lock(&portal.tokens).exchange_code(field("code"), now, lifetime),
        _ => return refuse(portal, 400, "invalid_request", "Unsupported grant_type"),
    };
    match pair {
        Some(pair) => {
            portal.counters.oauth(true);
            reply::json(200, &grant_json(portal, &pair))
        }
        None => refuse(portal, 400, "invalid_grant", "Invalid grant: the token or code is unknown or was already used"),
    }
}
