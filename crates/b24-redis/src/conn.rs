//! The connection every store shares: a lazily connected, self-reconnecting
//! [`ConnectionManager`], a time limit on each command, the mapping of Redis failures to
//! `JSSDK_STORE_UNAVAILABLE`, and the fallback switch (with its warning logged once).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use b24_errors::{Code, Error};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, ScriptInvocation};
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// What a store does while Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// Fail the call with `JSSDK_STORE_UNAVAILABLE` (the default: never a silent overrun).
    #[default]
    Error,
    /// Limit in this process alone until Redis answers again, with a warning logged once per
    /// outage. Several processes falling back at once may together exceed the portal's limits
    /// (the portal then refuses, and the retry layer waits). OAuth refreshes never fall back.
    Local,
}

/// The shared connection and its failure policy.
pub(crate) struct Conn {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    timeout: Duration,
    fallback: Fallback,
    /// While set and in the future, stores skip Redis and use their in-process state.
    down_until: Mutex<Option<Instant>>,
    /// Between a failure and the next success: the warning has been logged.
    warned: AtomicBool,
    failures: AtomicU64,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's connection info may hold a password: never printed.
        f.debug_struct("Conn").field("timeout", &self.timeout).field("fallback", &self.fallback).finish_non_exhaustive()
    }
}

/// How long a store keeps using its fallback before trying Redis again.
const RETRY_REDIS_AFTER: Duration = Duration::from_millis(500);

impl Conn {
    pub(crate) fn new(client: redis::Client, timeout: Duration, fallback: Fallback) -> Conn {
        Conn {
            client,
            manager: OnceCell::new(),
            timeout,
            fallback,
            down_until: Mutex::new(None),
            warned: AtomicBool::new(false),
            failures: AtomicU64::new(0),
        }
    }

    pub(crate) fn fallback(&self) -> Fallback {
        self.fallback
    }

    async fn manager(&self) -> Result<ConnectionManager, Error> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        self.manager
            .get_or_try_init(|| async { ConnectionManager::new_lazy_with_config(self.client.clone(), config) })
            .await
            .cloned()
            .map_err(|e| unavailable("the Redis client could not be set up", e))
    }

    /// Run a script; any failure (refused connection, timeout, script error) is
    /// `JSSDK_STORE_UNAVAILABLE`.
    pub(crate) async fn run<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> Result<T, Error> {
        let mut manager = self.manager().await?;
        self.guarded(invocation.invoke_async(&mut manager)).await
    }

    /// Run a plain command, with the same failure mapping.
    pub(crate) async fn cmd<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        let mut manager = self.manager().await?;
        self.guarded(cmd.query_async(&mut manager)).await
    }

    async fn guarded<T>(&self, operation: impl Future<Output = redis::RedisResult<T>>) -> Result<T, Error> {
        let result = match tokio::time::timeout(self.timeout, operation).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable("the shared store (Redis) failed", e)),
            Err(_) => Err(Error::sdk(
                Code::JssdkStoreUnavailable,
                format!("the shared store (Redis) did not answer within {:?}", self.timeout),
            )),
        };
        match &result {
            Ok(_) => self.recovered(),
            Err(e) => self.failed(e),
        }
        result
    }

    /// True while stores should use their in-process fallback without asking Redis.
    pub(crate) fn in_fallback(&self) -> bool {
        if self.fallback != Fallback::Local {
            return false;
        }
        let mut down = self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *down {
            Some(until) if until > Instant::now() => true,
            Some(_) => {
                *down = None;
                false
            }
            None => false,
        }
    }

    fn failed(&self, error: &Error) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.fallback != Fallback::Local {
            return;
        }
        *self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Instant::now() + RETRY_REDIS_AFTER);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "b24::redis",
                code = %error.code(),
                "the shared store (Redis) is unreachable: limiting in this process alone until it answers again ({error})"
            );
        }
    }

    fn recovered(&self) {
        if self.warned.swap(false, Ordering::Relaxed) {
            tracing::info!(target: "b24::redis", "the shared store (Redis) answers again");
        }
    }

    /// Failed store operations so far.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

pub(crate) fn unavailable(what: &str, e: redis::RedisError) -> Error {
    Error::sdk_caused(Code::JssdkStoreUnavailable, format!("{what}: {}", e.category()), e)
}
