//! One installation of the app in one portal: who the portal is, the app's token pair there and
//! the `application_token` every event from that portal must carry.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use b24_errors::Secret;
use b24_transport::credentials::TokenSet;

/// The app installed in one portal.
///
/// `Debug` shows no secret: the token pair and the application token print as `[REDACTED]`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Installation {
    /// The portal's member id: the key of the installation.
    pub member_id: String,
    /// The portal's host, lowercase (`example.bitrix24.com`, or `host:port`).
    pub domain: String,
    /// The token pair (with the portal's `client_endpoint` and the OAuth `server_endpoint`).
    pub tokens: TokenSet,
    /// The token the portal puts in every event of this app (absent until the portal sent one:
    /// an installation made from a placement POST has none until `ONAPPINSTALL` arrives).
    pub application_token: Option<Secret>,
    /// The scopes granted (`crm,task,...`), as the portal sent them.
    pub scope: Option<String>,
    /// The installation's status (`F` free, `D` demo, `T` trial, `P` paid, `L` local, `S`
    /// subscription).
    pub status: Option<String>,
    /// The user who installed the app.
    pub user_id: Option<u64>,
    /// When the installation was stored first (unix seconds).
    pub installed_at: u64,
}

impl fmt::Debug for Installation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Installation")
            .field("member_id", &self.member_id)
            .field("domain", &self.domain)
            .field("tokens", &self.tokens)
            .field("application_token", &self.application_token)
            .field("scope", &self.scope)
            .field("status", &self.status)
            .field("user_id", &self.user_id)
            .field("installed_at", &self.installed_at)
            .finish()
    }
}

impl Installation {
    /// An installation of `member_id` at `domain` with `tokens`, stored now.
    pub fn new(member_id: impl Into<String>, domain: impl Into<String>, tokens: TokenSet) -> Installation {
        Installation {
            member_id: member_id.into(),
            domain: normalize_domain(&domain.into()),
            tokens,
            application_token: None,
            scope: None,
            status: None,
            user_id: None,
            installed_at: now_unix(),
        }
    }

    /// The same installation with its application token.
    pub fn with_application_token(mut self, token: impl Into<Secret>) -> Installation {
        self.application_token = Some(token.into());
        self
    }
}

/// A portal host as stored and looked up: lowercase, no scheme, no path, no trailing dot.
pub fn normalize_domain(domain: &str) -> String {
    let rest = domain.trim().split_once("://").map_or(domain.trim(), |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase()
}

/// Seconds since the unix epoch.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_hosts() {
        assert_eq!(normalize_domain("Example.Bitrix24.com"), "example.bitrix24.com");
        assert_eq!(normalize_domain("https://example.bitrix24.com/rest/"), "example.bitrix24.com");
        assert_eq!(normalize_domain("127.0.0.1:8080"), "127.0.0.1:8080");
    }

    #[test]
    fn debug_shows_no_secret() {
        let tokens = TokenSet::new("fake-access-dbg", "fake-refresh-dbg", "https://a.example.invalid/rest/", None);
        let installation = Installation::new("m1", "a.example.invalid", tokens).with_application_token("fake-app-dbg");
        let shown = format!("{installation:?}");
        assert!(shown.contains("m1") && shown.contains("a.example.invalid"));
        for secret in ["fake-access-dbg", "fake-refresh-dbg", "fake-app-dbg"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
