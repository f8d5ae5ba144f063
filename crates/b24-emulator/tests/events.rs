//! Events, the portal's side (issue 17): `event.bind`/`event.get`/`event.unbind`, delivery of
//! bound events as form POSTs with PHP bracket keys to a handler (a tiny hyper server here),
//! the install action, offline events, and several portals with their own identities.

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use b24_emulator::{Emulator, EmulatorHandle, Settings};
use bytes::Bytes;
use common::Http;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A received POST: its path and its form fields (keys decoded, brackets kept).
#[derive(Debug)]
struct Received {
    path: String,
    fields: BTreeMap<String, String>,
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// A handler on 127.0.0.1 that records every POST and answers 200.
async fn handler() -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let fields = String::from_utf8_lossy(&body)
                            .split('&')
                            .filter_map(|pair| pair.split_once('='))
                            .map(|(k, v)| (decode(k), decode(v)))
                            .collect();
                        let _ = tx.send(Received { path, fields });
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("an event in time").expect("open")
}

/// A REST call with the app's OAuth token.
async fn call(http: &Http, portal: &EmulatorHandle, token: &str, method: &str, mut params: Value) -> Value {
    params["auth"] = json!(token);
    let a = http.json(&format!("{}{method}", portal.client_endpoint()), &params).await;
    assert_eq!(a.status, 200, "{method}: {}", a.text());
    a.json()["result"].clone()
}

#[tokio::test]
async fn bound_events_arrive_as_php_bracket_forms_with_a_usable_auth_block() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let (url, mut rx) = handler().await;
    let token = portal.issue_tokens().access_token;
    for event in ["ONCRMDEALADD", "onCrmDealUpdate", "ONCRMCONTACTADD", "ONTASKADD"] {
        let bound =
            call(&http, &portal, &token, "event.bind", json!({"event": event, "handler": format!("{url}/events")}))
                .await;
        assert_eq!(bound, true);
    }
    let again = http
        .json(
            &format!("{}event.bind", portal.client_endpoint()),
            &json!({"auth": token, "event": "ONCRMDEALADD", "handler": format!("{url}/events")}),
        )
        .await;
    assert_eq!((again.status, again.json()["error_description"].clone()), (400, json!("Handler already binded")));
    let bindings = call(&http, &portal, &token, "event.get", json!({})).await;
    assert_eq!(bindings.as_array().map(Vec::len), Some(4));
    assert_eq!(bindings[1]["event"], "ONCRMDEALUPDATE", "names are upper-cased: {bindings}");

    let deal = call(&http, &portal, &token, "crm.deal.add", json!({"fields": {"TITLE": "evented"}})).await;
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/events");
    let f = &got.fields;
    assert_eq!(f["event"], "ONCRMDEALADD");
    assert_eq!(f["data[FIELDS][ID]"], deal.to_string());
    assert!(f["event_handler_id"].parse::<u64>().is_ok());
    assert!(f["ts"].parse::<u64>().is_ok());
    let s = portal.settings();
    assert_eq!(f["auth[application_token]"], s.application_token);
    assert_eq!(f["auth[member_id]"], s.member_id);
    assert_eq!(f["auth[client_endpoint]"], portal.client_endpoint());
    for key in [
        "access_token",
        "expires",
        "expires_in",
        "scope",
        "domain",
        "server_endpoint",
        "status",
        "user_id",
        "refresh_token",
    ] {
        assert!(f.get(&format!("auth[{key}]")).is_some_and(|v| !v.is_empty()), "auth[{key}] missing: {f:?}");
    }
    // The event's token works for a REST call back to the portal.
    let back = call(&http, &portal, &f["auth[access_token]"], "crm.deal.get", json!({"id": deal})).await;
    assert_eq!(back["TITLE"], "evented");

    call(&http, &portal, &token, "crm.deal.update", json!({"id": deal, "fields": {"TITLE": "changed"}})).await;
    assert_eq!(next(&mut rx).await.fields["event"], "ONCRMDEALUPDATE");
    call(&http, &portal, &token, "crm.contact.add", json!({"fields": {"NAME": "x"}})).await;
    assert_eq!(next(&mut rx).await.fields["event"], "ONCRMCONTACTADD");
    let task = call(&http, &portal, &token, "tasks.task.add", json!({"fields": {"TITLE": "t"}})).await;
    let got = next(&mut rx).await;
    assert_eq!(got.fields["event"], "ONTASKADD");
    assert_eq!(got.fields["data[FIELDS_AFTER][ID]"], task["task"]["id"].to_string());
    // crm.item on deals raises the deal's event too.
    call(&http, &portal, &token, "crm.item.add", json!({"entityTypeId": 2, "fields": {"title": "via item"}})).await;
    assert_eq!(next(&mut rx).await.fields["event"], "ONCRMDEALADD");

    let unbound = call(
        &http,
        &portal,
        &token,
        "event.unbind",
        json!({"event": "ONCRMDEALADD", "handler": format!("{url}/events")}),
    )
    .await;
    assert_eq!(unbound, json!({"count": 1}));
    call(&http, &portal, &token, "crm.deal.add", json!({"fields": {"TITLE": "quiet"}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.try_recv().is_err(), "no event after unbind");
    assert_eq!(portal.deliveries().iter().filter(|d| d.status == Some(200)).count(), 5);
}

#[tokio::test]
async fn webhooks_cannot_bind_events() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let a = Http::new()
        .json(
            &format!("{}event.bind", portal.webhook_url()),
            &json!({"event": "ONCRMDEALADD", "handler": "http://127.0.0.1:9/"}),
        )
        .await;
    assert_eq!((a.status, a.json()["error"].clone()), (403, json!("WRONG_AUTH_TYPE")));
}

#[tokio::test]
async fn the_install_action_posts_onappinstall_to_the_app() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let (url, mut rx) = handler().await;
    let status = portal.install_app(&format!("{url}/install")).await;
    assert_eq!(status, Some(200));
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/install");
    assert_eq!(got.fields["event"], "ONAPPINSTALL");
    assert_eq!(got.fields["auth[application_token]"], portal.settings().application_token);
    assert!(got.fields["auth[refresh_token]"].starts_with("fake"));
    // The same action over the emulator's HTTP API, then the uninstall.
    let http = Http::new();
    let answer = http.form(&format!("{}/_emulator/install", portal.base_url()), &format!("handler={url}/again")).await;
    assert_eq!(answer.json()["status"], 200, "{}", answer.text());
    assert_eq!(next(&mut rx).await.path, "/again");
    assert_eq!(portal.uninstall_app(&format!("{url}/bye")).await, Some(200));
    let bye = next(&mut rx).await;
    assert_eq!(bye.fields["event"], "ONAPPUNINSTALL");
    assert!(!bye.fields.contains_key("auth[access_token]"), "no tokens after uninstall");
}

#[tokio::test]
async fn offline_events_are_taken_marked_cleared_and_listed() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let token = portal.issue_tokens().access_token;
    call(&http, &portal, &token, "event.bind", json!({"event": "ONCRMDEALADD", "event_type": "offline"})).await;
    call(
        &http,
        &portal,
        &token,
        "event.bind",
        json!({"event": "ONCRMDEALUPDATE", "event_type": "offline", "auth_connector": "sync"}),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(call(&http, &portal, &token, "crm.deal.add", json!({"fields": {"TITLE": format!("d{i}")}})).await);
    }
    // Updates made with the connector's own key are not queued for it; others are, once per deal.
    call(
        &http,
        &portal,
        &token,
        "crm.deal.update",
        json!({"id": ids[0], "fields": {"TITLE": "mine"}, "auth_connector": "sync"}),
    )
    .await;
    call(&http, &portal, &token, "crm.deal.update", json!({"id": ids[1], "fields": {"TITLE": "a"}})).await;
    call(&http, &portal, &token, "crm.deal.update", json!({"id": ids[1], "fields": {"TITLE": "b"}})).await;

    // Take two without clearing: they are reserved for the process.
    let first = call(&http, &portal, &token, "event.offline.get", json!({"clear": 0, "limit": 2})).await;
    let process = first["process_id"].as_str().expect("process id").to_owned();
    let events = first["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["EVENT_NAME"], "ONCRMDEALADD");
    assert_eq!(events[0]["EVENT_DATA"]["FIELDS"]["ID"], ids[0]);
    let rest = call(&http, &portal, &token, "event.offline.get", json!({"clear": 0})).await;
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(1), "the reserved two are not given out again");
    let again = call(&http, &portal, &token, "event.offline.get", json!({"clear": 0, "process_id": process})).await;
    assert_eq!(again["events"].as_array().map(Vec::len), Some(2), "the same process sees them again");
    let listed = call(&http, &portal, &token, "event.offline.list", json!({})).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert_eq!(listed[0]["PROCESS_ID"], process);
    let first_id = events[0]["ID"].clone();
    call(&http, &portal, &token, "event.offline.clear", json!({"process_id": process, "id": [first_id]})).await;
    assert_eq!(call(&http, &portal, &token, "event.offline.list", json!({})).await.as_array().map(Vec::len), Some(2));

    // The connector's queue: one update (deal 1, twice, one record), not the one it made itself.
    let sync = call(&http, &portal, &token, "event.offline.get", json!({"auth_connector": "sync"})).await;
    let sync_events = sync["events"].as_array().expect("events");
    assert_eq!(sync_events.len(), 1, "{sync}");
    assert_eq!(sync_events[0]["EVENT_DATA"]["FIELDS"]["ID"], ids[1]);
    let drained = call(&http, &portal, &token, "event.offline.get", json!({"auth_connector": "sync"})).await;
    assert_eq!(drained["events"], json!([]), "clear=1 (the default) deleted them");
}

#[tokio::test]
async fn three_portals_have_their_own_identities_and_events() {
    let (url, mut rx) = handler().await;
    let http = Http::new();
    let mut portals = Vec::new();
    for n in 1..=3 {
        let portal = Emulator::start(Settings::fast().numbered(n)).await.expect("start");
        let token = portal.issue_tokens().access_token;
        call(&http, &portal, &token, "event.bind", json!({"event": "ONCRMDEALADD", "handler": format!("{url}/p{n}")}))
            .await;
        portals.push((portal, token));
    }
    let identities: std::collections::BTreeSet<(String, String)> =
        portals.iter().map(|(p, _)| (p.settings().member_id, p.settings().application_token)).collect();
    assert_eq!(identities.len(), 3, "distinct member ids and application tokens");
    for (n, (portal, token)) in portals.iter().enumerate() {
        call(&http, portal, token, "crm.deal.add", json!({"fields": {"TITLE": "x"}})).await;
        let got = next(&mut rx).await;
        assert_eq!(got.path, format!("/p{}", n + 1));
        assert_eq!(got.fields["auth[member_id]"], portal.settings().member_id);
        assert_eq!(got.fields["auth[application_token]"], portal.settings().application_token);
        assert_eq!(got.fields["auth[domain]"], portal.settings().domain.unwrap_or_default());
    }
    // A token of one portal is not valid on another.
    let stranger =
        http.json(&format!("{}server.time", portals[1].0.client_endpoint()), &json!({"auth": portals[0].1})).await;
    assert_eq!(stranger.status, 401);
}
