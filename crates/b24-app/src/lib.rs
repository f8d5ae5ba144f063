//! # b24-app
//!
//! Bitrix24 apps for many portals.
//!
//! - **Installations**: [`Installation`] (one portal: its tokens and `application_token`) kept in
//!   an [`InstallationStore`]: [`SqliteStore`] (a file or memory, feature `sqlite`, on by default)
//!   or `PostgresStore` (several hosts, feature `postgres`), or your own store, checked by the
//!   contract suite in `testing` (feature `testing`).
//! - **Tokens**: [`PortalTokens`] plugs one portal's row into the transport's token store, so the
//!   transport's coalesced refresh uses the database's lock: a single-use refresh token is used
//!   once across every process of the app.
//!
//! ```
//! use std::sync::Arc;
//! use b24_app::{Installation, InstallationStore, SqliteStore};
//! use b24_transport::credentials::TokenSet;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), b24_errors::Error> {
//! let store: Arc<dyn InstallationStore> = Arc::new(SqliteStore::memory()?);
//! let tokens = TokenSet::new("fake-access", "fake-refresh", "https://example.bitrix24.com/rest/", None);
//! store.put(Installation::new("member-1", "example.bitrix24.com", tokens).with_application_token("fake-app-token")).await?;
//! let found = store.find_domain("Example.Bitrix24.com").await?;
//! assert_eq!(found.map(|i| i.member_id), Some("member-1".to_owned()));
//! # Ok(()) }
//! ```

mod app;
pub mod bind;
mod config;
pub mod event;
mod installation;
pub mod offline;
mod placement;
mod registry;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use app::{App, Received};
pub use bind::{Binding, Bound, Delivery};
pub use config::{AppConfig, DEFAULT_OAUTH_SERVERS};
pub use event::{Event, EventAuth, EventKind};
pub use installation::{Installation, normalize_domain};
pub use offline::{Drained, OfflineEvent, OfflineEvents};
pub use placement::Placement;
pub use registry::{PortalClient, Registry};
pub use service::{AppService, EventHandler, Routes};
#[cfg(feature = "postgres")]
pub use store::postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use store::sqlite::SqliteStore;
pub use store::{InstallationStore, PortalTokens, not_installed};
