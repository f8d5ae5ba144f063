//! [`Registry`]: a client per portal, built from the stored installations, all sharing one HTTP
//! connection pool, each with its own limiter state and its own token refresh coordinated
//! through the installation store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use b24_errors::Error;
use b24_transport::credentials::{OAuthCredentials, TokenSet};
use b24_transport::http::HttpClient;
use b24_transport::{Transport, TransportBuilder};

use crate::config::AppConfig;
use crate::installation::Installation;
use crate::store::{InstallationStore, PortalTokens, not_installed};

/// What a registry hands out: built from a [`Transport`] (the stack with the portal's
/// credentials, limiters and the shared pool). `b24_sdk::Client` implements it with the
/// `app` feature; `Transport` itself does here.
pub trait PortalClient: Clone + Send + Sync + 'static {
    /// Wrap a built transport.
    fn from_transport(transport: Transport) -> Self;
    /// The transport inside.
    fn transport(&self) -> &Transport;
}

impl PortalClient for Transport {
    fn from_transport(transport: Transport) -> Self {
        transport
    }

    fn transport(&self) -> &Transport {
        self
    }
}

/// Clients per portal. Cheap to share (`App` holds one).
///
/// Every lookup reads the portal's row (one primary-key read), so a portal uninstalled by
/// another process is refused here too; the client itself is built once per portal and cached.
pub struct Registry<C> {
    store: Arc<dyn InstallationStore>,
    config: AppConfig,
    http: HttpClient,
    clients: Mutex<HashMap<String, C>>,
}

impl<C> std::fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.clients.lock().map(|c| c.len()).unwrap_or_default();
        f.debug_struct("Registry").field("config", &self.config).field("cached", &cached).finish_non_exhaustive()
    }
}

impl<C: PortalClient> Registry<C> {
    /// A registry over `store`; the HTTP pool is the config's or a new one shared by all.
    pub fn new(config: AppConfig, store: Arc<dyn InstallationStore>) -> Result<Registry<C>, Error> {
        let http = match &config.http {
            Some(http) => http.clone(),
            None => HttpClient::new(&config.transport)?,
        };
        Ok(Registry { store, config, http, clients: Mutex::new(HashMap::new()) })
    }

    /// The client of the portal with `member_id`.
    pub async fn client(&self, member_id: &str) -> Result<C, Error> {
        match self.store.get(member_id).await? {
            Some(installation) => self.client_of(&installation),
            None => {
                self.forget(member_id);
                Err(not_installed(member_id))
            }
        }
    }

    /// The client of the portal at `domain` (`example.bitrix24.com`).
    pub async fn client_for_domain(&self, domain: &str) -> Result<C, Error> {
        let installation = self.store.find_domain(domain).await?.ok_or_else(|| not_installed(domain))?;
        self.client_of(&installation)
    }

    /// The cached client of `installation`, built on first use.
    pub fn client_of(&self, installation: &Installation) -> Result<C, Error> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&installation.member_id) {
            return Ok(client.clone());
        }
        let store = Arc::new(PortalTokens::new(self.store.clone(), installation.member_id.as_str()));
        let credentials =
            OAuthCredentials::new(self.config.app.clone(), installation.tokens.clone()).token_store(store);
        let client = C::from_transport(self.transport(credentials)?);
        clients.insert(installation.member_id.clone(), client.clone());
        Ok(client)
    }

    /// A client acting with `tokens` (a user's, from a placement or an event), not stored and
    /// not cached: it shares the pool, and refreshes its pair in memory only.
    pub fn client_with_tokens(&self, tokens: TokenSet) -> Result<C, Error> {
        self.transport(OAuthCredentials::new(self.config.app.clone(), tokens)).map(C::from_transport)
    }

    fn transport(&self, credentials: OAuthCredentials) -> Result<Transport, Error> {
        let mut builder =
            TransportBuilder::new(credentials).config(self.config.transport.clone()).http_client(self.http.clone());
        if let Some(shared) = &self.config.shared {
            builder = builder.shared_state(shared.clone());
        }
        builder.build()
    }

    /// Drop the cached client of `member_id` (after an uninstall or a new installation).
    pub fn forget(&self, member_id: &str) {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).remove(member_id);
    }

    /// The portals with a cached client.
    pub fn cached(&self) -> usize {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The installation store.
    pub fn store(&self) -> &Arc<dyn InstallationStore> {
        &self.store
    }

    /// The app's settings.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }
}
