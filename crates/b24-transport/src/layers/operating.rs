//! The operating-time limiter: before a call, ask the [`OperatingStore`] whether its method may
//! go; after it, report the `time.operating` / `operating_reset_at` the portal sent. A method
//! near its budget slows down and waits for the oldest basket; other methods never wait.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use b24_errors::{Code, Error};
use tower::{Layer, Service};

use super::{CallFuture, Inner, take};
use crate::B24Request;
use crate::limiter::{Admission, OperatingReport, OperatingStore};
use crate::response::Time;
use crate::stats::{Stats, add_wait};

/// Holds methods back before they cross their operating-time budget.
#[derive(Clone)]
pub struct OperatingLayer {
    store: Option<Arc<dyn OperatingStore>>,
    stats: Arc<Stats>,
    time_scale: f64,
}

impl OperatingLayer {
    /// Track methods in `store`; `time_scale` converts the portal's seconds to real ones.
    pub fn new(store: Arc<dyn OperatingStore>, stats: Arc<Stats>, time_scale: f64) -> OperatingLayer {
        OperatingLayer { store: Some(store), stats, time_scale }
    }

    /// Track methods when there is a store; pass through otherwise.
    pub fn optional(store: Option<Arc<dyn OperatingStore>>, stats: Arc<Stats>, time_scale: f64) -> OperatingLayer {
        OperatingLayer { store, stats, time_scale }
    }
}

impl<S> Layer<S> for OperatingLayer {
    type Service = Operating<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Operating { inner, store: self.store.clone(), stats: self.stats.clone(), time_scale: self.time_scale }
    }
}

/// The service of [`OperatingLayer`].
#[derive(Clone)]
pub struct Operating<S> {
    inner: S,
    store: Option<Arc<dyn OperatingStore>>,
    stats: Arc<Stats>,
    time_scale: f64,
}

/// What a `time` block says: `reset_in` in real time (read relative to the same answer's
/// `finish`, so the portal's clock and ours need not agree), `operating` and `processing` in
/// portal seconds. The portal reports real seconds (under a time scale too, spec section 9), so
/// the two are divided by the scale to compare them with the portal's limits.
pub(crate) fn report(time: &Time, time_scale: f64) -> Option<OperatingReport> {
    let scale = if time_scale > 0.0 { time_scale } else { 1.0 };
    let operating = time.operating? / scale;
    let reset_in = match (time.operating_reset_at, time.finish.or(time.start)) {
        (Some(reset), Some(now)) => Some(Duration::from_secs_f64((reset - now).max(0.0))),
        _ => None,
    };
    Some(OperatingReport { operating, reset_in, processing: time.processing.map(|p| p / scale) })
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
        let Some(store) = self.store.clone() else { return Box::pin(inner.call(request)) };
        let stats = self.stats.clone();
        let scale = self.time_scale;
        Box::pin(async move {
            let method = request.method().to_ascii_lowercase();
            loop {
                match store.admit(&method).await? {
                    Admission::Go => break,
                    Admission::Wait(wait) => {
                        add_wait(&stats.operating_waits, &stats.operating_wait_micros, wait);
                        tokio::time::sleep(wait).await;
                    }
                }
            }
            let result = inner.call(request).await;
            let reported = result.as_ref().ok().and_then(|r| r.time()).and_then(|t| report(t, scale));
            store.finish(&method, reported);
            if let Err(e) = &result {
                if e.code() == Code::OperationTimeLimit {
                    store.on_blocked(&method);
                }
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limiter::{LocalOperating, OperatingConfig};
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
        let svc = OperatingLayer::new(store, stats.clone(), 1.0).layer(mock);
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
        let svc = OperatingLayer::new(store.clone(), Arc::new(Stats::default()), 0.1).layer(mock);
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
        let svc = OperatingLayer::new(store, Arc::new(Stats::default()), 0.1).layer(mock);
        let start = Instant::now();
        assert!(svc.clone().oneshot(request("m")).await.is_err());
        svc.clone().oneshot(request("m")).await.expect("after the block");
        assert_eq!(start.elapsed(), Duration::from_secs(6), "one basket, scaled");
    }
}
