//! An app for many portals, end to end, in one command:
//!
//! ```sh
//! cargo run -p b24-app --example portal_app
//! ```
//!
//! It starts a local portal (the emulator) and the app's HTTP front on 127.0.0.1, installs the
//! app into the portal (`ONAPPINSTALL`), creates a deal in the portal, delivers the portal's
//! `ONCRMDEALADD` to the app, and the app answers through the registry's client of that portal
//! with `crm.deal.update`. The portal's side (the install POST and the event delivery) is played
//! here the way Bitrix24 posts them: form bodies with PHP bracket keys.

use std::sync::Arc;

use b24_app::{App, AppConfig, AppService, Event, EventKind, SqliteStore};
use b24_emulator::{Emulator, Settings};
use b24_transport::credentials::{OAuthApp, Webhook};
use b24_transport::php_query::encode;
use b24_transport::{B24Request, Transport, TransportBuilder, TransportConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // The portal.
    let portal = Emulator::start(Settings::fast().with_rows(0)).await?;
    let s = portal.settings();
    println!("portal   {}", portal.base_url());

    // The app: its installations in SQLite (a file works the same: SqliteStore::open("app.db")).
    let config = AppConfig::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()))
        .transport_config(TransportConfig::unlimited())
        .trust_oauth_server(portal.base_url());
    let app: App = App::new(config, Arc::new(SqliteStore::memory()?))?;
    let front = AppService::new(app.clone(), |event: Event, client: Transport| async move {
        if let EventKind::Crm { id, .. } = event.kind()? {
            let fields = json!({"id": id, "fields": {"COMMENTS": "seen by the app"}});
            client.call(B24Request::v2("crm.deal.update", &fields)?).await?;
            println!("app      {} deal {id}: answered with crm.deal.update", event.event);
        }
        Ok(())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let front = front.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| tower::ServiceExt::oneshot(front.clone(), request));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    println!("app      {app_url}");

    // The portal installs the app.
    let member_id = "example-member";
    let pair = portal.issue_tokens();
    let auth = json!({
        "access_token": pair.access_token, "refresh_token": pair.refresh_token,
        "expires": (pair.expires as u64).to_string(), "expires_in": "3600", "scope": "crm",
        "domain": b24_app::normalize_domain(portal.base_url()), "client_endpoint": portal.client_endpoint(),
        "server_endpoint": format!("{}/rest/", portal.base_url()), "status": "L", "member_id": member_id,
        "user_id": "1", "application_token": s.application_token,
    });
    let http = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let post = |path: &str, body: Value| {
        let request = http::Request::post(format!("{app_url}{path}")).body(Full::new(Bytes::from(encode(&body))));
        let http = http.clone();
        async move {
            let response = http.request(request?).await?;
            let status = response.status();
            let text = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                return Err(format!("the app answered {status}: {}", String::from_utf8_lossy(&text)).into());
            }
            Ok::<_, BoxError>(())
        }
    };
    let install = json!({"event": "ONAPPINSTALL", "data": {"VERSION": "1", "LANGUAGE_ID": "en"}, "ts": "1700000000", "auth": auth});
    post("/install", install).await?;
    println!(
        "portal   ONAPPINSTALL delivered: {} installation(s) stored",
        app.registry().store().member_ids().await?.len()
    );

    // A deal is created in the portal; the portal delivers ONCRMDEALADD to the app.
    let admin = TransportBuilder::new(Webhook::parse(&portal.webhook_url(), false)?)
        .config(TransportConfig::unlimited())
        .build()?;
    let id: u64 = admin.call(B24Request::v2("crm.deal.add", &json!({"fields": {"TITLE": "A deal"}}))?).await?.json()?;
    println!("portal   crm.deal.add -> deal {id}");
    let event = json!({"event": "ONCRMDEALADD", "event_handler_id": "1", "data": {"FIELDS": {"ID": id.to_string()}}, "ts": "1700000100", "auth": auth});
    post("/event", event).await?;

    // What the app wrote is in the portal.
    let deal: Value = admin.call(B24Request::v2("crm.deal.get", &json!({"id": id}))?).await?.json()?;
    let comments = deal["COMMENTS"].as_str().unwrap_or_default();
    println!("portal   deal {id} COMMENTS = {comments:?}");
    if comments != "seen by the app" {
        return Err("the app's answer did not reach the portal".into());
    }

    // A forged event (a guessed application token) is refused.
    let mut forged = event_with_token(&auth, "fake-guessed-token");
    forged["data"] = json!({"FIELDS": {"ID": id.to_string()}});
    match post("/event", forged).await {
        Err(e) => println!("app      a forged event was refused: {e}"),
        Ok(()) => return Err("a forged event was accepted".into()),
    }
    Ok(())
}

fn event_with_token(auth: &Value, token: &str) -> Value {
    let mut auth = auth.clone();
    auth["application_token"] = json!(token);
    json!({"event": "ONCRMDEALADD", "ts": "1700000200", "auth": auth})
}
