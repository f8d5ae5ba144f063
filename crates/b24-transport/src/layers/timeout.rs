//! Bounds each attempt: past the limit the attempt fails with `JSSDK_TIMEOUT` (the portal may
//! still have processed it, so the retry layer treats it as ambiguous).

use std::task::{Context, Poll};
use std::time::Duration;

use b24_errors::{Code, Error, PortalFailure};
use tower::{Layer, Service};

use super::{CallFuture, Inner, take};
use crate::B24Request;

/// Per-attempt timeout.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    limit: Duration,
}

impl TimeoutLayer {
    /// Attempts longer than `limit` fail.
    pub fn new(limit: Duration) -> TimeoutLayer {
        TimeoutLayer { limit }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout { inner, limit: self.limit }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S: Inner> Service<B24Request> for Timeout<S> {
    type Response = crate::B24Response;
    type Error = Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let mut inner = take(&mut self.inner);
        let limit = self.limit;
        // A clone of the request is one reference count (credentials left out: the error never
        // needs them); what the error says about it is only worked out if the attempt times out.
        let mut shared = request.clone();
        shared.auth = None;
        Box::pin(async move {
            match tokio::time::timeout(limit, inner.call(request)).await {
                Ok(result) => result,
                Err(_) => {
                    let message = format!("{} did not answer within {limit:?}", shared.method());
                    Err(Error::portal(PortalFailure::new(Code::JssdkTimeout.into(), 504, message, shared.info())))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MockService, ok_response, request};
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn slow_attempts_time_out() {
        let mock = MockService::new(|_req, _n| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(ok_response())
        });
        let e = TimeoutLayer::new(Duration::from_secs(1))
            .layer(mock)
            .oneshot(request("server.time"))
            .await
            .expect_err("timeout");
        assert_eq!(e.code(), Code::JssdkTimeout);
        assert!(e.is_ambiguous());
        assert_eq!(e.request().map(|r| r.method()), Some("server.time"));
    }
}
