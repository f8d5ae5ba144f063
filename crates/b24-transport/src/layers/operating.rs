//! The operating-time limiter as a layer: before a call, an [`OperatingPermit`] for its method
//! (waiting while the method's budget is spent); after it, the permit learns the answer's
//! `time.operating` / `operating_reset_at`, or the `OPERATION_TIME_LIMIT` refusal. A method near
//! its budget slows down and waits for the oldest basket; other methods never wait. The
//! decisions live in [`OperatingLimiter`] and its store.
//!
//! [`OperatingPermit`]: crate::limiter::OperatingPermit

use std::task::{Context, Poll};

use b24_errors::{Code, Error};
use tower::{Layer, Service};

use super::{CallFuture, Inner, take};
use crate::B24Request;
use crate::limiter::OperatingLimiter;

/// Holds methods back before they cross their operating-time budget.
#[derive(Clone, Debug)]
pub struct OperatingLayer {
    limiter: Option<OperatingLimiter>,
}

impl OperatingLayer {
    /// Hold methods back with `limiter`; pass through when there is none.
    pub fn new(limiter: Option<OperatingLimiter>) -> OperatingLayer {
        OperatingLayer { limiter }
    }
}

impl<S> Layer<S> for OperatingLayer {
    type Service = Operating<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Operating { inner, limiter: self.limiter.clone() }
    }
}

/// The service of [`OperatingLayer`].
#[derive(Clone, Debug)]
pub struct Operating<S> {
    inner: S,
    limiter: Option<OperatingLimiter>,
}

impl<S: Inner> Service<B24Request> for Operating<S> {
    type Response = crate::B24Response;
    type Error = Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let mut inner = take(&mut self.inner);
        let Some(limiter) = self.limiter.clone() else { return Box::pin(inner.call(request)) };
        Box::pin(async move {
            let permit = limiter.admit(request.method()).await?;
            let result = inner.call(request).await;
            match &result {
                Ok(response) => permit.answered(response.time()),
                Err(e) if e.code() == Code::OperationTimeLimit => permit.refused(),
                Err(_) => permit.answered(None),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::limiter::{LocalOperating, OperatingConfig, OperatingStore};
    use crate::stats::Stats;
    use crate::testing::{MockService, portal_error, request, response_with_time};
    use tokio::time::Instant;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_reset_after_the_budget_is_spent() {
        // Every answer says the method is at 479 of 480 s, the oldest basket freeing in 30 s.
        let mock = MockService::new(|_req, _n| async {
            Ok(response_with_time(
                r#"{"start":1000,"finish":1000.5,"processing":0.5,"operating":479.7,"operating_reset_at":1030.5}"#,
            ))
        });
        let stats = Arc::new(Stats::default());
        let store = Arc::new(LocalOperating::new(OperatingConfig::default()));
        let svc = OperatingLayer::new(Some(OperatingLimiter::new(store, stats.clone(), 1.0))).layer(mock);
        let start = Instant::now();
        svc.clone().oneshot(request("crm.deal.list")).await.expect("first");
        assert_eq!(start.elapsed(), Duration::ZERO);
        svc.clone().oneshot(request("server.time")).await.expect("other method");
        assert_eq!(start.elapsed(), Duration::ZERO, "other methods never wait");
        svc.clone().oneshot(request("crm.deal.list")).await.expect("second");
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        assert_eq!(stats.snapshot().operating_waits, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn under_a_time_scale_the_portal_reports_real_seconds() {
        // Scale 0.1: 47.97 real seconds of operating are 479.7 of the portal's 480; the oldest
        // basket frees 3 real seconds after the answer.
        let mock = MockService::new(|_req, _n| async {
            Ok(response_with_time(
                r#"{"start":1000,"finish":1000.05,"processing":0.05,"operating":47.97,"operating_reset_at":1003.05}"#,
            ))
        });
        let store = Arc::new(LocalOperating::new(OperatingConfig::default().scaled(0.1)));
        let limiter = OperatingLimiter::new(store.clone(), Arc::new(Stats::default()), 0.1);
        let svc = OperatingLayer::new(Some(limiter)).layer(mock);
        let start = Instant::now();
        svc.clone().oneshot(request("crm.deal.list")).await.expect("first");
        assert!((store.snapshot()[0].1 - 479.7).abs() < 1e-9, "operating in portal seconds");
        svc.clone().oneshot(request("crm.deal.list")).await.expect("second");
        assert_eq!(start.elapsed(), Duration::from_secs(3), "waited for the reset, real seconds");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_the_method() {
        let mock = MockService::new(|_req, n| async move {
            if n == 0 { Err(portal_error("OPERATION_TIME_LIMIT", 429)) } else { Ok(crate::testing::ok_response()) }
        });
        let store = Arc::new(LocalOperating::new(OperatingConfig::default().scaled(0.1)));
        let svc = OperatingLayer::new(Some(OperatingLimiter::new(store, Arc::new(Stats::default()), 0.1))).layer(mock);
        let start = Instant::now();
        assert!(svc.clone().oneshot(request("m")).await.is_err());
        svc.clone().oneshot(request("m")).await.expect("after the block");
        assert_eq!(start.elapsed(), Duration::from_secs(6), "one basket, scaled");
    }
}
