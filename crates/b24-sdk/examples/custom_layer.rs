//! Plug your own tower layer into the client: here, a metrics counter that sees every call
//! (outermost) and every HTTP attempt (inside retry).
//!
//! `cargo run -p b24-sdk --example custom_layer`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use b24_sdk::prelude::*;
use b24_sdk::transport::B24Request;

/// Counts requests passing through.
#[derive(Clone)]
struct Metrics(Arc<AtomicU64>);

#[derive(Clone)]
struct Counted<S> {
    inner: S,
    count: Arc<AtomicU64>,
}

impl<S> tower::Layer<S> for Metrics {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, count: self.0.clone() }
    }
}

impl<S: tower::Service<B24Request>> tower::Service<B24Request> for Counted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }
    fn call(&mut self, request: B24Request) -> S::Future {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.inner.call(request)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let portal =
        b24_sdk::emulator::Emulator::start(b24_sdk::emulator::Settings::fast()).await.map_err(Error::from_error)?;
    // One answer in four is a spurious QUERY_LIMIT_EXCEEDED: retried inside the client.
    portal.set_faults(b24_sdk::emulator::FaultSettings {
        rate: 0.25,
        kinds: vec![b24_sdk::emulator::FaultKind::QueryLimit],
        ..Default::default()
    });
    let calls = Arc::new(AtomicU64::new(0));
    let attempts = Arc::new(AtomicU64::new(0));
    let client = Client::builder()
        .webhook(&portal.webhook_url())
        .time_scale(0.01)
        .layer(Metrics(calls.clone()))
        .attempt_layer(Metrics(attempts.clone()))
        .build()?;
    for _ in 0..20 {
        client.server_time().await?;
    }
    println!("calls: {}, HTTP attempts: {}", calls.load(Ordering::Relaxed), attempts.load(Ordering::Relaxed));
    println!("client stats: {:?}", client.stats());
    Ok(())
}
