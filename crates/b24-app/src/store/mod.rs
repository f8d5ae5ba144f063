//! Where installations live: the [`InstallationStore`] trait, its SQLite and PostgreSQL
//! implementations, and [`PortalTokens`], which plugs one portal's row into the transport's
//! [`TokenStore`] so that the transport's coalesced refresh reads and writes the database.
//!
//! A store is shared by every process of the app. Its refresh lock ([`InstallationStore::lock_refresh`])
//! is what makes a single-use refresh token be used once: the OAuth credentials take the lock,
//! re-read the pair, and refresh only when no other process already has.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod locks;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;

use b24_errors::{Code, Error};
use b24_transport::credentials::{RefreshGuard, TokenSet, TokenStore};
use futures::future::BoxFuture;

use crate::installation::Installation;

/// Storage for the app's installations: one row per portal, keyed by `member_id`, holding the
/// token pair and the application token; and a refresh lock per portal that holds across
/// processes.
///
/// Implementations must pass the contract suite in `b24_app::testing` (feature `testing`).
pub trait InstallationStore: Send + Sync + 'static {
    /// Insert the installation, or replace the one with the same `member_id`.
    fn put(&self, installation: Installation) -> BoxFuture<'_, Result<(), Error>>;

    /// The installation of `member_id`, if any.
    fn get<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<Option<Installation>, Error>>;

    /// The installation at `domain` (as [`crate::normalize_domain`] writes it), if any.
    fn find_domain<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<Installation>, Error>>;

    /// The member ids of every installation.
    fn member_ids(&self) -> BoxFuture<'_, Result<Vec<String>, Error>>;

    /// Remove the installation of `member_id` with its tokens; true when there was one.
    fn remove<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<bool, Error>>;

    /// Replace the token pair of an existing installation (after a refresh). Fails with
    /// `JSSDK_APP_NOT_INSTALLED` when there is none: a refresh never brings back an
    /// installation that was removed meanwhile.
    fn save_tokens<'a>(&'a self, member_id: &'a str, tokens: TokenSet) -> BoxFuture<'a, Result<(), Error>>;

    /// Take the refresh lock of `member_id`, waiting for it; it holds against every process
    /// using the same database until the guard is dropped (or the process dies).
    fn lock_refresh<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<RefreshGuard, Error>>;
}

/// The error for a portal the app is not installed in.
pub fn not_installed(what: &str) -> Error {
    Error::sdk(
        Code::JssdkAppNotInstalled,
        format!("the app is not installed in the portal {what} (no installation is stored for it)"),
    )
}

/// One portal's token pair in an [`InstallationStore`], as the transport's [`TokenStore`].
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use std::sync::Arc;
/// use b24_app::{Installation, InstallationStore, PortalTokens, SqliteStore};
/// use b24_transport::credentials::{OAuthApp, OAuthCredentials, TokenSet};
///
/// let store: Arc<dyn InstallationStore> = Arc::new(SqliteStore::memory().unwrap());
/// let tokens = TokenSet::new("fake-access", "fake-refresh", "https://example.bitrix24.com/rest/", None);
/// let credentials = OAuthCredentials::new(OAuthApp::new("local.app", "fake-secret"), tokens)
///     .token_store(Arc::new(PortalTokens::new(store, "member-1")));
/// # let _ = credentials; }
/// ```
#[derive(Clone)]
pub struct PortalTokens {
    store: Arc<dyn InstallationStore>,
    member_id: Arc<str>,
}

impl std::fmt::Debug for PortalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalTokens").field("member_id", &self.member_id).finish_non_exhaustive()
    }
}

impl PortalTokens {
    /// The tokens of `member_id` in `store`.
    pub fn new(store: Arc<dyn InstallationStore>, member_id: impl Into<Arc<str>>) -> PortalTokens {
        PortalTokens { store, member_id: member_id.into() }
    }
}

impl TokenStore for PortalTokens {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        Box::pin(async move { Ok(self.store.get(&self.member_id).await?.map(|i| i.tokens)) })
    }

    fn save(&self, tokens: TokenSet) -> BoxFuture<'_, Result<(), Error>> {
        self.store.save_tokens(&self.member_id, tokens)
    }

    fn lock_refresh(&self) -> BoxFuture<'_, Result<RefreshGuard, Error>> {
        self.store.lock_refresh(&self.member_id)
    }
}

/// A store error: what failed, with the database's own words as the cause (no statement
/// parameter is ever part of them: every value is bound).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn store_error(what: &str, cause: impl std::fmt::Display) -> Error {
    Error::sdk_caused(
        Code::JssdkStoreUnavailable,
        format!("the installation store could not {what}"),
        b24_errors::Scrubbed::message(cause.to_string()),
    )
}
