//! Every path through the transport at TRACE level, with every error's Display, Debug and JSON:
//! no webhook secret, access token, refresh token or client secret appears.

use std::io::Write;
use std::sync::{Arc, Mutex};

use b24_emulator::{Emulator, FaultKind, FaultSettings, Settings};
use b24_errors::Secret;
use b24_transport::credentials::{OAuthApp, OAuthCredentials, TokenSet, Webhook};
use b24_transport::{B24Request, TransportBuilder, TransportConfig};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn trace_level_output_and_errors_hold_no_secret() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let portal = Emulator::start(Settings::fast().with_rows(60)).await.expect("emulator");
    let s = portal.settings();
    let mut rendered = String::new();
    fn record_into(out: &mut String, e: &b24_errors::Error) {
        out.push_str(&format!("{e}\n{e:?}\n{}\n", e.to_json()));
    }

    // Webhook: success, portal errors, injected faults with retries, bad input.
    let mut config = TransportConfig::unlimited().with_time_scale(0.01);
    config.retry.backoff_base = std::time::Duration::from_millis(1);
    let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
    let transport = TransportBuilder::new(hook.clone()).config(config.clone()).build().expect("transport");
    rendered.push_str(&format!("{transport:?}\n{hook:?}\n"));
    transport.call(B24Request::v2("crm.deal.list", &json!({"start": -1})).expect("r")).await.expect("list");
    for (method, params) in
        [("crm.deal.get", json!({"id": 999_999})), ("no.such.method", json!({})), ("crm.item.list", json!({}))]
    {
        if let Err(e) = transport.call(B24Request::v2(method, &params).expect("r")).await {
            record_into(&mut rendered, &e);
        }
    }
    portal.set_faults(FaultSettings {
        rate: 0.7,
        kinds: FaultKind::ALL.to_vec(),
        seed: 11,
        slow_by: std::time::Duration::from_millis(5),
        ..FaultSettings::default()
    });
    for _ in 0..20 {
        if let Err(e) = transport.call(B24Request::v2("server.time", &json!({"auth": "x"})).expect("r")).await {
            record_into(&mut rendered, &e);
        }
    }
    portal.set_faults(FaultSettings::default());
    let wrong = Webhook::parse(&format!("{}/rest/1/{}x/", portal.base_url(), s.webhook_secret), false).expect("hook");
    let bad = TransportBuilder::new(wrong).config(config.clone()).build().expect("t");
    if let Err(e) = bad.call(B24Request::v2("server.time", &json!({})).expect("r")).await {
        record_into(&mut rendered, &e);
    }

    // OAuth: a refresh after expiry, then a refused refresh (wrong client secret).
    let pair = portal.issue_tokens();
    let tokens = TokenSet::new(
        pair.access_token.clone(),
        pair.refresh_token.clone(),
        portal.client_endpoint(),
        Some(format!("{}/rest/", portal.base_url())),
    );
    let creds = OAuthCredentials::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()), tokens.clone());
    rendered.push_str(&format!("{creds:?}\n{tokens:?}\n"));
    let oauth = TransportBuilder::new(creds).config(config.clone()).build().expect("oauth");
    portal.expire_access_tokens();
    oauth.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect("refreshed");
    let new_tokens = oauth.oauth().map(|o| o.tokens()).expect("state");
    let pair2 = portal.issue_tokens();
    let refused_tokens = TokenSet {
        access_token: Secret::new(pair2.access_token.clone()),
        refresh_token: Secret::new(pair2.refresh_token.clone()),
        ..tokens
    };
    let wrong_app = OAuthApp::new(s.client_id.clone(), "fake-wrong-client-secret");
    let refused =
        TransportBuilder::new(OAuthCredentials::new(wrong_app, refused_tokens)).config(config).build().expect("t");
    portal.expire_access_tokens();
    let e = refused.call(B24Request::v2("server.time", &json!({})).expect("r")).await.expect_err("refresh refused");
    assert_eq!(e.code(), b24_errors::Code::JssdkTokenRefreshFailed);
    record_into(&mut rendered, &e);

    let logs = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
    assert!(logs.contains("b24.attempt"), "TRACE output was captured");
    let everything = format!("{logs}\n{rendered}");
    let secrets = [
        s.webhook_secret.clone(),
        s.client_secret.clone(),
        "fake-wrong-client-secret".to_owned(),
        pair.access_token,
        pair.refresh_token,
        pair2.access_token,
        pair2.refresh_token,
        new_tokens.access_token.expose().to_owned(),
        new_tokens.refresh_token.expose().to_owned(),
    ];
    for secret in &secrets {
        assert!(!everything.contains(secret.as_str()), "a secret leaked: {}…", &secret[..6]);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "checked {} bytes of TRACE output and errors against {} secrets",
        everything.len(),
        secrets.len()
    );
}
