//! The `auth` block of an event: who sent it, and (for most events) a token pair acting as the
//! user whose action raised it.

use std::fmt;

use b24_errors::Secret;
use b24_transport::credentials::TokenSet;
use serde_json::Value;

/// The `auth[...]` fields of an event POST, all of them.
///
/// `Debug` shows no secret.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct EventAuth {
    /// The app's token in this portal: compare it with the stored one ([`crate::Event::verify`]).
    pub application_token: Secret,
    /// An access token, when the portal sent one.
    pub access_token: Option<Secret>,
    /// The refresh token that goes with it.
    pub refresh_token: Option<Secret>,
    /// When the access token expires (unix seconds).
    pub expires: Option<u64>,
    /// Its lifetime in seconds (3600).
    pub expires_in: Option<u64>,
    /// The scopes granted, comma-separated.
    pub scope: Option<String>,
    /// The portal's host.
    pub domain: Option<String>,
    /// The portal's REST endpoint, `https://<portal>/rest/`.
    pub client_endpoint: Option<String>,
    /// The OAuth server's endpoint, `https://oauth.bitrix.info/rest/`.
    pub server_endpoint: Option<String>,
    /// The installation's status (`F`, `D`, `T`, `P`, `L`, `S`).
    pub status: Option<String>,
    /// The portal's member id.
    pub member_id: Option<String>,
    /// The user whose action raised the event.
    pub user_id: Option<u64>,
}

impl fmt::Debug for EventAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventAuth")
            .field("application_token", &self.application_token)
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires", &self.expires)
            .field("scope", &self.scope)
            .field("domain", &self.domain)
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field("status", &self.status)
            .field("member_id", &self.member_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl EventAuth {
    /// Read the decoded `auth` map.
    pub(crate) fn from_value(auth: &Value) -> EventAuth {
        let text = |key: &str| auth.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let number = |key: &str| text(key).and_then(|s| s.parse::<u64>().ok());
        EventAuth {
            application_token: Secret::new(text("application_token").unwrap_or_default()),
            access_token: text("access_token").map(Secret::new),
            refresh_token: text("refresh_token").map(Secret::new),
            expires: number("expires"),
            expires_in: number("expires_in"),
            scope: text("scope"),
            domain: text("domain").map(|d| crate::normalize_domain(&d)),
            client_endpoint: text("client_endpoint"),
            server_endpoint: text("server_endpoint"),
            status: text("status"),
            member_id: text("member_id"),
            user_id: number("user_id"),
        }
    }

    /// The token pair of this block, when it has one: the portal's `client_endpoint` (or
    /// `https://<domain>/rest/`), the access and refresh tokens, their expiry.
    pub fn tokens(&self) -> Option<TokenSet> {
        let access = self.access_token.clone()?;
        let refresh = self.refresh_token.clone()?;
        let endpoint = match (&self.client_endpoint, &self.domain) {
            (Some(endpoint), _) => endpoint.clone(),
            (None, Some(domain)) => format!("https://{domain}/rest/"),
            (None, None) => return None,
        };
        let mut tokens = TokenSet::new(access, refresh, endpoint, self.server_endpoint.clone());
        tokens.expires_at = self.expires.or_else(|| self.expires_in.map(|s| crate::installation::now_unix() + s));
        tokens.member_id = self.member_id.clone();
        Some(tokens)
    }
}
