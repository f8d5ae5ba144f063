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
    store: Arc<dyn BucketStore>,
    stats: Arc<Stats>,
}

impl RateLimitLayer {
    /// Pace through `store`, counting waits in `stats`.
    pub fn new(store: Arc<dyn BucketStore>, stats: Arc<Stats>) -> RateLimitLayer {
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
    store: Arc<dyn BucketStore>,
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
        let store = self.store.clone();
        let stats = self.stats.clone();
        Box::pin(async move {
            let wait = store.reserve().await?;
            if !wait.is_zero() {
                add_wait(&stats.rate_waits, &stats.rate_wait_micros, wait);
                tokio::time::sleep(wait).await;
            }
            let result = inner.call(request).await;
            match &result {
                Err(e) if e.code() == Code::QueryLimitExceeded => store.on_refused(),
                _ => store.on_success(),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limiter::{BucketConfig, LocalBucket};
    use crate::testing::{MockService, ok_response, request};
    use std::time::Duration;
    use tokio::time::Instant;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn paces_a_burst_to_the_drain_rate() {
        let mock = MockService::new(|_req, _n| async { Ok(ok_response()) });
        let stats = Arc::new(Stats::default());
        let layer = RateLimitLayer::new(Arc::new(LocalBucket::new(BucketConfig::STANDARD)), stats.clone());
        let svc = layer.layer(mock.clone());
        let start = Instant::now();
        let calls = (0..58).map(|_| svc.clone().oneshot(request("server.time")));
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(start.elapsed(), Duration::from_secs(5), "48 at once, then 10 at 2 per second");
        assert_eq!(stats.snapshot().rate_waits, 10);
    }
}
