//! [`ClientBuilder`]: one place for every setting — credentials, plan limits, retries,
//! timeouts, TLS, a shared connection pool, shared state stores, and your own tower layers.
//!
//! The builder only records what you ask for; [`ClientBuilder::build`] reads it once. So the
//! order of the calls never matters, and a setting you made is never replaced by a default:
//! `.webhook(url).allow_http(true)` and `.allow_http(true).webhook(url)` build the same client.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use b24_errors::{Code, Error, Secret};
use b24_transport::credentials::{Credentials, OAuthApp, OAuthCredentials, Webhook, parse_form};
use b24_transport::http::HttpClient;
use b24_transport::limiter::{BucketStore, OperatingStore};
use b24_transport::shared::SharedState;
use b24_transport::{B24Request, B24Response, BoxService, TransportBuilder, TransportConfig};
use tower::{Layer, Service};

use crate::{Client, Plan};

type Wrap = Box<dyn FnOnce(TransportBuilder) -> TransportBuilder + Send>;

/// Where the credentials come from (parsed in `build`, with the final settings).
enum Source {
    Webhook(Secret),
    OAuth(Box<OAuthCredentials>),
    Placement(OAuthApp, Secret),
}

/// The settings made one by one; `None` keeps the base configuration's value.
#[derive(Debug, Default)]
struct Settings {
    max_retries: Option<u32>,
    attempt_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    limit_wait_budget: Option<Duration>,
    work_retry_budget: Option<Duration>,
    max_concurrent: Option<usize>,
    time_scale: Option<f64>,
    allow_http: Option<bool>,
    retry_non_idempotent: Option<bool>,
    system_roots: Option<bool>,
    bundled_roots: Option<bool>,
    ca_pems: Vec<String>,
    ca_files: Vec<PathBuf>,
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

impl Settings {
    fn apply(self, c: &mut TransportConfig) {
        set(&mut c.retry.max_retries, self.max_retries);
        set(&mut c.attempt_timeout, self.attempt_timeout);
        set(&mut c.connect_timeout, self.connect_timeout);
        set(&mut c.retry.limit_wait_budget, self.limit_wait_budget);
        set(&mut c.retry.work_retry_budget, self.work_retry_budget);
        set(&mut c.time_scale, self.time_scale);
        set(&mut c.allow_http, self.allow_http);
        set(&mut c.retry.retry_non_idempotent, self.retry_non_idempotent);
        set(&mut c.tls.system_roots, self.system_roots);
        set(&mut c.tls.bundled_roots, self.bundled_roots);
        if self.max_concurrent.is_some() {
            c.max_concurrent = self.max_concurrent;
        }
        c.tls.ca_pems.extend(self.ca_pems);
        c.tls.ca_files.extend(self.ca_files);
    }
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use b24_sdk::{Client, Plan};
///
/// let client = Client::builder()
///     .allow_http(true) // order does not matter: read once, in build()
///     .webhook("http://portal.internal.example/rest/1/fakesecret123/")
///     .plan(Plan::Enterprise)
///     .attempt_timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(client.transport().config().attempt_timeout, Duration::from_secs(20));
/// # Ok::<(), b24_sdk::Error>(())
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    source: Option<Source>,
    plan: Option<Plan>,
    base: Option<TransportConfig>,
    settings: Settings,
    http: Option<HttpClient>,
    wraps: Vec<Wrap>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            None => "none",
            Some(Source::Webhook(_)) => "webhook",
            Some(Source::OAuth(_)) => "oauth",
            Some(Source::Placement(..)) => "placement",
        };
        f.debug_struct("ClientBuilder")
            .field("credentials", &source)
            .field("plan", &self.plan)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticate with an incoming webhook URL (`https://<portal>/rest/<user id>/<secret>/`),
    /// checked in [`ClientBuilder::build`].
    pub fn webhook(mut self, url: &str) -> ClientBuilder {
        #[cfg(target_arch = "wasm32")]
        tracing::warn!(
            target: "b24::client",
            code = Code::JssdkClientSideWarning.as_str(),
            "a webhook holds a portal-wide secret: do not ship it inside client-side code"
        );
        self.source = Some(Source::Webhook(Secret::new(url)));
        self
    }

    /// Authenticate as an OAuth app.
    pub fn oauth(mut self, credentials: OAuthCredentials) -> ClientBuilder {
        self.source = Some(Source::OAuth(Box::new(credentials)));
        self
    }

    /// Authenticate as an app opened in a portal frame, from the placement POST body.
    pub fn placement(mut self, app: OAuthApp, form_body: &str) -> ClientBuilder {
        self.source = Some(Source::Placement(app, Secret::new(form_body)));
        self
    }

    /// The portal's plan: the request-rate and operating-time limits (default
    /// [`Plan::Standard`]). The one way to choose limits; it wins over the limits of a
    /// [`ClientBuilder::transport_config`].
    pub fn plan(mut self, plan: Plan) -> ClientBuilder {
        self.plan = Some(plan);
        self
    }

    /// Retries of network failures and 5xx without a code (default 3).
    pub fn max_retries(mut self, retries: u32) -> ClientBuilder {
        self.settings.max_retries = Some(retries);
        self
    }

    /// How long the requests of long-running work (`fetch_list`, exports, the bulk writer) retry
    /// network failures and 5xx without a code, from the first failure (default 5 minutes);
    /// other calls retry `max_retries` times.
    pub fn work_retry_budget(mut self, budget: Duration) -> ClientBuilder {
        self.settings.work_retry_budget = Some(budget);
        self
    }

    /// Each attempt's time limit (default 70 s: the portal cuts requests at 60 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.settings.attempt_timeout = Some(timeout);
        self
    }

    /// Connecting's time limit (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.settings.connect_timeout = Some(timeout);
        self
    }

    /// How long waits for the portal's limits (`QUERY_LIMIT_EXCEEDED`, `OVERLOAD_LIMIT`) may add
    /// up to for one call before its error surfaces (default 15 minutes).
    pub fn limit_wait_budget(mut self, budget: Duration) -> ClientBuilder {
        self.settings.limit_wait_budget = Some(budget);
        self
    }

    /// At most this many calls in flight.
    pub fn max_concurrent(mut self, max: usize) -> ClientBuilder {
        self.settings.max_concurrent = Some(max);
        self
    }

    /// Real seconds per portal second (for an emulator running faster than real time).
    pub fn time_scale(mut self, scale: f64) -> ClientBuilder {
        self.settings.time_scale = Some(scale);
        self
    }

    /// Allow plain http to a self-hosted portal (loopback is always allowed).
    pub fn allow_http(mut self, allow: bool) -> ClientBuilder {
        self.settings.allow_http = Some(allow);
        self
    }

    /// Also trust this CA certificate (PEM text): a self-hosted portal behind a company CA, the
    /// emulator's HTTPS. The system store and the bundled roots stay trusted.
    pub fn ca_certificate_pem(mut self, pem: impl Into<String>) -> ClientBuilder {
        self.settings.ca_pems.push(pem.into());
        self
    }

    /// Also trust the CA certificates in this PEM file (read in [`ClientBuilder::build`]; a
    /// file that cannot be read is a `JSSDK_INVALID_CONFIG` naming it and the reason).
    pub fn ca_certificate_file(mut self, path: impl Into<PathBuf>) -> ClientBuilder {
        self.settings.ca_files.push(path.into());
        self
    }

    /// Same as [`ClientBuilder::ca_certificate_pem`].
    pub fn trust_pem(self, pem: impl Into<String>) -> ClientBuilder {
        self.ca_certificate_pem(pem)
    }

    /// Trust the operating system's store (default on; it honours `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`).
    pub fn system_roots(mut self, on: bool) -> ClientBuilder {
        self.settings.system_roots = Some(on);
        self
    }

    /// Trust Mozilla's roots bundled with b24 (default on).
    pub fn bundled_roots(mut self, on: bool) -> ClientBuilder {
        self.settings.bundled_roots = Some(on);
        self
    }

    /// Re-send non-idempotent calls after ambiguous failures (off by default).
    pub fn retry_non_idempotent(mut self, retry: bool) -> ClientBuilder {
        self.settings.retry_non_idempotent = Some(retry);
        self
    }

    /// Start from this whole transport configuration (advanced). The settings made one by one
    /// on this builder still apply on top of it, and so does [`ClientBuilder::plan`] when it is
    /// called; otherwise the configuration's own limits are kept.
    pub fn transport_config(mut self, config: TransportConfig) -> ClientBuilder {
        self.base = Some(config);
        self
    }

    /// Share this HTTP client (its connection pool) instead of building one: take it from
    /// another client ([`Client::http_client`]) or build it once with
    /// [`HttpClient::new`](b24_transport::http::HttpClient::new). Its TLS, pool and connect
    /// settings are its own.
    pub fn http_client(mut self, http: HttpClient) -> ClientBuilder {
        self.http = Some(http);
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

    /// The configuration `build` uses: the base (or the plan's defaults), the plan's limits,
    /// then each setting made on this builder.
    fn config(base: Option<TransportConfig>, plan: Option<Plan>, settings: Settings) -> TransportConfig {
        let mut config = match (base, plan) {
            (Some(mut base), Some(plan)) => {
                base.set_plan(plan);
                base
            }
            (Some(base), None) => base,
            (None, plan) => TransportConfig::for_plan(plan.unwrap_or_default()),
        };
        settings.apply(&mut config);
        config
    }

    /// Build the client: parse the credentials with the final settings, build the stack.
    pub fn build(self) -> Result<Client, Error> {
        let config = ClientBuilder::config(self.base, self.plan, self.settings);
        let credentials: Credentials = match self.source {
            None => {
                return Err(Error::sdk(
                    Code::JssdkCoreB24NotInit,
                    "no credentials: call .webhook(url), .oauth(...) or .placement(...) on the builder",
                ));
            }
            Some(Source::Webhook(url)) => Webhook::parse(url.expose(), config.allow_http)?.into(),
            Some(Source::OAuth(credentials)) => (*credentials).into(),
            Some(Source::Placement(app, form)) => {
                OAuthCredentials::from_placement(app, &parse_form(form.expose()))?.into()
            }
        };
        let mut builder = TransportBuilder::new(credentials).config(config);
        if let Some(http) = self.http {
            builder = builder.http_client(http);
        }
        for wrap in self.wraps {
            builder = wrap(builder);
        }
        Ok(Client::from_transport(builder.build()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use b24_transport::limiter::BucketConfig;

    const HTTP_HOOK: &str = "http://portal.internal.example/rest/1/fakesecret123/";

    #[test]
    fn the_order_of_the_settings_does_not_matter() {
        assert!(Client::builder().webhook(HTTP_HOOK).allow_http(true).build().is_ok());
        assert!(Client::builder().allow_http(true).webhook(HTTP_HOOK).build().is_ok());
        let e = Client::builder().webhook(HTTP_HOOK).build().expect_err("http refused without allow_http");
        assert_eq!(e.code(), Code::JssdkInsecureUrl);
    }

    #[test]
    fn an_explicit_configuration_keeps_its_limits_unless_a_plan_is_chosen() {
        let hook = "https://example.bitrix24.com/rest/1/fakesecret123/";
        let client =
            Client::builder().webhook(hook).transport_config(TransportConfig::unlimited()).build().expect("ok");
        assert_eq!(client.transport().config().bucket, None, "no default plan rewrites it");
        let client = Client::builder()
            .plan(Plan::Enterprise)
            .webhook(hook)
            .transport_config(TransportConfig::unlimited())
            .build()
            .expect("ok");
        assert_eq!(client.transport().config().bucket, Some(BucketConfig::ENTERPRISE));
        let client = Client::builder().max_retries(7).transport_config(TransportConfig::unlimited()).webhook(hook);
        let client = client.build().expect("ok");
        assert_eq!(client.transport().config().retry.max_retries, 7, "a setting survives a later base");
    }

    #[test]
    fn clients_can_share_one_connection_pool() {
        let first = Client::builder().webhook("https://a.example/rest/1/fakesecret123/").build().expect("a");
        let second = Client::builder()
            .webhook("https://b.example/rest/1/fakesecret456/")
            .http_client(first.http_client())
            .build()
            .expect("b");
        assert_eq!(second.transport().config().bucket, Some(BucketConfig::STANDARD));
    }

    #[test]
    fn the_builder_debug_holds_no_secret() {
        let builder = Client::builder().webhook("https://example.bitrix24.com/rest/1/fakesecret123/");
        assert!(!format!("{builder:?}").contains("fakesecret123"));
    }
}
