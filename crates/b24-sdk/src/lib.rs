//! # b24 — a Rust SDK for the Bitrix24 REST API
//!
//! Fast, never rate-limited by surprise, errors you can match on, secrets that never leak.
//!
//! ```no_run
//! use b24_sdk::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), b24_sdk::Error> {
//! // An inbound webhook of your portal: https://<portal>/rest/<user id>/<secret>/
//! let client = Client::from_webhook_url("https://example.bitrix24.com/rest/1/your-webhook-secret/")?;
//! let me = client.user_current().await?;
//!
//! // Every documented method, typed (generated from the REST docs; one Cargo feature per group,
//! // here `crm`): required params are arguments, optional ones setters, rows typed structs.
//! let items = client.crm().item().list(2).select(["id", "title"]).all().await?;
//!
//! // Every row of a list: `call_list` collects what `fetch_list` streams page by page (the
//! // fast export: ids as the cursor, 50 pages chained per request, no COUNT).
//! let deals: Vec<serde_json::Value> =
//!     client.v2().call_list(ListQuery::new("crm.deal.list").select(["ID", "TITLE"])).await?;
//!
//! match client.call::<serde_json::Value>("crm.deal.get", &serde_json::json!({"id": 0})).await {
//!     Err(e) if e.is_not_found() => println!("no such deal"),
//!     Err(e) => return Err(e),
//!     Ok(deal) => println!("{deal}"),
//! }
//! # let _ = (me, deals, items);
//! # Ok(())
//! # }
//! ```
//!
//! The same against a local portal, the way your tests can run it (feature `emulator`):
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use b24_sdk::emulator::{Emulator, Settings};
//! use b24_sdk::prelude::*;
//!
//! let portal = Emulator::start(Settings::fast().with_rows(300)).await?;
//! let client = Client::from_webhook_url(&portal.webhook_url())?;
//! let deals: Vec<serde_json::Value> = client.v2().call_list(ListQuery::new("crm.deal.list")).await?;
//! assert_eq!(deals.len(), 300);
//! let items = client.crm().item().list(2).select(["id", "title"]).all().await?; // typed rows
//! assert_eq!(items.len(), 300);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "emulator"))]
//! # fn main() {}
//! ```
//!
//! The crate is a facade over focused crates, each usable alone:
//!
//! | crate | re-exported as | what it holds |
//! | --- | --- | --- |
//! | `b24-errors` | [`errors`] | the error model, codes generated from one table, redaction |
//! | `b24-transport` | [`transport`] | the tower stack: auth, retry, limiters, tracing, wire |
//! | `b24-batch` | `batch` (feature `batch`) | the batch wire format |
//! | `b24-actions` | `actions` (feature `actions`) | call, lists, the fast export, batches |
//! | `b24-methods` | `methods` (feature `methods`, on by default; a feature per group: `crm`, `tasks`, …, `all-methods`) | every documented method as a typed builder; [`de`] always |
//! | `b24-emulator` | `emulator` (feature `emulator`) | a local portal for your tests |
//! | `b24-redis` | `redis` (feature `redis`) | limiter and token state shared by processes |
//! | `b24-app` | `app` (feature `app`; [`events`] always) | apps for many portals: installations, events, a client per portal, SQLite or PostgreSQL |
//!
//! A webhook holds a portal-wide secret: b24 is a server-side SDK (tokio, hyper, rustls) and
//! does not build for `wasm32`; should such a build appear, [`ClientBuilder::webhook`] logs
//! `JSSDK_CLIENT_SIDE_WARNING`, as the official JavaScript SDK does in a browser.

/// The README's Rust snippets, compiled as doctests so that the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "app")]
pub mod app;
mod builder;
#[cfg(feature = "methods")]
mod method_layer;
#[cfg(feature = "emulator")]
pub mod testing;
pub mod typed;

/// Event handlers for apps: the portal's event POST read whole (`event`, `event_handler_id`,
/// `data`, `ts`, the complete `auth` block), typed for the common events, and checked against
/// the `application_token` in constant time. The one place b24 parses events is `b24_app::event`;
/// this re-exports it.
pub mod events {
    pub use b24_app::event::*;
}

use b24_errors::Error as B24Error;
use b24_transport::credentials::OAuthCredentials;
#[cfg(feature = "actions")]
use serde::{Serialize, de::DeserializeOwned};

pub use b24_errors as errors;
pub use b24_errors::{Code, Error, ErrorCode, RetryClass, Secret};
/// Deserializers for Bitrix24's wire habits (numbers as strings, `Y`/`N`, empty strings, dates
/// with offsets), for your own structs.
pub use b24_methods::de;
pub use b24_methods::{Date, DateTime};
pub use b24_transport as transport;
pub use b24_transport::config::Plan;
pub use b24_transport::credentials::{MemoryTokenStore, OAuthApp, TokenSet, TokenStore};
pub use b24_transport::http::HttpClient;
pub use b24_transport::{ApiVersion, StatsSnapshot, Transport};
pub use builder::ClientBuilder;

#[cfg(feature = "actions")]
pub use b24_actions as actions;
#[cfg(feature = "actions")]
pub use b24_actions::{Actions, BatchResult, CallResult, ListKey, ListQuery, Outcome, Pages};
#[cfg(feature = "batch")]
pub use b24_batch as batch;
#[cfg(feature = "batch")]
pub use b24_batch::{Batch, Command, Commands, Ref};
#[cfg(feature = "emulator")]
pub use b24_emulator as emulator;
#[cfg(feature = "methods")]
pub use b24_methods as methods;
#[cfg(feature = "methods")]
pub use b24_methods::{File, Filter, MethodCode};
#[cfg(feature = "redis")]
pub use b24_redis as redis;

/// The names most programs need: `use b24_sdk::prelude::*;`.
///
/// ```
/// use b24_sdk::prelude::*;
/// let _names: (Option<Client>, Option<ClientBuilder>, Option<Error>, Option<Code>, Option<Plan>, Option<Secret>) =
///     (None, None, None, None, None, None);
/// let _auth: (Option<OAuthApp>, Option<OAuthCredentials>, Option<TokenSet>, Option<Box<dyn TokenStore>>) =
///     (None, None, None, None);
/// let _calls: (Option<ListQuery>, Option<Batch>, Option<Command>, Option<Commands>, Option<BatchResult>, Option<Outcome>) =
///     (None, None, None, None, None, None);
/// let reference = Ref::result("prev").index(49).field("ID");
/// let params = serde_json::json!({"filter": {">ID": reference}});
/// assert_eq!(params["filter"][">ID"], "$result[prev][49][ID]");
/// let _event: Option<Event> = None;
/// ```
pub mod prelude {
    pub use crate::events::Event;
    #[cfg(feature = "actions")]
    pub use crate::{Batch, BatchResult, Command, Commands, ListQuery, Outcome, Ref};
    pub use crate::{Client, ClientBuilder, Code, Error, OAuthApp, Plan, Secret, TokenSet, TokenStore};
    #[cfg(feature = "methods")]
    pub use b24_methods::prelude::*;
    pub use b24_transport::credentials::OAuthCredentials;
}

/// A Bitrix24 client: cheap to clone; every clone shares the connection pool, the limiters and
/// the OAuth tokens.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    #[cfg(feature = "actions")]
    actions: b24_actions::Actions,
}

impl Client {
    /// A client for an incoming webhook, with the standard plan's limits.
    pub fn from_webhook_url(url: &str) -> Result<Client, B24Error> {
        Client::builder().webhook(url).build()
    }

    /// A client for an OAuth app.
    pub fn from_oauth(credentials: OAuthCredentials) -> Result<Client, B24Error> {
        Client::builder().oauth(credentials).build()
    }

    /// Every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client over a transport built by hand ([`b24_transport::TransportBuilder`]).
    pub fn from_transport(transport: Transport) -> Client {
        Client {
            #[cfg(feature = "actions")]
            actions: b24_actions::Actions::new(transport.clone()),
            transport,
        }
    }

    /// The transport (the tower stack), for raw calls.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Its HTTP client: pass it to [`ClientBuilder::http_client`] so that another client (another
    /// portal's) shares this one's connection pool.
    pub fn http_client(&self) -> HttpClient {
        self.transport.http_client()
    }

    /// Statistics: calls, retries, limiter waits, limit answers seen, refreshes.
    pub fn stats(&self) -> StatsSnapshot {
        self.transport.stats()
    }

    /// The current OAuth tokens (for an OAuth client).
    pub fn tokens(&self) -> Option<TokenSet> {
        self.transport.oauth().map(|o| o.tokens())
    }
}

#[cfg(feature = "actions")]
impl Client {
    /// REST v2 actions (owned, and their futures borrow nothing: they can be spawned).
    pub fn v2(&self) -> b24_actions::V2 {
        self.actions.v2()
    }

    /// REST v3 actions (owned, and their futures borrow nothing: they can be spawned).
    pub fn v3(&self) -> b24_actions::V3 {
        self.actions.v3()
    }

    /// All actions.
    pub fn actions(&self) -> &b24_actions::Actions {
        &self.actions
    }

    /// Call a v2 method and deserialize its result into `T`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: &impl Serialize) -> Result<T, B24Error> {
        self.v2().call(method, params).await?.json()
    }

    /// `server.time`: the portal's clock (ISO 8601).
    pub async fn server_time(&self) -> Result<String, B24Error> {
        self.call("server.time", &()).await
    }

    /// `user.current`: the user the credentials act as.
    pub async fn user_current(&self) -> Result<typed::User, B24Error> {
        self.call("user.current", &()).await
    }

    /// `profile`: the current user's profile.
    pub async fn profile(&self) -> Result<typed::Profile, B24Error> {
        self.call("profile", &()).await
    }

    /// `app.info`: the app's installation.
    pub async fn app_info(&self) -> Result<typed::AppInfo, B24Error> {
        self.call("app.info", &()).await
    }

    /// `crm.item.get`, typed.
    pub async fn crm_item<T: DeserializeOwned>(&self, entity_type_id: u64, id: u64) -> Result<T, B24Error> {
        let params = serde_json::json!({"entityTypeId": entity_type_id, "id": id});
        let envelope: typed::ItemEnvelope<T> = self.call("crm.item.get", &params).await?;
        Ok(envelope.item)
    }

    /// `crm.item.add` from a typed value; the created item comes back typed.
    pub async fn crm_item_add<F: Serialize, T: DeserializeOwned>(
        &self,
        entity_type_id: u64,
        fields: &F,
    ) -> Result<T, B24Error> {
        let params = serde_json::json!({"entityTypeId": entity_type_id, "fields": fields});
        let envelope: typed::ItemEnvelope<T> = self.call("crm.item.add", &params).await?;
        Ok(envelope.item)
    }

    /// Every `crm.item` of a type, typed (the fast export).
    pub async fn crm_items<T: DeserializeOwned + Send + 'static>(
        &self,
        entity_type_id: u64,
    ) -> Result<Vec<T>, B24Error> {
        self.v2().call_list(ListQuery::new("crm.item.list").param("entityTypeId", entity_type_id)).await
    }
}
