//! Where OAuth tokens live between refreshes: the [`TokenStore`] trait and its in-process
//! default. A shared store (Redis) implements the same trait, so that several processes agree
//! on one rotating refresh token.

use std::fmt;
use std::sync::{Arc, Mutex};

use b24_errors::{Error, Secret};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// An OAuth token pair and what the OAuth server said with it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The access token.
    #[serde(with = "secret_string")]
    pub access_token: Secret,
    /// The refresh token (single use).
    #[serde(with = "secret_string")]
    pub refresh_token: Secret,
    /// When the access token expires (unix seconds), if known.
    pub expires_at: Option<u64>,
    /// The portal's REST endpoint, `https://<portal>/rest/`.
    pub client_endpoint: String,
    /// The OAuth server's endpoint, `https://oauth.bitrix.info/rest/`.
    pub server_endpoint: Option<String>,
    /// The portal's member id.
    pub member_id: Option<String>,
}

/// Serialize a secret's value: only [`TokenStore`]s that the user chose to persist tokens in
/// write it (see `docs/scaling.md`).
mod secret_string {
    use b24_errors::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl TokenSet {
    /// A pair for `client_endpoint` (`https://<portal>/rest/`), with no known expiry; the token
    /// endpoint is derived from `server_endpoint` when given.
    pub fn new(
        access_token: impl Into<Secret>,
        refresh_token: impl Into<Secret>,
        client_endpoint: impl Into<String>,
        server_endpoint: Option<String>,
    ) -> TokenSet {
        TokenSet {
            access_token: access_token.into(),
            refresh_token: refresh_token.into(),
            expires_at: None,
            client_endpoint: client_endpoint.into(),
            server_endpoint,
            member_id: None,
        }
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("client_endpoint", &self.client_endpoint)
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

/// A held refresh lock; dropping it releases the lock.
pub type RefreshGuard = Box<dyn Send + Sync>;

/// Storage for the current token pair, with an exclusive refresh lock.
///
/// The OAuth credentials call [`TokenStore::lock_refresh`], then [`TokenStore::load`]: if the
/// stored access token differs from the one that was refused, another caller (or process)
/// already refreshed and the stored pair is used; otherwise they refresh and
/// [`TokenStore::save`] the new pair before dropping the guard.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored pair, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>>;
    /// Store a new pair.
    fn save(&self, tokens: TokenSet) -> BoxFuture<'_, Result<(), Error>>;
    /// Take the refresh lock (wait for it).
    fn lock_refresh(&self) -> BoxFuture<'_, Result<RefreshGuard, Error>>;
}

/// The in-process default: a pair in memory and a tokio mutex.
#[derive(Debug, Default, Clone)]
pub struct MemoryTokenStore {
    tokens: Arc<Mutex<Option<TokenSet>>>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl MemoryTokenStore {
    /// A store holding `tokens`.
    pub fn new(tokens: TokenSet) -> MemoryTokenStore {
        MemoryTokenStore { tokens: Arc::new(Mutex::new(Some(tokens))), lock: Arc::default() }
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        let tokens = self.tokens.lock().map(|t| t.clone()).unwrap_or_else(|e| e.into_inner().clone());
        Box::pin(async move { Ok(tokens) })
    }

    fn save(&self, tokens: TokenSet) -> BoxFuture<'_, Result<(), Error>> {
        match self.tokens.lock() {
            Ok(mut slot) => *slot = Some(tokens),
            Err(e) => *e.into_inner() = Some(tokens),
        }
        Box::pin(async { Ok(()) })
    }

    fn lock_refresh(&self) -> BoxFuture<'_, Result<RefreshGuard, Error>> {
        let lock = self.lock.clone();
        Box::pin(async move { Ok(Box::new(lock.lock_owned().await) as RefreshGuard) })
    }
}
