//! At most N calls in flight (the JS SDK's `restrictionParams.maxConcurrent`); the others wait in
//! order for a permit.

use std::sync::Arc;
use std::task::{Context, Poll};

use b24_errors::{Code, Error};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use super::{CallFuture, Inner, take};
use crate::B24Request;

/// Caps calls in flight.
#[derive(Debug, Clone)]
pub struct ConcurrencyCapLayer {
    permits: Arc<Semaphore>,
}

impl ConcurrencyCapLayer {
    /// At most `max` calls at once (`max` of 0 is treated as 1).
    pub fn new(max: usize) -> ConcurrencyCapLayer {
        ConcurrencyCapLayer { permits: Arc::new(Semaphore::new(max.max(1))) }
    }
}

impl<S> Layer<S> for ConcurrencyCapLayer {
    type Service = ConcurrencyCap<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyCap { inner, permits: self.permits.clone() }
    }
}

/// The service of [`ConcurrencyCapLayer`].
#[derive(Debug, Clone)]
pub struct ConcurrencyCap<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S: Inner> Service<B24Request> for ConcurrencyCap<S> {
    type Response = crate::B24Response;
    type Error = Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let mut inner = take(&mut self.inner);
        let permits = self.permits.clone();
        Box::pin(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .map_err(|_| Error::sdk(Code::JssdkUnknownError, "the concurrency cap was closed"))?;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MockService, ok_response};
    use std::time::Duration;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_cap() {
        let mock = MockService::new(|_req, _n| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(ok_response())
        });
        let svc = ConcurrencyCapLayer::new(3).layer(mock.clone());
        let calls = (0..20).map(|_| svc.clone().oneshot(crate::testing::request("server.time")));
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(mock.max_in_flight(), 3);
    }
}
