//! # b24-emulator
//!
//! A faithful local Bitrix24 portal, for tests, examples, benchmarks and your own integration
//! tests. It speaks the wire protocol of a real portal (see `docs/emulator.md` and
//! `docs/seed/bitrix24-wire.md`) so that any client — b24, the official JavaScript SDK,
//! `fast-bitrix24` — works against it unchanged:
//!
//! - webhook routes `/rest/<uid>/<secret>/<method>` (v2) and `/rest/api/<uid>/<secret>/<method>`
//!   (v3), OAuth routes `/rest/<method>` and `/rest/api/<method>`, and the OAuth server
//!   `/oauth/token/` with rotating single-use refresh tokens;
//! - HTTP or HTTPS (a self-signed certificate generated at start);
//! - every documented REST v2 method (a table generated from the shared catalogue by `cargo
//!   xtask codegen`): `server.time`, `user.current`, `user.get`, `batch` (v2 and v3),
//!   `crm.item.*`, `im.notify.*`, `event.*` modelled in depth; every documented entity family
//!   (`crm.deal`, `crm.contact`, `tasks.task`, `catalog.product`...) served with its documented
//!   parameters, fields and answer shapes; every other method answered with its documented
//!   result type after its required parameters are checked; v3 lists and `*.tail`;
//! - seeded data generated lazily (a million rows cost no memory): deals, tasks, contacts,
//!   companies, leads, users;
//! - the portal's side of apps: bound events delivered as form POSTs to the app, offline
//!   events, install and uninstall, several portals with their own identities;
//! - the request-rate bucket, the operating-time limit, the cost model with a time scale;
//! - seeded fault injection, and counters readable in-process and at `/_emulator/counters`.
//!
//! It does not depend on the SDK crates: it is an independent implementation of the protocol
//! that the SDK is tested against.
//!
//! ```
//! use b24_emulator::{Emulator, Settings};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let portal = Emulator::start(Settings::fast().with_rows(10_000)).await?;
//! let url = portal.webhook_url(); // http://127.0.0.1:<port>/rest/1/<fake secret>/
//! assert!(url.starts_with("http://127.0.0.1:"));
//! assert_eq!(portal.counters().requests, 0);
//! portal.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod caller;
mod catalogue;
mod clock;
mod counters;
mod data;
mod dispatch;
mod emulator_api;
mod envelope;
mod errors;
mod events;
mod faults;
mod input;
mod json_out;
mod limits;
mod methods;
mod oauth;
mod php;
mod portal;
mod reply;
mod route;
mod server;
pub mod settings;
mod tls;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::TokenPair;
pub use counters::Snapshot;
pub use data::Notification;
pub use events::deliver::Delivery;
pub use settings::{
    ArrayFilterValue, BatchCharging, BucketLimits, CostModel, FaultKind, FaultSettings, OperatingLimits, Profile,
    SeedSizes, Settings,
};

use portal::{Portal, lock};

/// Starts emulators.
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

/// How to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// The address (port 0: a free port).
    pub addr: SocketAddr,
    /// Serve HTTPS with a generated self-signed certificate.
    pub tls: bool,
}

impl Default for Listen {
    fn default() -> Self {
        Listen { addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), tls: false }
    }
}

impl Emulator {
    /// Start on a free port of 127.0.0.1 over plain HTTP, on the current tokio runtime.
    pub async fn start(settings: Settings) -> io::Result<EmulatorHandle> {
        Emulator::start_with(settings, Listen::default()).await
    }

    /// Start over HTTPS on a free port of 127.0.0.1.
    pub async fn start_tls(settings: Settings) -> io::Result<EmulatorHandle> {
        Emulator::start_with(settings, Listen { tls: true, ..Listen::default() }).await
    }

    /// Start with explicit listening options.
    pub async fn start_with(settings: Settings, listen: Listen) -> io::Result<EmulatorHandle> {
        let listener = server::bind(listen.addr).await?;
        let addr = listener.local_addr()?;
        let tls = if listen.tls { Some(tls::self_signed()?) } else { None };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let host =
            if addr.ip().is_loopback() && tls.is_some() { "localhost".to_owned() } else { addr.ip().to_string() };
        let base_url = format!("{scheme}://{host}:{}", addr.port());
        let portal = Arc::new(Portal::new(settings));
        if let Ok(mut b) = portal.base_url.write() {
            b.clone_from(&base_url);
        }
        let (shutdown, rx) = watch::channel(false);
        let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
        let task = tokio::spawn(server::serve(listener, portal.clone(), acceptor, rx));
        Ok(EmulatorHandle { portal, addr, base_url, certificate_pem: tls.map(|t| t.certificate_pem), shutdown, task })
    }
}

/// A running emulator. Dropping it leaves the server running until the runtime ends; call
/// [`EmulatorHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct EmulatorHandle {
    portal: Arc<Portal>,
    addr: SocketAddr,
    base_url: String,
    certificate_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EmulatorHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (or `https://localhost:<port>`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The webhook URL, `<base>/rest/<uid>/<secret>/`.
    pub fn webhook_url(&self) -> String {
        let s = self.portal.settings();
        format!("{}/rest/{}/{}/", self.base_url, s.webhook_user_id, s.webhook_secret)
    }

    /// The OAuth app's REST endpoint, `<base>/rest/` (the `client_endpoint`).
    pub fn client_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url)
    }

    /// The OAuth server's token endpoint, `<base>/oauth/token/`.
    pub fn oauth_token_url(&self) -> String {
        format!("{}/oauth/token/", self.base_url)
    }

    /// The generated certificate (PEM) when serving HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Issue an OAuth token pair, as if the app had just been installed.
    pub fn issue_tokens(&self) -> TokenPair {
        let lifetime = self.portal.settings().access_token_lifetime_secs;
        let mut pair = lock(&self.portal.tokens).issue(self.portal.clock.now(), lifetime);
        pair.expires = self.portal.clock.wall(pair.expires);
        pair
    }

    /// An authorization code for the `authorization_code` grant.
    pub fn authorization_code(&self) -> String {
        lock(&self.portal.tokens).issue_code()
    }

    /// Expire every access token now (the next call with one gets `expired_token`).
    pub fn expire_access_tokens(&self) {
        lock(&self.portal.tokens).expire_all();
    }

    /// The counters now.
    pub fn counters(&self) -> Snapshot {
        self.portal.counters.snapshot()
    }

    /// A copy of the settings.
    pub fn settings(&self) -> Settings {
        self.portal.settings()
    }

    /// Replace the fault settings (the generator restarts from the new seed).
    pub fn set_faults(&self, faults: FaultSettings) {
        if let Ok(mut s) = self.portal.settings.write() {
            s.faults = faults.clone();
        }
        lock(&self.portal.faults).configure(faults);
    }

    /// Replace the request-rate bucket (None turns it off).
    pub fn set_bucket(&self, bucket: Option<BucketLimits>) {
        if let Ok(mut s) = self.portal.settings.write() {
            s.bucket = bucket;
        }
    }

    /// The ids of the seeded rows, in order (for checking an export).
    pub fn seeded_ids(&self) -> impl Iterator<Item = u64> + use<> {
        (0..self.portal.settings().rows).map(data::id_of)
    }

    /// Rows that exist now in a CRM entity type's table (2: deals, 3: contacts...), adds and
    /// deletes included.
    pub fn item_count(&self, entity_type_id: u64) -> u64 {
        let Some(key) = data::tables::crm_type_key(entity_type_id) else { return 0 };
        let data = lock(&self.portal.data);
        data.existing(&key).map_or_else(|| data.seeded(&key), |t| t.count_in_range(0, u64::MAX))
    }

    /// The notifications `im.notify.*` recorded, oldest first.
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.portal.data).notifications.clone()
    }

    /// Every event delivery attempted (bound events, installs), oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.portal.deliveries).clone()
    }

    /// Install the app: POST `ONAPPINSTALL` (a fresh token pair, the application token) to
    /// `url`. The app's HTTP status, or `None` when it could not be reached.
    pub async fn install_app(&self, url: &str) -> Option<u16> {
        events::app::install(&self.portal, url).await
    }

    /// Uninstall the app: POST `ONAPPUNINSTALL` to `url`, then forget its bindings, offline
    /// queue and tokens.
    pub async fn uninstall_app(&self, url: &str) -> Option<u16> {
        events::app::uninstall(&self.portal, url).await
    }

    /// The wall-clock time now as the portal reports it (unix seconds).
    pub fn now(&self) -> f64 {
        self.portal.clock.wall(self.portal.clock.now())
    }

    /// Stop accepting and close connections.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// The OpenAPI document the emulator serves at `rest.documentation.openapi`.
pub fn openapi_document() -> serde_json::Value {
    methods::openapi::openapi_document()
}
