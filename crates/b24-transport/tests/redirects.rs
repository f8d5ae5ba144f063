//! A moved portal answers 302: the documented domain change (same path, new host) is re-POSTed;
//! any other redirect is refused and carries no credentials anywhere.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use b24_emulator::{Emulator, Settings};
use b24_errors::Code;
use b24_transport::credentials::Webhook;
use b24_transport::{B24Request, TransportBuilder, TransportConfig};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;

/// A server that answers every request with a redirect built from the request's path.
async fn redirector(target: impl Fn(&str) -> String + Send + Sync + 'static) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicU64::new(0));
    let target = Arc::new(target);
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let target = target.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let location = target(req.uri().path());
                    async move {
                        Ok::<_, Infallible>(
                            http::Response::builder()
                                .status(302)
                                .header("location", location)
                                .body(Full::new(Bytes::new()))
                                .expect("response"),
                        )
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn the_domain_change_is_followed_by_re_posting() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let new_home = portal.base_url().replace("127.0.0.1", "localhost");
    let (old, hits) = redirector(move |path| format!("{new_home}{path}")).await;
    let secret = portal.settings().webhook_secret;
    let hook = Webhook::parse(&format!("http://{old}/rest/1/{secret}/"), false).expect("hook");
    let transport = TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport");
    let added = transport
        .call(B24Request::v2("crm.deal.add", &json!({"fields": {"TITLE": "moved"}})).expect("r"))
        .await
        .expect("re-POSTed to the new address");
    assert!(added.json::<u64>().is_ok(), "a POST with its body, not a GET");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(portal.counters().methods.get("crm.deal.add"), Some(&1));
}

#[tokio::test]
async fn other_redirects_are_refused() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let (old, _) = redirector(|_path| "http://127.0.0.1:9/collect?stolen=1".to_owned()).await;
    let hook = Webhook::parse(&format!("http://{old}/rest/1/fakesecret99/"), false).expect("hook");
    let transport = TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport");
    let e = transport.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect_err("refused");
    assert_eq!(e.code(), Code::JssdkRedirectRefused);
    assert!(!format!("{e:?}{e}").contains("fakesecret99"));
    assert_eq!(portal.counters().requests, 0);
}
