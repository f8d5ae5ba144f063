//! The client-side leaky bucket: each attempt reserves a slot in the [`BucketStore`] and waits
//! for it; a `QUERY_LIMIT_EXCEEDED` tells the store the portal's bucket is full.

use std::sync::Arc;
use std::task::{Context, Poll};

use b24_errors::{Code, Error};
use tower::{Layer, Service};

use super::{CallFuture, Inner, take};
use crate::B24Request;
use crate::limiter::BucketStore;
use crate::stats::{Stats, add_wait};

/// Paces attempts through a shared bucket.
#[derive(Clone)]
pub struct RateLimitLayer {
    store: Option<Arc<dyn BucketStore>>,
    stats: Arc<Stats>,
}

impl RateLimitLayer {
    /// Pace through `store`, counting waits in `stats`.
    pub fn new(store: Arc<dyn BucketStore>, stats: Arc<Stats>) -> RateLimitLayer {
        RateLimitLayer { store: Some(store), stats }
    }

    /// Pace through `store` when there is one; pass through otherwise (keeps the stack's type
    /// the same whether or not the limiter is on).
    pub fn optional(store: Option<Arc<dyn BucketStore>>, stats: Arc<Stats>) -> RateLimitLayer {
        RateLimitLayer { store, stats }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit { inner, store: self.store.clone(), stats: self.stats.clone() }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    store: Option<Arc<dyn BucketStore>>,
    stats: Arc<Stats>,
}

impl<S: Inner> Service<B24Request> for RateLimit<S> {
    type Response = crate::B24Response;
    type Error = Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let mut inner = take(&mut self.inner);
        let Some(store) = self.store.clone() else { return Box::pin(inner.call(request)) };
        let stats = self.stats.clone();
        Box::pin(async move {
            let waited = store.acquire().await?;
            if !waited.is_zero() {
                add_wait(&stats.rate_waits, &stats.rate_wait_micros, waited);
            }
            // Counted as in flight until answered, also when this future is dropped.
            let mut slot = Slot { store: &*store, done: false };
            let result = inner.call(request).await;
            slot.done = true;
            store.on_answer(matches!(&result, Err(e) if e.code() == Code::QueryLimitExceeded));
            result
        })
    }
}

/// Gives the slot back if the call is abandoned mid-flight.
struct Slot<'a> {
    store: &'a dyn BucketStore,
    done: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.store.on_answer(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limiter::{BucketConfig, LocalBucket};
    use crate::testing::{MockService, ok_response, request};
    use tokio::time::Instant;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn paces_a_burst_to_the_drain_rate() {
        let mock = MockService::new(|_req, _n| async { Ok(ok_response()) });
        let stats = Arc::new(Stats::default());
        let bucket = Arc::new(LocalBucket::new(BucketConfig::STANDARD));
        let layer = RateLimitLayer::new(bucket.clone(), stats.clone());
        let svc = layer.layer(mock.clone());
        let start = Instant::now();
        let calls = (0..58).map(|_| svc.clone().oneshot(request("server.time")));
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(5), "48 at once, then 10 at 2 per second");
        assert_eq!(stats.snapshot().rate_waits, 10);
        assert_eq!(bucket.in_flight(), 0, "every slot was given back");
    }
}
