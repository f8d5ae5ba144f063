//! The HTTP front with three portals (three emulators) and the SQLite store: installs and
//! events the portals deliver themselves, checked against the right portal's token; forged and
//! malformed requests (posted by hand: no portal sends them) refused with their codes; a token
//! refresh per portal; an uninstall the portal sends; with tracing at TRACE captured, no secret
//! in any log line, response body or error.

mod common;

use std::sync::{Arc, Mutex};

use b24_app::bind::{Binding, bind};
use b24_app::{App, AppService, Event, EventKind, InstallationStore, SqliteStore};
use b24_errors::Code;
use b24_transport::{B24Request, Transport};
use bytes::Bytes;
use common::portal::{Portal, config, serve};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;

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

async fn post(front: &AppService<Transport>, path: &str, body: impl Into<Bytes>) -> (StatusCode, String) {
    send(front, Method::POST, path, body.into()).await
}

async fn send(front: &AppService<Transport>, method: Method, path: &str, body: Bytes) -> (StatusCode, String) {
    let request = Request::builder().method(method).uri(path).body(Full::new(body)).expect("request");
    let response = front.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
    let status = response.status();
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn code_of(body: &str) -> String {
    serde_json::from_str::<Value>(body).ok().and_then(|v| v["error"].as_str().map(str::to_owned)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_portals_through_the_front() {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global: the front runs on the runtime's worker threads (the only test of this binary).
    tracing::subscriber::set_global_default(subscriber).expect("the first subscriber");

    let portals = [Portal::start(1).await, Portal::start(2).await, Portal::start(3).await];
    let members: Vec<String> = portals.iter().map(Portal::member_id).collect();
    let store: Arc<dyn InstallationStore> = Arc::new(SqliteStore::memory().expect("store"));
    let app: App = App::new(config(&portals.iter().collect::<Vec<_>>()), store.clone()).expect("app");
    let seen: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let log = seen.clone();
    let front = AppService::new(app.clone(), move |event: Event, client: Transport| {
        let log = log.clone();
        async move {
            if let EventKind::Crm { id, .. } = event.kind()? {
                // Answer through the portal's own client.
                let member = event.member_id()?.to_owned();
                client.call(B24Request::v2("server.time", &json!({}))?).await?;
                log.lock()
                    .map_err(|_| b24_errors::Error::sdk(Code::JssdkInternalError, "poisoned"))?
                    .push((member, id));
            }
            Ok(())
        }
    });
    let url = serve(front.clone()).await;
    let mut secrets: Vec<String> = vec![portals[0].emulator.settings().client_secret.clone()];

    // Installs: each portal posts ONAPPINSTALL itself.
    for portal in &portals {
        assert_eq!(portal.emulator.install_app(&format!("{url}/install")).await, Some(200));
        let stored = store.get(&portal.member_id()).await.expect("get").expect("installed");
        secrets
            .extend([stored.tokens.access_token.expose().to_owned(), stored.tokens.refresh_token.expose().to_owned()]);
        secrets.push(portal.app_token());
    }
    let mut ids = store.member_ids().await.expect("list");
    ids.sort();
    assert_eq!(ids, members);

    // Events: the app binds ONCRMDEALADD through each portal's client; a deal made in the
    // portal is delivered by the portal and answered through that portal's own client.
    for portal in &portals {
        let client = app.client(&portal.member_id()).await.expect("client");
        assert!(bind(&client, &Binding::online("ONCRMDEALADD", format!("{url}/event"))).await.expect("bind"));
    }
    let mut expected = Vec::new();
    for portal in &portals {
        let before = portal.emulator.counters().requests;
        let deal = portal.call("crm.deal.add", json!({"fields": {"TITLE": "A deal"}})).await;
        let deal = deal.as_u64().expect("a deal id");
        let delivered = portal.delivered("ONCRMDEALADD", 1).await;
        assert_eq!(delivered[0].status, Some(200), "{delivered:?}");
        assert_eq!(portal.emulator.counters().requests, before + 2, "crm.deal.add, then the app's call to this portal");
        expected.push((portal.member_id(), deal));
    }
    assert_eq!(seen.lock().map(|s| s.clone()).unwrap_or_default(), expected);

    // Forged and malformed requests.
    let forged = portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "9"}}), "fake-guessed-token");
    let other_portals_token =
        portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "9"}}), &portals[1].app_token());
    let mut stranger = portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "9"}}), &portals[0].app_token());
    stranger = stranger.replace(&members[0], "fakememberidstranger");
    let cases: Vec<(&str, String, StatusCode, Code)> = vec![
        ("/event", forged, StatusCode::UNAUTHORIZED, Code::JssdkEventTokenMismatch),
        ("/event", other_portals_token, StatusCode::UNAUTHORIZED, Code::JssdkEventTokenMismatch),
        ("/event", stranger, StatusCode::NOT_FOUND, Code::JssdkAppNotInstalled),
        ("/event", "event=ONCRMDEALADD".into(), StatusCode::BAD_REQUEST, Code::JssdkEventInvalid),
        ("/event", String::new(), StatusCode::BAD_REQUEST, Code::JssdkEventInvalid),
        ("/placement", "AUTH_ID=x".into(), StatusCode::BAD_REQUEST, Code::JssdkPlacementInvalid),
        ("/nowhere", String::new(), StatusCode::NOT_FOUND, Code::JssdkAppRouteNotFound),
        ("/event", "x".repeat(2 << 20), StatusCode::PAYLOAD_TOO_LARGE, Code::JssdkAppBodyTooLarge),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = post(&front, path, body).await;
        assert_eq!((got, code_of(&answer)), (status, code.as_str().to_owned()), "{path}: {answer}");
    }
    let (got, answer) = send(&front, Method::GET, "/event", Bytes::new()).await;
    assert_eq!((got, code_of(&answer).as_str()), (StatusCode::METHOD_NOT_ALLOWED, "JSSDK_APP_METHOD_NOT_ALLOWED"));
    // A forged reinstall cannot take a portal over.
    let hijack = portals[1].install_body("fake-hijacker-token");
    assert_eq!(post(&front, "/install", hijack).await.0, StatusCode::UNAUTHORIZED);
    // An install naming an OAuth server the app does not trust is refused.
    let untrusted = portals[2].install_body(&portals[2].app_token()).replace("127.0.0.1", "localhost");
    let (got, answer) = post(&front, "/install", untrusted).await;
    assert_eq!((got, code_of(&answer).as_str()), (StatusCode::BAD_REQUEST, "JSSDK_APP_UNTRUSTED_ENDPOINT"));

    // A token refresh per portal: the new pair lands in the store.
    let client = app.client(&members[1]).await.expect("client");
    let old = store.get(&members[1]).await.ok().flatten().map(|i| i.tokens.access_token.expose().to_owned());
    portals[1].emulator.expire_access_tokens();
    client.call(B24Request::v2("server.time", &json!({})).expect("request")).await.expect("a call after a refresh");
    assert_eq!(portals[1].emulator.counters().oauth_refreshes, 1);
    let new = store.get(&members[1]).await.ok().flatten().map(|i| i.tokens);
    let new = new.expect("still installed");
    assert_ne!(Some(new.access_token.expose().to_owned()), old, "the refreshed pair is stored");
    secrets.extend([new.access_token.expose().to_owned(), new.refresh_token.expose().to_owned()]);

    // Uninstall: a forged one is refused, the one the portal sends removes the portal.
    assert_eq!(
        post(&front, "/uninstall", portals[2].uninstall_body("fake-guessed-token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(store.get(&members[2]).await.expect("get").is_some());
    assert_eq!(portals[2].emulator.uninstall_app(&format!("{url}/uninstall")).await, Some(200));
    assert!(store.get(&members[2]).await.expect("get").is_none(), "the portal and its tokens are gone");
    // A replayed event of the uninstalled portal (the portal itself sends none any more).
    let late = portals[2].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "1"}}), &portals[2].app_token());
    assert_eq!(post(&front, "/event", late).await.0, StatusCode::NOT_FOUND);
    let e = app.client(&members[2]).await.err().map(|e| e.code());
    assert_eq!(e, Some(Code::JssdkAppNotInstalled.into()));

    // No secret anywhere in the captured TRACE output, the Debug of the app or the store.
    let logs = String::from_utf8_lossy(&sink.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned();
    assert!(logs.contains("installed") && logs.contains("uninstalled"), "the log was captured");
    let shown = format!("{logs}\n{app:?}\n{front:?}\n{:?}", store.get(&members[0]).await);
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "a secret leaked: {secret}");
    }
}
