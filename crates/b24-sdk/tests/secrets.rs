//! Every path through the SDK — calls, batches, an export, retries under faults, an OAuth
//! refresh, errors of every kind, an event — with tracing at TRACE into a buffer and every
//! error's Display, Debug and JSON collected: no credential appears anywhere.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use b24_emulator::{Emulator, FaultKind, FaultSettings, Settings};
use b24_sdk::events::Event;
use b24_sdk::prelude::*;
use b24_sdk::transport::credentials::OAuthCredentials;
use futures::TryStreamExt;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_path_leaks_a_credential() {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let seen = std::cell::RefCell::new(String::new());
    let note = |e: &Error| seen.borrow_mut().push_str(&format!("{e}\n{e:?}\n{}\n", e.to_json()));

    let portal = Emulator::start(Settings::fast().with_rows(6_000)).await.expect("emulator");
    let s = portal.settings();
    let fast = |b: ClientBuilder| {
        b.plan(Plan::Unlimited).time_scale(0.01).max_retries(6).attempt_timeout(Duration::from_millis(300))
    };
    let client = fast(Client::builder().webhook(&portal.webhook_url())).build().expect("client");

    // Calls, a batch with failures, an export, all under every kind of fault.
    portal.set_faults(FaultSettings {
        rate: 0.25,
        kinds: FaultKind::ALL.to_vec(),
        seed: 3,
        slow_by: Duration::from_millis(400),
        ..FaultSettings::default()
    });
    for method in ["server.time", "user.current", "no.such.method"] {
        if let Err(e) = client.v2().call(method, &json!({"auth": "not-a-secret"})).await {
            note(&e);
        }
    }
    let batch = Batch::named(vec![
        ("ok".into(), Command::new("crm.deal.get", json!({"id": 1}))),
        ("bad".into(), Command::new("crm.deal.get", json!({"id": 0}))),
    ])
    .expect("batch");
    if let Ok(result) = client.v2().batch(&batch).await {
        for (_, e) in result.errors() {
            note(e);
        }
    }
    let pages: Result<Vec<Vec<Value>>, Error> =
        client.v2().fetch_list(ListQuery::new("crm.deal.list").chains(2)).try_collect().await;
    if let Err(e) = pages {
        note(&e);
    }
    portal.set_faults(FaultSettings::default());

    // A wrong secret, a refused refresh, a successful refresh.
    let wrong = fast(Client::builder().webhook(&format!("{}/rest/1/{}0/", portal.base_url(), s.webhook_secret)))
        .build()
        .expect("client");
    if let Err(e) = wrong.server_time().await {
        note(&e);
    }
    let pair = portal.issue_tokens();
    let tokens = TokenSet::new(
        pair.access_token.clone(),
        pair.refresh_token.clone(),
        portal.client_endpoint(),
        Some(format!("{}/rest/", portal.base_url())),
    );
    let oauth = fast(
        Client::builder()
            .oauth(OAuthCredentials::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()), tokens.clone())),
    )
    .build()
    .expect("oauth");
    portal.expire_access_tokens();
    oauth.server_time().await.expect("refreshed");
    let rotated = oauth.tokens().expect("tokens");
    let refused = fast(
        Client::builder()
            .oauth(OAuthCredentials::new(OAuthApp::new(s.client_id.clone(), "fake-other-client-secret"), tokens)),
    )
    .build()
    .expect("oauth");
    if let Err(e) = refused.server_time().await {
        note(&e);
    }
    seen.borrow_mut().push_str(&format!("{client:?}\n{oauth:?}\n{rotated:?}\n"));

    // An event with the application token.
    let body =
        format!("event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=1&auth%5Bapplication_token%5D={}", s.application_token);
    let event = Event::parse(&body).expect("event");
    seen.borrow_mut().push_str(&format!("{event:?}\n"));
    if let Err(e) = event.verify(&Secret::new("fake-not-the-token")) {
        note(&e);
    }

    let logs = String::from_utf8(sink.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
    let seen = seen.into_inner();
    let all = format!("{logs}\n{seen}");
    assert!(logs.contains("b24.attempt") && seen.len() > 1000, "the paths ran and were recorded");
    let secrets = [
        s.webhook_secret.as_str(),
        s.client_secret.as_str(),
        s.application_token.as_str(),
        pair.access_token.as_str(),
        pair.refresh_token.as_str(),
        rotated.access_token.expose(),
        rotated.refresh_token.expose(),
        "fake-other-client-secret",
    ];
    let leaked: Vec<&str> = secrets.iter().copied().filter(|secret| all.contains(secret)).collect();
    assert!(leaked.is_empty(), "{} secret(s) leaked", leaked.len());
    println!("{} bytes of TRACE output and errors checked against {} secrets: 0 leaked", all.len(), secrets.len());
}
