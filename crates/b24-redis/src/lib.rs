//! # b24-redis
//!
//! Several processes, one portal: the state of b24's limiters and OAuth tokens on Redis, so
//! that workers on one host share the portal's per-IP request bucket, workers anywhere share an
//! app's operating-time budget, and an OAuth app's single-use refresh token is used by exactly
//! one process when the access token expires.
//!
//! [`RedisShared`] implements the transport's [`SharedState`]; hand it to a client builder and
//! every store is built with the client's own limits, under keys namespaced by portal, app and
//! (for the bucket) this host. Every bucket and operating decision is one server-side script.
//! When Redis cannot be reached, calls fail with `JSSDK_STORE_UNAVAILABLE`, or, if you opt in
//! with [`Fallback::Local`], the limiters work in this process alone and a warning is logged
//! once. Tokens are written to Redis only if you allow it ([`RedisOptions::share_tokens`]).
//! See `docs/scaling.md`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use b24_redis::{Fallback, RedisOptions, RedisShared};
//! use b24_transport::{B24Request, TransportBuilder, credentials::Webhook};
//!
//! # async fn run() -> Result<(), b24_errors::Error> {
//! let shared = RedisShared::open("redis://127.0.0.1:6379/", RedisOptions::default().fallback(Fallback::Local))?;
//! let hook = Webhook::parse("https://example.bitrix24.com/rest/1/fakesecret123/", false)?;
//! let transport = TransportBuilder::new(hook).shared_state(Arc::new(shared)).build()?;
//! transport.call(B24Request::v2("server.time", &serde_json::json!({}))?).await?;
//! # Ok(())
//! # }
//! ```

mod bucket;
mod conn;
mod keys;
mod operating;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use b24_errors::{Code, Error};
use b24_transport::credentials::TokenStore;
use b24_transport::limiter::{BucketConfig, BucketStore, OperatingConfig, OperatingStore};
use b24_transport::shared::{Scope, SharedState};

pub use bucket::RedisBucket;
pub use conn::Fallback;
pub use operating::RedisOperating;
pub use tokens::RedisTokenStore;

/// How the shared state behaves.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    prefix: String,
    source: Option<String>,
    fallback: Fallback,
    timeout: Duration,
    in_flight_ttl: Duration,
    share_tokens: bool,
    lock_ttl: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "b24".to_owned(),
            source: None,
            fallback: Fallback::Error,
            timeout: Duration::from_millis(500),
            in_flight_ttl: Duration::from_secs(120),
            share_tokens: false,
            lock_ttl: Duration::from_secs(15),
        }
    }
}

impl RedisOptions {
    /// The first part of every key (default `b24`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisOptions {
        self.prefix = prefix.into();
        self
    }

    /// The name of the source address the portal sees this process's requests from (default:
    /// this host's name). Processes behind one NAT address should share it.
    pub fn source(mut self, source: impl Into<String>) -> RedisOptions {
        self.source = Some(source.into());
        self
    }

    /// What to do while Redis cannot be reached (default [`Fallback::Error`]).
    pub fn fallback(mut self, fallback: Fallback) -> RedisOptions {
        self.fallback = fallback;
        self
    }

    /// The longest a Redis command may take before it counts as a failure (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> RedisOptions {
        self.timeout = timeout;
        self
    }

    /// How long a request counts as in flight if its process never reports the answer (it
    /// died): at least the longest a request can take (default 120 s).
    pub fn in_flight_ttl(mut self, ttl: Duration) -> RedisOptions {
        self.in_flight_ttl = ttl;
        self
    }

    /// Store OAuth token pairs in Redis, in clear, so that processes share one rotating
    /// refresh token (default: off; tokens stay in each process). Allow this only for a Redis
    /// you would trust with the tokens themselves (authenticated, not shared, TLS across hosts).
    pub fn share_tokens(mut self, allow: bool) -> RedisOptions {
        self.share_tokens = allow;
        self
    }

    /// How long a refresh lock survives a process that dies holding it (default 15 s; longer
    /// than a token refresh takes).
    pub fn lock_ttl(mut self, ttl: Duration) -> RedisOptions {
        self.lock_ttl = ttl;
        self
    }
}

/// Limiter and token state on one Redis server, shared by every client built with it (and
/// every process using the same server and prefix).
#[derive(Clone)]
pub struct RedisShared {
    conn: Arc<conn::Conn>,
    options: Arc<RedisOptions>,
    source: Arc<str>,
}

impl std::fmt::Debug for RedisShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: it is not kept here, and not printed.
        f.debug_struct("RedisShared").field("options", &self.options).field("source", &self.source).finish()
    }
}

impl RedisShared {
    /// State on the Redis server at `url` (`redis://[user:password@]host:port/db`). Nothing
    /// connects until the first call; a bad URL is `JSSDK_INVALID_CONFIG`.
    pub fn open(url: &str, options: RedisOptions) -> Result<RedisShared, Error> {
        let client = redis::Client::open(url).map_err(|e| {
            Error::sdk(Code::JssdkInvalidConfig, format!("the Redis URL is not valid: {}", e.category()))
        })?;
        let source = options.source.clone().unwrap_or_else(keys::this_host);
        let conn = Arc::new(conn::Conn::new(client, options.timeout, options.fallback));
        Ok(RedisShared { conn, options: Arc::new(options), source: Arc::from(source) })
    }

    /// The bucket of `scope`'s portal, as seen from this host.
    pub fn bucket_store(&self, scope: &Scope, config: BucketConfig) -> Arc<RedisBucket> {
        let keys = keys::bucket(&self.options.prefix, scope, &self.source);
        Arc::new(RedisBucket::new(self.conn.clone(), keys, config, self.options.in_flight_ttl))
    }

    /// The operating-time state of `scope`'s app.
    pub fn operating_store(&self, scope: &Scope, config: OperatingConfig) -> Arc<RedisOperating> {
        let base = keys::operating_base(&self.options.prefix, scope);
        Arc::new(RedisOperating::new(self.conn.clone(), base, config, self.options.in_flight_ttl))
    }

    /// The token pair of `scope`'s app (whether or not [`RedisOptions::share_tokens`] is on:
    /// calling this is allowing it).
    pub fn token_store(&self, scope: &Scope) -> Arc<RedisTokenStore> {
        let keys = keys::tokens(&self.options.prefix, scope);
        Arc::new(RedisTokenStore::new(self.conn.clone(), keys, self.options.lock_ttl))
    }

    /// Redis commands that failed so far (each one an error or a fallback decision).
    pub fn failures(&self) -> u64 {
        self.conn.failures()
    }
}

impl SharedState for RedisShared {
    fn bucket(&self, scope: &Scope, config: BucketConfig) -> Arc<dyn BucketStore> {
        self.bucket_store(scope, config)
    }

    fn operating(&self, scope: &Scope, config: OperatingConfig) -> Arc<dyn OperatingStore> {
        self.operating_store(scope, config)
    }

    fn tokens(&self, scope: &Scope) -> Option<Arc<dyn TokenStore>> {
        self.options.share_tokens.then(|| self.token_store(scope) as Arc<dyn TokenStore>)
    }
}

/// An id for this process's members in Redis: unique across processes and restarts.
fn process_id() -> String {
    format!("{}-{:08x}", std::process::id(), fastrand::u32(..))
}
