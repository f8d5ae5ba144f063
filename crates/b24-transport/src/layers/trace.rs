//! Tracing: one span per attempt naming the method, the request id and the API — never the URL
//! or a credential (params are not logged; the URL is built below this layer).

use std::task::{Context, Poll};

use b24_errors::Error;
use tower::{Layer, Service};
use tracing::Instrument;

use super::{CallFuture, Inner, take};
use crate::B24Request;

/// Adds a `b24.attempt` span and outcome events.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace { inner }
    }
}

/// The service of [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
}

impl<S: Inner> Service<B24Request> for Trace<S> {
    type Response = crate::B24Response;
    type Error = Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let mut inner = take(&mut self.inner);
        let span = tracing::debug_span!(
            target: "b24::call",
            "b24.attempt",
            method = request.method(),
            request_id = request.request_id().as_str(),
            api = %request.api(),
        );
        Box::pin(
            async move {
                tracing::trace!(target: "b24::call", "sending");
                let started = tokio::time::Instant::now();
                let result = inner.call(request).await;
                let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
                match &result {
                    Ok(r) => tracing::debug!(target: "b24::call", status = r.status(), elapsed_ms, "answered"),
                    Err(e) => tracing::debug!(
                        target: "b24::call",
                        code = %e.code(),
                        status = e.status(),
                        elapsed_ms,
                        "failed: {}",
                        e.message()
                    ),
                }
                result
            }
            .instrument(span),
        )
    }
}
