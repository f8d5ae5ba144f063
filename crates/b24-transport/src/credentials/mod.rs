//! Credentials: a webhook, or an OAuth app with its tokens.

mod oauth;
mod placement;
mod store;
mod webhook;

use std::sync::Arc;

pub use oauth::{AccessGrant, OAuthApp, OAuthCredentials, OAuthState, RefreshHook, Refresher};
pub use placement::parse_form;
pub use store::{MemoryTokenStore, RefreshGuard, TokenSet, TokenStore};
pub use webhook::{Webhook, check_scheme, is_loopback_host};

/// How a client authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An incoming webhook.
    Webhook(Arc<Webhook>),
    /// An OAuth app.
    OAuth(Box<OAuthCredentials>),
}

impl From<Webhook> for Credentials {
    fn from(hook: Webhook) -> Self {
        Credentials::Webhook(Arc::new(hook))
    }
}

impl From<OAuthCredentials> for Credentials {
    fn from(creds: OAuthCredentials) -> Self {
        Credentials::OAuth(Box::new(creds))
    }
}

/// The credentials attached to one attempt by the auth layer.
#[derive(Clone)]
pub enum AttachedAuth {
    /// The webhook (its URL holds the secret).
    Webhook(Arc<Webhook>),
    /// An OAuth access grant.
    OAuth(AccessGrant),
}

impl std::fmt::Debug for AttachedAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachedAuth::Webhook(_) => f.write_str("AttachedAuth::Webhook([REDACTED])"),
            AttachedAuth::OAuth(_) => f.write_str("AttachedAuth::OAuth([REDACTED])"),
        }
    }
}
