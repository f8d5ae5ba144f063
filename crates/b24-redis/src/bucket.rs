//! The request-rate bucket on Redis: the same provable bound as the in-process
//! [`LocalBucket`] (requests in flight count in full until answered, answered ones drain at the
//! portal's rate), kept for every process on one host in one hash and one sorted set, and
//! decided by one server-side script per slot, so that no two processes read the same level.
//!
//! A request in flight is a member of the sorted set scored by its expiry: a process that dies
//! with requests in flight stops holding their slots after the in-flight time limit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use b24_errors::Error;
use b24_transport::limiter::{BucketConfig, BucketStore, LocalBucket};
use futures::future::BoxFuture;
use redis::Script;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::conn::{Conn, Fallback};

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/bucket_acquire.lua")));
static ANSWER: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/bucket_answer.lua")));

/// A slot this process holds.
#[derive(Debug)]
enum Held {
    /// Counted in Redis under this member.
    Shared(String),
    /// Counted by the in-process fallback.
    Local,
}

/// The shared bucket of one portal as seen from one host.
pub struct RedisBucket {
    conn: Arc<Conn>,
    keys: Arc<[String; 2]>,
    config: BucketConfig,
    owner: String,
    next: AtomicU64,
    held: Mutex<VecDeque<Held>>,
    fallback: LocalBucket,
    gate: tokio::sync::Mutex<()>,
    answers: Notify,
    in_flight_ttl: Duration,
    idle_ttl: Duration,
}

impl std::fmt::Debug for RedisBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBucket").field("key", &self.keys[0]).field("config", &self.config).finish_non_exhaustive()
    }
}

impl RedisBucket {
    pub(crate) fn new(
        conn: Arc<Conn>,
        keys: [String; 2],
        config: BucketConfig,
        in_flight_ttl: Duration,
    ) -> RedisBucket {
        RedisBucket {
            conn,
            keys: Arc::new(keys),
            config,
            owner: crate::process_id(),
            next: AtomicU64::new(0),
            held: Mutex::new(VecDeque::new()),
            fallback: LocalBucket::new(config),
            gate: tokio::sync::Mutex::new(()),
            answers: Notify::new(),
            in_flight_ttl,
            // The level is back to zero long before this; a forgotten bucket goes away.
            idle_ttl: Duration::from_secs_f64((config.ceiling() / config.rate()).max(1.0) * 4.0 + 60.0),
        }
    }

    fn rate_per_ms(&self) -> f64 {
        self.config.rate() / 1000.0
    }

    fn hold(&self, held: Held) {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push_back(held);
    }

    /// Try to take a shared slot: `Ok(None)` when taken, else how long to wait.
    async fn try_take(&self) -> Result<Option<Duration>, Error> {
        let member = format!("{}:{}", self.owner, self.next.fetch_add(1, Ordering::Relaxed));
        let answer: i64 = self
            .conn
            .run(
                ACQUIRE
                    .key(&self.keys[0])
                    .key(&self.keys[1])
                    .arg(self.config.ceiling())
                    .arg(self.rate_per_ms())
                    .arg(&member)
                    .arg(millis(self.in_flight_ttl))
                    .arg(millis(self.idle_ttl)),
            )
            .await?;
        Ok(match answer {
            0 => {
                self.hold(Held::Shared(member));
                None
            }
            ms if ms > 0 => Some(Duration::from_millis(ms.unsigned_abs())),
            // Too much in flight (here or in another process): poll at about the drain
            // interval, and at once when one of ours is answered.
            _ => Some(Duration::from_secs_f64((1.0 / self.config.rate()).clamp(0.002, 0.05))),
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl BucketStore for RedisBucket {
    fn acquire(&self) -> BoxFuture<'_, Result<Duration, Error>> {
        Box::pin(async move {
            // One waiter per process asks Redis at a time; the others queue in order here.
            let _turn = self.gate.lock().await;
            let started = Instant::now();
            let mut waited = false;
            let waited_for = |waited: bool| if waited { started.elapsed() } else { Duration::ZERO };
            loop {
                if self.conn.in_fallback() {
                    let wait = self.fallback.acquire().await?;
                    self.hold(Held::Local);
                    return Ok(waited_for(waited || !wait.is_zero()));
                }
                match self.try_take().await {
                    Ok(None) => return Ok(waited_for(waited)),
                    Ok(Some(wait)) => {
                        waited = true;
                        let _ = tokio::time::timeout(wait, self.answers.notified()).await;
                    }
                    Err(e) if self.conn.fallback() == Fallback::Local => {
                        tracing::debug!(target: "b24::redis", code = %e.code(), "bucket: using the in-process fallback");
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }

    fn on_answer(&self, refused: bool) {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
        match held {
            Some(Held::Local) => self.fallback.on_answer(refused),
            Some(Held::Shared(member)) => {
                // Until this lands, the request still counts as in flight: later is safe.
                let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
                let (conn, keys) = (self.conn.clone(), self.keys.clone());
                let (ceiling, rate, idle) = (self.config.ceiling(), self.rate_per_ms(), millis(self.idle_ttl));
                runtime.spawn(async move {
                    let mut answer = ANSWER.key(&keys[0]);
                    answer.key(&keys[1]).arg(ceiling).arg(rate).arg(&member).arg(u8::from(refused)).arg(idle);
                    if let Err(e) = conn.run::<i64>(&answer).await {
                        tracing::debug!(target: "b24::redis", code = %e.code(), "bucket: an answer was not recorded; its slot expires");
                    }
                });
            }
            None => {}
        }
        self.answers.notify_one();
    }
}
