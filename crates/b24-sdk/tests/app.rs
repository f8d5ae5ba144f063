//! `b24_sdk::app` (feature `app`): the app kit handing out `Client`s. An install and an event
//! from an emulator portal, answered through the portal's `Client`.

use std::sync::Arc;

use b24_emulator::{Emulator, Settings};
use b24_sdk::app::{App, AppConfig, EventKind, Received, SqliteStore};
use b24_sdk::prelude::*;
use b24_sdk::transport::TransportConfig;
use b24_sdk::transport::php_query::encode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_hands_out_clients() {
    let portal = Emulator::start(Settings::fast().with_rows(3)).await.expect("emulator");
    let s = portal.settings();
    let config = AppConfig::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()))
        .transport_config(TransportConfig::unlimited())
        .trust_oauth_server(portal.base_url());
    let app = App::new(config, Arc::new(SqliteStore::memory().expect("store"))).expect("app");
    let pair = portal.issue_tokens();
    let auth = json!({
        "access_token": pair.access_token, "refresh_token": pair.refresh_token,
        "expires": (pair.expires as u64).to_string(), "domain": b24_sdk::app::normalize_domain(portal.base_url()),
        "client_endpoint": portal.client_endpoint(), "server_endpoint": format!("{}/rest/", portal.base_url()),
        "member_id": "member-sdk", "application_token": "fake-app-token-sdk",
    });
    let install = encode(&json!({"event": "ONAPPINSTALL", "data": {"VERSION": "1"}, "auth": auth}));
    assert!(matches!(app.receive(&install).await.expect("install"), Received::Installed(..)));
    let event = encode(&json!({"event": "ONCRMDEALADD", "data": {"FIELDS": {"ID": "2"}}, "auth": auth}));
    let Received::Event(event, _) = app.receive(&event).await.expect("event") else { panic!("an event") };
    let EventKind::Crm { id, .. } = event.kind().expect("typed") else { panic!("a CRM event") };
    let client: Client = app.client("member-sdk").await.expect("the portal's client");
    let deal: serde_json::Value = client.call("crm.deal.get", &json!({"id": id})).await.expect("crm.deal.get");
    assert_eq!(deal["ID"], "2");
}
