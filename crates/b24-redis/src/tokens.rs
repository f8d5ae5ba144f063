//! OAuth tokens on Redis, for several processes of one app: one stored pair, and a refresh lock
//! with an expiry. The OAuth credentials take the lock, re-read the pair, and refresh only if no
//! other process already has, so a single-use refresh token is used once however many
//! processes see the access token expire. A process that dies holding the lock holds it at most
//! for the lock's time limit.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use b24_errors::{Code, Error};
use b24_transport::credentials::{RefreshGuard, TokenSet, TokenStore};
use futures::future::BoxFuture;
use redis::Script;
use tokio::time::Instant;

use crate::conn::Conn;

/// Delete the lock only if this process still owns it.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
});

/// How often a process waiting for another's refresh looks at the lock.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// The shared token pair of one app on one portal (stored as JSON, in clear: see
/// `docs/scaling.md` for when to allow this).
pub struct RedisTokenStore {
    conn: Arc<Conn>,
    keys: Arc<[String; 2]>,
    lock_ttl: Duration,
    owner: String,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenStore").field("key", &self.keys[0]).field("lock_ttl", &self.lock_ttl).finish()
    }
}

impl RedisTokenStore {
    pub(crate) fn new(conn: Arc<Conn>, keys: [String; 2], lock_ttl: Duration) -> RedisTokenStore {
        RedisTokenStore { conn, keys: Arc::new(keys), lock_ttl, owner: crate::process_id() }
    }
}

/// Releases the lock when dropped (in the background; if that fails, the lock expires).
struct LockGuard {
    conn: Arc<Conn>,
    keys: Arc<[String; 2]>,
    token: String,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (conn, keys, token) = (self.conn.clone(), self.keys.clone(), std::mem::take(&mut self.token));
        runtime.spawn(async move {
            if let Err(e) = conn.run::<i64>(UNLOCK.key(&keys[1]).arg(&token)).await {
                tracing::debug!(target: "b24::redis", code = %e.code(), "tokens: the refresh lock expires instead");
            }
        });
    }
}

impl TokenStore for RedisTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        Box::pin(async move {
            let raw: Option<Vec<u8>> = self.conn.cmd(redis::cmd("GET").arg(&self.keys[0])).await?;
            raw.map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|_| {
                    Error::sdk(Code::JssdkStoreUnavailable, "the token pair stored in Redis is not a b24 token set")
                })
            })
            .transpose()
        })
    }

    fn save(&self, tokens: TokenSet) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let json = serde_json::to_vec(&tokens).map_err(|e| {
                Error::sdk_caused(Code::JssdkStoreUnavailable, "the token pair could not be encoded", e)
            })?;
            let _: () = self.conn.cmd(redis::cmd("SET").arg(&self.keys[0]).arg(json)).await?;
            Ok(())
        })
    }

    fn lock_refresh(&self) -> BoxFuture<'_, Result<RefreshGuard, Error>> {
        Box::pin(async move {
            let token = format!("{}:{}", self.owner, fastrand::u64(..));
            let ttl = u64::try_from(self.lock_ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            // The holder finishes, or its lock expires, within one ttl; waiting much longer
            // means the lock keeps being taken by others, or Redis misbehaves.
            let give_up = Instant::now() + self.lock_ttl * 3;
            loop {
                let set: Option<String> = self
                    .conn
                    .cmd(redis::cmd("SET").arg(&self.keys[1]).arg(&token).arg("NX").arg("PX").arg(ttl))
                    .await?;
                if set.is_some() {
                    return Ok(
                        Box::new(LockGuard { conn: self.conn.clone(), keys: self.keys.clone(), token }) as RefreshGuard
                    );
                }
                if Instant::now() >= give_up {
                    return Err(Error::sdk(
                        Code::JssdkStoreUnavailable,
                        format!("the token refresh lock in Redis stayed taken for {:?}", self.lock_ttl * 3),
                    ));
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
        })
    }
}
