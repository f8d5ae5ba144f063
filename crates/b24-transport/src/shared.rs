//! State shared by several processes (workers on one host, pods on many): one trait,
//! [`SharedState`], that hands a client its bucket, operating-time and token stores, built with
//! the client's own limits and namespaced by the portal and app the client talks to.
//!
//! The default is in-process state (nothing shared). The `b24-redis` crate implements this trait
//! on Redis; see `docs/scaling.md`.

use std::sync::Arc;

use crate::credentials::{Credentials, TokenStore};
use crate::limiter::{BucketConfig, BucketStore, OperatingConfig, OperatingStore};

/// What a shared store's keys are namespaced by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The portal's host (and port when not the default), lowercase: `example.bitrix24.com`.
    pub portal: String,
    /// The app whose operating-time budget and tokens these are: the OAuth client id, or
    /// `webhook-<user id>` for an incoming webhook.
    pub app: String,
}

impl Scope {
    /// The scope of `credentials`.
    pub fn of(credentials: &Credentials) -> Scope {
        match credentials {
            Credentials::Webhook(hook) => {
                Scope { portal: host_of(&hook.portal()), app: format!("webhook-{}", hook.user_id()) }
            }
            Credentials::OAuth(creds) => {
                Scope { portal: host_of(&creds.tokens().client_endpoint), app: creds.app_id().to_owned() }
            }
        }
    }
}

/// `host[:port]` of `https://host[:port]/path`, lowercase.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or_default().to_ascii_lowercase()
}

/// A store of state shared between processes.
///
/// [`crate::TransportBuilder::shared_state`] calls it once per client, with the client's own
/// limits (already scaled by its time scale), so that every process mirrors the portal with
/// the same numbers.
pub trait SharedState: Send + Sync + 'static {
    /// The request-rate bucket of `scope.portal` as seen from this host (the portal counts
    /// requests per source IP).
    fn bucket(&self, scope: &Scope, config: BucketConfig) -> Arc<dyn BucketStore>;
    /// The operating-time state of `scope.app` on `scope.portal`, per method.
    fn operating(&self, scope: &Scope, config: OperatingConfig) -> Arc<dyn OperatingStore>;
    /// The token pair of `scope.app` on `scope.portal` (the client's starting tokens are used
    /// while the store holds none); `None` keeps tokens in the process (the store does not hold
    /// secrets).
    fn tokens(&self, scope: &Scope) -> Option<Arc<dyn TokenStore>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{OAuthApp, OAuthCredentials, TokenSet, Webhook};

    #[test]
    fn scopes_name_the_portal_host_and_the_app() {
        let hook = Webhook::parse("https://Example.Bitrix24.com/rest/7/fakesecret123/", false).expect("valid");
        let scope = Scope::of(&Credentials::from(hook));
        assert_eq!(scope, Scope { portal: "example.bitrix24.com".into(), app: "webhook-7".into() });

        let tokens = TokenSet::new("fake-a", "fake-r", "http://127.0.0.1:8080/rest/", None);
        let creds = OAuthCredentials::new(OAuthApp::new("local.fake1", "fake-client-secret"), tokens);
        let scope = Scope::of(&Credentials::from(creds));
        assert_eq!(scope, Scope { portal: "127.0.0.1:8080".into(), app: "local.fake1".into() });
    }
}
