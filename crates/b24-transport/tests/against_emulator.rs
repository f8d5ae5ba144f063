//! The transport against the emulator over real HTTP: limits respected under load, token
//! expiry survived with one refresh, final errors not retried, user layers, HTTPS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use b24_emulator::{BucketLimits, Emulator, FaultKind, FaultSettings, Settings};
use b24_errors::Code;
use b24_transport::credentials::{OAuthApp, OAuthCredentials, TokenSet, Webhook};
use b24_transport::{B24Request, TransportBuilder, TransportConfig};
use futures::future::join_all;
use serde_json::json;

fn scale() -> f64 {
    std::env::var("B24_TEST_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(0.005)
}

fn webhook(url: &str) -> Webhook {
    Webhook::parse(url, false).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_calls_never_see_a_limit() {
    let settings = Settings::fast().with_time_scale(scale()).with_bucket(Some(BucketLimits::STANDARD));
    let portal = Emulator::start(settings).await.expect("emulator");
    let transport = TransportBuilder::new(webhook(&portal.webhook_url()))
        .config(TransportConfig::standard().with_time_scale(scale()))
        .build()
        .expect("transport");
    let calls = (0..2000).map(|i| {
        let t = transport.clone();
        async move {
            let method = if i % 2 == 0 { "server.time" } else { "user.current" };
            t.call(B24Request::v2(method, &json!({})).expect("request")).await
        }
    });
    let results = join_all(calls).await;
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} failures, first: {:?}", failures.len(), failures.first().map(|e| e.to_string()));
    let c = portal.counters();
    assert_eq!(c.bucket_refusals, 0, "the portal's bucket never refused");
    assert_eq!(c.requests, 2000, "no retries were needed");
    let stats = transport.stats();
    assert_eq!((stats.seen_503, stats.seen_429), (0, 0));
    // How many calls find the bucket drained enough to go at once depends on how fast this
    // machine submits them (a loaded machine drains more in between); most must have waited.
    assert!(stats.rate_waits > 1000, "the client bucket paced the calls: {stats:?}");
}

fn oauth_client(portal: &b24_emulator::EmulatorHandle, refreshed: Arc<AtomicU64>) -> TransportBuilder {
    let s = portal.settings();
    let pair = portal.issue_tokens();
    let tokens = TokenSet::new(
        pair.access_token,
        pair.refresh_token,
        portal.client_endpoint(),
        Some(format!("{}/rest/", portal.base_url())),
    );
    let creds = OAuthCredentials::new(OAuthApp::new(s.client_id, s.client_secret), tokens).on_refresh(move |_t| {
        refreshed.fetch_add(1, Ordering::SeqCst);
    });
    TransportBuilder::new(creds).config(TransportConfig::unlimited())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_survives_expiry_mid_run_with_exactly_one_refresh() {
    let portal = Emulator::start(Settings::fast().with_rows(100)).await.expect("emulator");
    let hook_calls = Arc::new(AtomicU64::new(0));
    let transport = oauth_client(&portal, hook_calls.clone()).build().expect("transport");
    let first =
        join_all((0..50).map(|_| transport.call(B24Request::v2("crm.deal.list", &json!({"start": -1})).expect("r"))))
            .await;
    assert!(first.iter().all(Result::is_ok));
    portal.expire_access_tokens();
    let second = join_all((0..200).map(|_| {
        transport.call(B24Request::v2("crm.item.list", &json!({"entityTypeId": 2, "start": -1})).expect("r"))
    }))
    .await;
    let failures: Vec<String> = second.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)).collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(portal.counters().oauth_refreshes, 1, "one refresh at the OAuth endpoint");
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1, "the refresh hook saw the new pair once");
    assert_eq!(transport.stats().refreshes, 1);
    // v3 works with the refreshed token too.
    let v3 =
        transport.call(B24Request::v3("crm.item.list", &json!({"entityTypeId": 2})).expect("r")).await.expect("v3");
    assert!(v3.value().expect("value")["items"].is_array());
}

#[tokio::test]
async fn a_wrong_webhook_secret_fails_at_once_without_retry() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let url = format!("{}/rest/1/wrongsecret000/", portal.base_url());
    let transport = TransportBuilder::new(webhook(&url)).build().expect("transport");
    let e = transport.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect_err("refused");
    assert_eq!(e.code(), Code::InvalidCredentials);
    assert_eq!((e.status(), e.attempts()), (401, 1));
    assert_eq!(e.request().map(|r| r.method()), Some("server.time"));
    assert_eq!(portal.counters().requests, 1);
    assert!(!format!("{e} {e:?} {}", e.to_json()).contains("wrongsecret000"));
}

/// A user's own layer: counts what passes through it.
#[derive(Clone)]
struct CountLayer(Arc<AtomicU64>);

#[derive(Clone)]
struct Counted<S> {
    inner: S,
    counter: Arc<AtomicU64>,
}

impl<S> tower::Layer<S> for CountLayer {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Counted { inner, counter: self.0.clone() }
    }
}

impl<S: tower::Service<B24Request>> tower::Service<B24Request> for Counted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }
    fn call(&mut self, request: B24Request) -> S::Future {
        self.counter.fetch_add(1, Ordering::SeqCst);
        self.inner.call(request)
    }
}

#[tokio::test]
async fn user_layers_see_every_call_and_every_attempt() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    portal.set_faults(FaultSettings {
        rate: 0.5,
        kinds: vec![FaultKind::QueryLimit, FaultKind::Html500],
        seed: 3,
        ..FaultSettings::default()
    });
    let calls = Arc::new(AtomicU64::new(0));
    let attempts = Arc::new(AtomicU64::new(0));
    let mut config = TransportConfig::unlimited().with_time_scale(0.01);
    config.retry.max_retries = 10;
    config.retry.backoff_base = Duration::from_millis(1);
    let transport = TransportBuilder::new(webhook(&portal.webhook_url()))
        .config(config)
        .layer(CountLayer(calls.clone()))
        .attempt_layer(CountLayer(attempts.clone()))
        .build()
        .expect("transport");
    for _ in 0..20 {
        transport.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect("call");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 20);
    let seen = attempts.load(Ordering::SeqCst);
    assert_eq!(seen, portal.counters().requests, "the attempt layer saw every HTTP request");
    assert!(seen > 20, "faults forced retries");
}

#[tokio::test]
async fn https_with_a_trusted_self_signed_certificate() {
    let portal = Emulator::start_tls(Settings::fast()).await.expect("emulator");
    let pem = portal.certificate_pem().unwrap_or_default().to_owned();
    let mut config = TransportConfig::unlimited();
    config.tls.ca_pems.push(pem.clone());
    let transport = TransportBuilder::new(webhook(&portal.webhook_url())).config(config).build().expect("transport");
    let r = transport.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect("https call");
    assert!(r.json::<String>().is_ok());

    // The same certificate from a file, as `--ca-cert FILE` passes it.
    let file = std::env::temp_dir().join(format!("b24-test-ca-{}.pem", std::process::id()));
    std::fs::write(&file, &pem).expect("write the certificate");
    let mut config = TransportConfig::unlimited();
    config.tls.ca_files.push(file.clone());
    let from_file = TransportBuilder::new(webhook(&portal.webhook_url())).config(config).build().expect("t");
    from_file.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect("trusted from a file");
    let _ = std::fs::remove_file(&file);

    let untrusting =
        TransportBuilder::new(webhook(&portal.webhook_url())).config(TransportConfig::unlimited()).build().expect("t");
    let e = untrusting
        .call(B24Request::v2("server.time", &json!({})).expect("r"))
        .await
        .expect_err("untrusted certificate");
    assert_eq!(e.code(), Code::JssdkTlsCertificateError, "{e}");
    assert_eq!(e.attempts(), 1, "a certificate failure is not retried");
    assert!(e.message().contains("not trusted"), "{}", e.message());
}

#[tokio::test]
async fn https_to_a_plain_http_portal_says_so() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let url = portal.webhook_url().replacen("http://", "https://", 1);
    let transport = TransportBuilder::new(webhook(&url)).config(TransportConfig::unlimited()).build().expect("t");
    let e = transport.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect_err("not TLS");
    assert_eq!(e.code(), Code::JssdkTlsHandshakeError, "{e}");
    assert_eq!(e.attempts(), 1);
    assert!(e.message().contains("http://"), "{}", e.message());
}

#[tokio::test]
async fn oversized_answers_and_requests_are_refused_clearly() {
    let portal = Emulator::start(Settings::fast().with_rows(100)).await.expect("emulator");
    let mut config = TransportConfig::unlimited();
    config.max_response_bytes = 1024;
    config.max_request_bytes = 64;
    let transport = TransportBuilder::new(webhook(&portal.webhook_url())).config(config).build().expect("transport");
    let e = transport
        .call(B24Request::v2("crm.deal.list", &json!({"start": -1})).expect("r"))
        .await
        .expect_err("too large");
    assert_eq!(e.code(), Code::JssdkResponseTooLarge);
    let big = json!({"fields": {"TITLE": "x".repeat(100)}});
    let e = transport.call(B24Request::v2("crm.deal.add", &big).expect("r")).await.expect_err("request too large");
    assert_eq!((e.code(), e.status()), (Code::JssdkParamsTooLarge.into(), 413));
    assert_eq!(portal.counters().requests, 1, "the oversized request was never sent");
}

#[tokio::test]
async fn an_answer_carries_its_round_trip_on_the_wire() {
    // A list call costs 5 ms + 1 ms per row of handler time (time scale 1).
    let settings = Settings { cost: b24_emulator::CostModel::CLOUD, ..Settings::fast().with_rows(100) };
    let portal = Emulator::start(settings).await.expect("emulator");
    let transport =
        TransportBuilder::new(webhook(&portal.webhook_url())).config(TransportConfig::unlimited()).build().expect("t");
    let request = B24Request::v2("crm.deal.list", &json!({"start": -1})).expect("request");
    let answer = transport.call(request).await.expect("answer");
    let processing = answer.time().and_then(|t| t.processing).expect("the portal reports its handler time");
    let round_trip = answer.round_trip().expect("the wire measured the attempt");
    assert!((processing - 0.055).abs() < 1e-6, "50 rows: {processing}");
    assert!(round_trip.as_secs_f64() >= processing, "{round_trip:?} < {processing} s of handler time");
    assert_eq!(answer.load_refusals(), 0);
}
