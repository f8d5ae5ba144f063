//! Test doubles for the layers' unit tests: a scripted inner service and canned answers.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use b24_errors::{Code, Error, ErrorCode, PortalFailure};
use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::json;
use tower::Service;

use crate::request::B24Request;
use crate::response::B24Response;

type Script = dyn Fn(B24Request, u32) -> BoxFuture<'static, Result<B24Response, Error>> + Send + Sync;

/// A service answering by script; counts calls and the most in flight at once.
#[derive(Clone)]
pub(crate) struct MockService {
    script: Arc<Script>,
    calls: Arc<AtomicU32>,
    in_flight: Arc<AtomicU32>,
    max_in_flight: Arc<AtomicU32>,
}

impl MockService {
    pub(crate) fn new<F, Fut>(f: F) -> MockService
    where
        F: Fn(B24Request, u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<B24Response, Error>> + Send + 'static,
    {
        MockService {
            script: Arc::new(move |r, n| Box::pin(f(r, n))),
            calls: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
        }
    }

    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> u32 {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Service<B24Request> for MockService {
    type Response = B24Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<B24Response, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: B24Request) -> Self::Future {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let fut = (self.script)(request, n);
        let in_flight = self.in_flight.clone();
        Box::pin(async move {
            let r = fut.await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            r
        })
    }
}

pub(crate) fn request(method: &str) -> B24Request {
    B24Request::v2(method, &json!({})).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn request_v3(method: &str) -> B24Request {
    B24Request::v3(method, &json!({})).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn response_with_time(time: &str) -> B24Response {
    let body = format!(r#"{{"result":true,"time":{time}}}"#);
    crate::envelope::parse(&request("test"), 200, Bytes::from(body)).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn ok_response() -> B24Response {
    crate::envelope::parse(&request("test"), 200, Bytes::from_static(br#"{"result":true}"#))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn portal_error(code: &str, status: u16) -> Error {
    Error::portal(PortalFailure::new(ErrorCode::from_portal(code), status, "scripted", request("test").info()))
}

pub(crate) fn network_error() -> Error {
    let f = PortalFailure::new(Code::JssdkNetworkError.into(), 502, "connection reset", request("test").info());
    Error::portal(f)
}
