//! [`ClientBuilder`]: one place for every setting — credentials, plan limits, retries,
//! timeouts, TLS, shared state stores, and your own tower layers.

use std::sync::Arc;
use std::time::Duration;

use b24_errors::{Code, Error};
use b24_transport::credentials::{Credentials, OAuthApp, OAuthCredentials, Webhook, parse_form};
use b24_transport::http::TlsRoots;
use b24_transport::limiter::{BucketConfig, BucketStore, OperatingStore};
use b24_transport::shared::SharedState;
use b24_transport::{B24Request, B24Response, BoxService, TransportBuilder, TransportConfig};
use tower::{Layer, Service};

use crate::Client;

/// The portal's plan, which sets the request-rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Plan {
    /// Standard plans: 50 requests at once, 2 per second after that.
    #[default]
    Standard,
    /// Enterprise plans: 250 at once, 5 per second.
    Enterprise,
    /// No client-side limits (a portal without limits, such as the emulator's `fast` profile).
    Unlimited,
}

type Wrap = Box<dyn FnOnce(TransportBuilder) -> TransportBuilder + Send>;

/// Builds a [`Client`].
pub struct ClientBuilder {
    credentials: Option<Result<Credentials, Error>>,
    plan: Plan,
    config: TransportConfig,
    wraps: Vec<Wrap>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("plan", &self.plan).field("config", &self.config).finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            credentials: None,
            plan: Plan::Standard,
            config: TransportConfig::standard(),
            wraps: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// Authenticate with an incoming webhook URL (`https://<portal>/rest/<user id>/<secret>/`).
    pub fn webhook(mut self, url: &str) -> ClientBuilder {
        #[cfg(target_arch = "wasm32")]
        tracing::warn!(
            target: "b24::client",
            code = Code::JssdkClientSideWarning.as_str(),
            "a webhook holds a portal-wide secret: do not ship it inside client-side code"
        );
        let allow_http = self.config.allow_http;
        self.credentials = Some(Webhook::parse(url, allow_http).map(Credentials::from));
        self
    }

    /// Authenticate as an OAuth app.
    pub fn oauth(mut self, credentials: OAuthCredentials) -> ClientBuilder {
        self.credentials = Some(Ok(credentials.into()));
        self
    }

    /// Authenticate as an app opened in a portal frame, from the placement POST body.
    pub fn placement(mut self, app: OAuthApp, form_body: &str) -> ClientBuilder {
        let fields = parse_form(form_body);
        self.credentials = Some(OAuthCredentials::from_placement(app, &fields).map(Credentials::from));
        self
    }

    /// The portal's plan (request-rate limits).
    pub fn plan(mut self, plan: Plan) -> ClientBuilder {
        self.plan = plan;
        self
    }

    /// Retries of network failures and 5xx without a code (default 3).
    pub fn max_retries(mut self, retries: u32) -> ClientBuilder {
        self.config.retry.max_retries = retries;
        self
    }

    /// How long the requests of long-running work (`fetch_list`, exports, the bulk writer) retry
    /// network failures and 5xx without a code, from the first failure (default 5 minutes);
    /// other calls retry `max_retries` times.
    pub fn work_retry_budget(mut self, budget: Duration) -> ClientBuilder {
        self.config.retry.work_retry_budget = budget;
        self
    }

    /// Each attempt's time limit (default 70 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.attempt_timeout = timeout;
        self
    }

    /// At most this many calls in flight.
    pub fn max_concurrent(mut self, max: usize) -> ClientBuilder {
        self.config.max_concurrent = Some(max);
        self
    }

    /// Real seconds per portal second (for an emulator running faster than real time).
    pub fn time_scale(mut self, scale: f64) -> ClientBuilder {
        self.config.time_scale = scale;
        self
    }

    /// Allow plain http to a self-hosted portal (loopback is always allowed).
    pub fn allow_http(mut self, allow: bool) -> ClientBuilder {
        self.config.allow_http = allow;
        self
    }

    /// Trust these PEM certificates besides the bundled roots (a self-hosted portal, the
    /// emulator's HTTPS).
    pub fn trust_pem(mut self, pem: impl Into<String>) -> ClientBuilder {
        let mut pems = match std::mem::take(&mut self.config.tls_roots) {
            TlsRoots::BundledPlus(p) => p,
            _ => Vec::new(),
        };
        pems.push(pem.into());
        self.config.tls_roots = TlsRoots::BundledPlus(pems);
        self
    }

    /// Use the operating system's root certificates.
    pub fn native_roots(mut self) -> ClientBuilder {
        self.config.tls_roots = TlsRoots::Native;
        self
    }

    /// Re-send non-idempotent calls after ambiguous failures (off by default).
    pub fn retry_non_idempotent(mut self, retry: bool) -> ClientBuilder {
        self.config.retry.retry_non_idempotent = retry;
        self
    }

    /// Replace the whole transport configuration (advanced).
    pub fn transport_config(mut self, config: TransportConfig) -> ClientBuilder {
        self.config = config;
        self
    }

    /// Keep the request-rate bucket in a shared store (several processes on one IP).
    pub fn bucket_store(mut self, store: Arc<dyn BucketStore>) -> ClientBuilder {
        self.wraps.push(Box::new(move |b| b.bucket_store(store)));
        self
    }

    /// Keep operating-time state in a shared store.
    pub fn operating_store(mut self, store: Arc<dyn OperatingStore>) -> ClientBuilder {
        self.wraps.push(Box::new(move |b| b.operating_store(store)));
        self
    }

    /// Keep the bucket, operating-time state and (if the store allows) OAuth tokens in a store
    /// shared by several processes, such as `b24_sdk::redis::RedisShared` (feature `redis`).
    /// See `docs/scaling.md`.
    pub fn shared_state(mut self, shared: Arc<dyn SharedState>) -> ClientBuilder {
        self.wraps.push(Box::new(move |b| b.shared_state(shared)));
        self
    }

    /// Wrap every call with your own tower layer (outermost).
    pub fn layer<L>(mut self, layer: L) -> ClientBuilder
    where
        L: Layer<BoxService> + Send + Sync + 'static,
        L::Service: Service<B24Request, Response = B24Response, Error = Error> + Clone + Send + Sync + 'static,
        <L::Service as Service<B24Request>>::Future: Send + 'static,
    {
        self.wraps.push(Box::new(move |b| b.layer(layer)));
        self
    }

    /// Wrap every attempt with your own tower layer (inside retry: sees each attempt).
    pub fn attempt_layer<L>(mut self, layer: L) -> ClientBuilder
    where
        L: Layer<BoxService> + Send + Sync + 'static,
        L::Service: Service<B24Request, Response = B24Response, Error = Error> + Clone + Send + Sync + 'static,
        <L::Service as Service<B24Request>>::Future: Send + 'static,
    {
        self.wraps.push(Box::new(move |b| b.attempt_layer(layer)));
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client, Error> {
        let credentials = self.credentials.unwrap_or_else(|| {
            Err(Error::sdk(
                Code::JssdkCoreB24NotInit,
                "no credentials: call .webhook(url), .oauth(...) or .placement(...)",
            ))
        })?;
        let mut config = self.config;
        match self.plan {
            Plan::Standard => config.bucket = Some(BucketConfig::STANDARD),
            Plan::Enterprise => config.bucket = Some(BucketConfig::ENTERPRISE),
            Plan::Unlimited => {
                config.bucket = None;
                config.operating = None;
            }
        }
        let mut builder = TransportBuilder::new(credentials).config(config);
        for wrap in self.wraps {
            builder = wrap(builder);
        }
        Ok(Client::from_transport(builder.build()?))
    }
}
