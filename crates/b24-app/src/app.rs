//! [`App`]: installations and events for many portals. It stores what `ONAPPINSTALL` (or the
//! install placement) brings, removes it on `ONAPPUNINSTALL`, checks every other event against
//! the application token stored for the event's portal, and hands out each portal's client.
//!
//! Who is trusted, and when:
//! - `ONAPPINSTALL` of a portal with no stored installation is accepted (the portal has no
//!   other way to introduce itself), provided its OAuth server is trusted
//!   ([`AppConfig::trust_oauth_server`]); for a portal already installed it must carry the
//!   stored application token, so a forged install cannot take over a portal.
//! - `ONAPPUNINSTALL` and every other event must carry the stored application token (compared
//!   in constant time); events of portals without an installation are refused.
//! - An installation made from a placement POST has no application token yet: the first event
//!   of that portal sets it (trust on first use, logged), and every later one must match.
//!
//! Writes to an installation take the portal's refresh lock, so they never race a token
//! refresh of another process.

use std::sync::Arc;

use b24_errors::{Code, Error};
use b24_transport::Transport;
use tracing::info;

use crate::config::AppConfig;
use crate::event::{Event, EventKind};
use crate::installation::{Installation, normalize_domain};
use crate::placement::Placement;
use crate::registry::{PortalClient, Registry};
use crate::store::{InstallationStore, not_installed};

/// What [`App::receive`] did with an event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Received {
    /// `ONAPPINSTALL`: the installation is stored.
    Installed(Event, Installation),
    /// `ONAPPUNINSTALL`: the installation and its tokens are removed.
    Uninstalled(Event),
    /// Any other event, checked against its portal's application token.
    Event(Event, Installation),
}

/// An app installed in many portals. Cheap to clone.
pub struct App<C = Transport> {
    registry: Arc<Registry<C>>,
}

impl<C> Clone for App<C> {
    fn clone(&self) -> Self {
        App { registry: self.registry.clone() }
    }
}

impl<C> std::fmt::Debug for App<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("registry", &self.registry).finish()
    }
}

impl<C: PortalClient> App<C> {
    /// An app keeping its installations in `store`.
    pub fn new(config: AppConfig, store: Arc<dyn InstallationStore>) -> Result<App<C>, Error> {
        Ok(App { registry: Arc::new(Registry::new(config, store)?) })
    }

    /// The clients per portal.
    pub fn registry(&self) -> &Registry<C> {
        &self.registry
    }

    /// The client of the portal with `member_id`.
    pub async fn client(&self, member_id: &str) -> Result<C, Error> {
        self.registry.client(member_id).await
    }

    fn store(&self) -> &Arc<dyn InstallationStore> {
        self.registry.store()
    }

    /// Parse an event POST and act on it: install, uninstall, or check it against its portal.
    pub async fn receive(&self, form_body: &str) -> Result<Received, Error> {
        let event = Event::parse(form_body)?;
        match event.event.as_str() {
            "ONAPPINSTALL" => {
                let installation = self.install(&event).await?;
                Ok(Received::Installed(event, installation))
            }
            "ONAPPUNINSTALL" => {
                self.uninstall(&event).await?;
                Ok(Received::Uninstalled(event))
            }
            _ => {
                let installation = self.verify(&event).await?;
                Ok(Received::Event(event, installation))
            }
        }
    }

    /// Store the installation an `ONAPPINSTALL` event brings.
    pub async fn install(&self, event: &Event) -> Result<Installation, Error> {
        let member_id = event.member_id()?;
        if !matches!(event.kind()?, EventKind::AppInstall { .. }) {
            return Err(Error::sdk(Code::JssdkEventInvalid, format!("{} is not ONAPPINSTALL", event.event)));
        }
        let tokens = event.auth.tokens().ok_or_else(|| {
            Error::sdk(Code::JssdkEventInvalid, "an ONAPPINSTALL event without its token pair and portal address")
        })?;
        self.registry.config().check_endpoints(tokens.server_endpoint.as_deref(), &tokens.client_endpoint)?;
        let _lock = self.store().lock_refresh(member_id).await?;
        let existing = self.store().get(member_id).await?;
        if let Some(token) = existing.as_ref().and_then(|i| i.application_token.as_ref()) {
            event.verify(token)?;
        }
        let domain = event.auth.domain.clone().unwrap_or_else(|| normalize_domain(&tokens.client_endpoint));
        let mut installation =
            Installation::new(member_id, domain, tokens).with_application_token(event.auth.application_token.clone());
        installation.scope = event.auth.scope.clone();
        installation.status = event.auth.status.clone();
        installation.user_id = event.auth.user_id;
        if let Some(existing) = existing {
            installation.installed_at = existing.installed_at;
        }
        self.store().put(installation.clone()).await?;
        self.registry.forget(member_id);
        info!(target: "b24::app", member_id, domain = %installation.domain, "installed");
        Ok(installation)
    }

    /// Remove the installation an `ONAPPUNINSTALL` event names (after checking its token);
    /// false when there was none.
    pub async fn uninstall(&self, event: &Event) -> Result<bool, Error> {
        let member_id = event.member_id()?;
        let _lock = self.store().lock_refresh(member_id).await?;
        let Some(existing) = self.store().get(member_id).await? else { return Ok(false) };
        let token = existing.application_token.as_ref().ok_or_else(|| {
            Error::sdk(
                Code::JssdkEventTokenMismatch,
                "the installation has no application token to check the uninstall against",
            )
        })?;
        event.verify(token)?;
        let removed = self.store().remove(member_id).await?;
        self.registry.forget(member_id);
        info!(target: "b24::app", member_id, "uninstalled");
        Ok(removed)
    }

    /// Check an event against the application token stored for its portal; the portal's
    /// installation comes back.
    pub async fn verify(&self, event: &Event) -> Result<Installation, Error> {
        let member_id = event.member_id()?;
        let installation = self.store().get(member_id).await?.ok_or_else(|| not_installed(member_id))?;
        match &installation.application_token {
            Some(token) => {
                event.verify(token)?;
                Ok(installation)
            }
            None => self.adopt_token(event).await,
        }
    }

    /// The first event of an installation made from a placement: keep its application token.
    async fn adopt_token(&self, event: &Event) -> Result<Installation, Error> {
        let member_id = event.member_id()?;
        let _lock = self.store().lock_refresh(member_id).await?;
        let mut installation = self.store().get(member_id).await?.ok_or_else(|| not_installed(member_id))?;
        if let Some(token) = &installation.application_token {
            event.verify(token)?;
            return Ok(installation);
        }
        installation.application_token = Some(event.auth.application_token.clone());
        self.store().put(installation.clone()).await?;
        info!(target: "b24::app", member_id, "the first event set the installation's application token");
        Ok(installation)
    }

    /// Install from the install placement POST (a portal the app is new to), or recognize a
    /// portal already installed (its stored tokens are kept; the domain must match).
    pub async fn install_from_placement(&self, placement: &Placement) -> Result<Installation, Error> {
        let tokens = &placement.tokens;
        self.registry.config().check_endpoints(tokens.server_endpoint.as_deref(), &tokens.client_endpoint)?;
        let member_id = placement.member_id.as_str();
        let _lock = self.store().lock_refresh(member_id).await?;
        if let Some(existing) = self.store().get(member_id).await? {
            if existing.domain != placement.domain {
                return Err(Error::sdk(
                    Code::JssdkPlacementInvalid,
                    format!(
                        "the placement names {} but portal {member_id} is installed at {}",
                        placement.domain, existing.domain
                    ),
                ));
            }
            return Ok(existing);
        }
        let mut installation = Installation::new(member_id, placement.domain.clone(), tokens.clone());
        installation.status = placement.status.clone();
        self.store().put(installation.clone()).await?;
        info!(target: "b24::app", member_id, domain = %installation.domain, "installed from a placement");
        Ok(installation)
    }

    /// A client acting as the user who opened a placement of an installed portal.
    pub async fn placement_client(&self, placement: &Placement) -> Result<C, Error> {
        self.install_from_placement(placement).await?;
        self.registry.client_with_tokens(placement.tokens.clone())
    }
}
