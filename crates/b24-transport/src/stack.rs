//! The client: the default tower stack, built in one visible place ([`TransportBuilder::build`]),
//! with room for the user's own layers around each call or around each attempt.
//!
//! ```text
//! call ─► user layers ─► concurrency cap ─► retry ─► user attempt layers ─► trace
//!      ─► operating limiter ─► rate limiter ─► auth ─► timeout ─► wire (encode, HTTP, parse)
//! ```

use std::sync::Arc;
use std::sync::atomic::Ordering;

use b24_errors::{Code, Error};
use http::HeaderValue;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

use crate::config::TransportConfig;
use crate::credentials::{Credentials, OAuthState};
use crate::http::HttpClient;
use crate::layers::{
    AuthLayer, ConcurrencyCapLayer, OperatingLayer, RateLimitLayer, RetryLayer, TimeoutLayer, TraceLayer,
};
use crate::limiter::{BucketStore, LocalBucket, LocalOperating, OperatingLimiter, OperatingPermit, OperatingStore};
use crate::oauth_http::HttpRefresher;
use crate::shared::{Scope, SharedState};
use crate::stats::{Stats, StatsSnapshot, bump};
use crate::wire::{Wire, WireLimits};
use crate::{B24Request, B24Response};

/// The boxed stack: what user layers wrap and what the client calls.
pub type BoxService = BoxCloneSyncService<B24Request, B24Response, Error>;

type Wrap = Arc<dyn Fn(BoxService) -> BoxService + Send + Sync>;

fn wrap_with<L>(layer: L) -> Wrap
where
    L: Layer<BoxService> + Send + Sync + 'static,
    L::Service: Service<B24Request, Response = B24Response, Error = Error> + Clone + Send + Sync + 'static,
    <L::Service as Service<B24Request>>::Future: Send + 'static,
{
    Arc::new(move |svc| BoxCloneSyncService::new(layer.layer(svc)))
}

/// Builds a [`Transport`].
pub struct TransportBuilder {
    credentials: Credentials,
    config: TransportConfig,
    outer: Vec<Wrap>,
    attempt: Vec<Wrap>,
    bucket_store: Option<Arc<dyn BucketStore>>,
    operating_store: Option<Arc<dyn OperatingStore>>,
    shared: Option<Arc<dyn SharedState>>,
    retry: bool,
    http: Option<HttpClient>,
}

impl std::fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("credentials", &self.credentials)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TransportBuilder {
    /// Start from credentials with the standard plan's settings.
    pub fn new(credentials: impl Into<Credentials>) -> TransportBuilder {
        TransportBuilder {
            credentials: credentials.into(),
            config: TransportConfig::standard(),
            outer: Vec::new(),
            attempt: Vec::new(),
            bucket_store: None,
            operating_store: None,
            shared: None,
            retry: true,
            http: None,
        }
    }

    /// Replace the settings.
    pub fn config(mut self, config: TransportConfig) -> TransportBuilder {
        self.config = config;
        self
    }

    /// Wrap every call (outermost: sees each call once, retries included inside).
    pub fn layer<L>(mut self, layer: L) -> TransportBuilder
    where
        L: Layer<BoxService> + Send + Sync + 'static,
        L::Service: Service<B24Request, Response = B24Response, Error = Error> + Clone + Send + Sync + 'static,
        <L::Service as Service<B24Request>>::Future: Send + 'static,
    {
        self.outer.push(wrap_with(layer));
        self
    }

    /// Wrap every attempt (inside retry: sees each attempt, with fresh credentials below it).
    pub fn attempt_layer<L>(mut self, layer: L) -> TransportBuilder
    where
        L: Layer<BoxService> + Send + Sync + 'static,
        L::Service: Service<B24Request, Response = B24Response, Error = Error> + Clone + Send + Sync + 'static,
        <L::Service as Service<B24Request>>::Future: Send + 'static,
    {
        self.attempt.push(wrap_with(layer));
        self
    }

    /// Keep the bucket's state in `store` (shared by several processes when it is).
    pub fn bucket_store(mut self, store: Arc<dyn BucketStore>) -> TransportBuilder {
        self.bucket_store = Some(store);
        self
    }

    /// Keep the operating-time state in `store`.
    pub fn operating_store(mut self, store: Arc<dyn OperatingStore>) -> TransportBuilder {
        self.operating_store = Some(store);
        self
    }

    /// Keep the bucket, the operating-time state and (when the store allows) the OAuth tokens
    /// in `shared`, so that several processes pace and refresh as one. Stores set one by one
    /// ([`TransportBuilder::bucket_store`], …) take precedence.
    pub fn shared_state(mut self, shared: Arc<dyn SharedState>) -> TransportBuilder {
        self.shared = Some(shared);
        self
    }

    /// Switch off the retry layer.
    pub fn without_retry(mut self) -> TransportBuilder {
        self.retry = false;
        self
    }

    /// Switch off the rate limiter.
    pub fn without_rate_limit(mut self) -> TransportBuilder {
        self.config.bucket = None;
        self.bucket_store = None;
        self
    }

    /// Switch off the operating-time limiter.
    pub fn without_operating_limit(mut self) -> TransportBuilder {
        self.config.operating = None;
        self.operating_store = None;
        self
    }

    /// Share an HTTP client (its connection pool) with other transports: build it once with
    /// [`HttpClient::new`] or take it from [`Transport::http_client`]. Its TLS and pool
    /// settings are its own; this transport's `tls`, `connect_timeout` and `pool_idle_per_host`
    /// are then not used.
    pub fn http_client(mut self, http: HttpClient) -> TransportBuilder {
        self.http = Some(http);
        self
    }

    /// Build the default stack.
    pub fn build(self) -> Result<Transport, Error> {
        let c = &self.config;
        if !(c.time_scale.is_finite() && c.time_scale > 0.0) {
            return Err(Error::sdk(Code::JssdkInvalidConfig, "time_scale must be a positive number"));
        }
        if c.retry.max_retries > 100 {
            return Err(Error::sdk(Code::JssdkInvalidConfig, "max_retries above 100 is not a retry policy"));
        }
        let http = match self.http.clone() {
            Some(h) => h,
            None => HttpClient::new(c)?,
        };
        let user_agent = HeaderValue::from_str(&c.user_agent)
            .map_err(|_| Error::sdk(Code::JssdkInvalidConfig, "the user agent is not a valid header value"))?;
        let limits = WireLimits {
            max_request_bytes: c.max_request_bytes,
            max_response_bytes: c.max_response_bytes,
            allow_http: c.allow_http,
            user_agent,
        };
        let stats = Arc::new(Stats::default());
        let scope = Scope::of(&self.credentials);
        let shared = self.shared.as_ref();
        let bucket = self.bucket_store.clone().or_else(|| {
            let b = c.bucket?.scaled(c.time_scale);
            Some(match shared {
                Some(s) => s.bucket(&scope, b),
                None => Arc::new(LocalBucket::new(b)) as Arc<dyn BucketStore>,
            })
        });
        let operating = self
            .operating_store
            .clone()
            .or_else(|| {
                let o = c.operating?.scaled(c.time_scale);
                Some(match shared {
                    Some(s) => s.operating(&scope, o),
                    None => Arc::new(LocalOperating::new(o)) as Arc<dyn OperatingStore>,
                })
            })
            .map(|store| OperatingLimiter::new(store, stats.clone(), c.time_scale));
        let mut credentials = self.credentials.clone();
        if let (Some(s), Credentials::OAuth(creds)) = (shared, &mut credentials) {
            if !creds.has_token_store() {
                if let Some(store) = s.tokens(&scope) {
                    **creds = (**creds).clone().token_store(store);
                }
            }
        }
        let (auth, oauth) = match credentials {
            Credentials::Webhook(hook) => (AuthLayer::webhook(hook), None),
            Credentials::OAuth(creds) => {
                let refresher = Arc::new(HttpRefresher { http: http.clone(), allow_http: c.allow_http });
                let state = Arc::new((*creds).into_state(refresher));
                (AuthLayer::oauth(state.clone()), Some(state))
            }
        };
        let retry =
            RetryLayer::new(crate::layers::RetryConfig { time_scale: c.time_scale, ..c.retry.clone() }, stats.clone())
                .refreshing_tokens(oauth.is_some());

        // The default stack, innermost first: one concrete type for the attempt layers (the
        // limiters pass through when off), boxed once.
        let attempt = ServiceBuilder::new()
            .layer(TraceLayer)
            .layer(OperatingLayer::new(operating.clone()))
            .layer(RateLimitLayer::optional(bucket.clone(), stats.clone()))
            .layer(auth)
            .layer(TimeoutLayer::new(c.attempt_timeout))
            .service(Wire::new(http.clone(), limits));
        let mut svc: BoxService = BoxCloneSyncService::new(attempt);
        for wrap in &self.attempt {
            svc = wrap(svc);
        }
        if self.retry {
            svc = BoxCloneSyncService::new(retry.layer(svc));
        }
        if let Some(max) = c.max_concurrent {
            svc = BoxCloneSyncService::new(ConcurrencyCapLayer::new(max).layer(svc));
        }
        for wrap in &self.outer {
            svc = wrap(svc);
        }
        Ok(Transport { service: svc, stats, operating, oauth, http, config: Arc::new(self.config) })
    }
}

/// A built client: cheap to clone, every clone shares the connection pool, the limiters and
/// the token state.
#[derive(Clone)]
pub struct Transport {
    service: BoxService,
    stats: Arc<Stats>,
    operating: Option<OperatingLimiter>,
    oauth: Option<Arc<OAuthState>>,
    http: HttpClient,
    config: Arc<TransportConfig>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Transport {
    /// Send one call through the stack.
    pub async fn call(&self, request: B24Request) -> Result<B24Response, Error> {
        bump(&self.stats.calls);
        self.service.clone().oneshot(request).await
    }

    /// The statistics so far.
    pub fn stats(&self) -> StatsSnapshot {
        let mut snapshot = self.stats.snapshot();
        if let Some(limiter) = &self.operating {
            snapshot.operating = limiter.snapshot();
        }
        if let Some(oauth) = &self.oauth {
            snapshot.refreshes = oauth.refreshes();
        }
        snapshot
    }

    /// The OAuth state, for an OAuth client.
    pub fn oauth(&self) -> Option<&Arc<OAuthState>> {
        self.oauth.as_ref()
    }

    /// Its HTTP client: hand it to [`TransportBuilder::http_client`] so that another transport
    /// (another portal's) shares this one's connection pool.
    pub fn http_client(&self) -> HttpClient {
        self.http.clone()
    }

    /// The settings it was built with.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// The boxed stack itself, to call as a tower service.
    pub fn service(&self) -> BoxService {
        self.service.clone()
    }

    /// Leave to run `method` inside a batch without crossing its operating-time budget (the
    /// stack's own limiter only sees `batch`): waits while the method's budget is spent. Feed
    /// the permit each command's `result_time` ([`OperatingPermit::observe`]) and finish it
    /// with [`OperatingPermit::answered`] or, on `OPERATION_TIME_LIMIT`,
    /// [`OperatingPermit::refused`]. Without an operating limiter the permit tracks nothing.
    pub async fn operating_permit(&self, method: &str) -> Result<OperatingPermit, Error> {
        match &self.operating {
            Some(limiter) => limiter.admit(method).await,
            None => Ok(OperatingPermit::unlimited()),
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.stats.calls.load(Ordering::Relaxed)
    }
}
