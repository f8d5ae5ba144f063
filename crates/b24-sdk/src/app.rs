//! Apps for many portals (the `b24-app` crate): installations, verified events, a [`Client`]
//! per portal from stored installations, token storage on SQLite (feature `app`) or PostgreSQL
//! (feature `app-postgres`), and an HTTP front. See `docs/apps.md`.
//!
//! The names here are `b24_app`'s, with [`App`], [`Registry`] and [`AppService`] handing out
//! [`Client`]s.

pub use b24_app::*;

use crate::Client;

/// An app installed in many portals, handing out a [`Client`] per portal.
pub type App = b24_app::App<Client>;
/// The clients per portal.
pub type Registry = b24_app::Registry<Client>;
/// The app's HTTP front.
pub type AppService = b24_app::AppService<Client>;

impl PortalClient for Client {
    fn from_transport(transport: b24_transport::Transport) -> Client {
        Client::from_transport(transport)
    }

    fn transport(&self) -> &b24_transport::Transport {
        &self.transport
    }
}
