//! An app for many portals, end to end, in one command:
//!
//! ```sh
//! cargo run -p b24-app --example portal_app
//! ```
//!
//! It starts a local portal (the emulator) and the app's HTTP front on 127.0.0.1. Then the
//! portal plays its own side, as Bitrix24 does:
//!
//! 1. the portal installs the app: it POSTs `ONAPPINSTALL` (a token pair and the application
//!    token) to the app's `/install`; the app stores the installation and, in its handler, binds
//!    `ONCRMDEALADD` to its `/event` URL through the registry's client of that portal;
//! 2. a deal is created in the portal (through a webhook, as a user would);
//! 3. the portal POSTs `ONCRMDEALADD` to the app by itself; the app checks it against the
//!    portal's application token and answers through the registry's client with
//!    `crm.deal.update`;
//! 4. the example waits (at most 10 s) until the deal shows the app's answer;
//! 5. a forged event (a guessed application token, posted by hand: the attacker's side) is
//!    refused.
//!
//! Any failure ends it with a non-zero exit status.

use std::sync::Arc;
use std::time::Duration;

use b24_app::bind::{Binding, bind};
use b24_app::event::{Action, CrmEntity};
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

const ANSWER: &str = "seen by the app";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // The portal.
    let portal = Emulator::start(Settings::fast().with_rows(0)).await?;
    let s = portal.settings();
    println!("portal   {}", portal.base_url());

    // The app: its installations in SQLite (a file works the same: SqliteStore::open("app.db")).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_url = format!("http://{}", listener.local_addr()?);
    let config = AppConfig::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()))
        .transport_config(TransportConfig::unlimited())
        .trust_oauth_server(portal.base_url());
    let app: App = App::new(config, Arc::new(SqliteStore::memory()?))?;
    let event_url = format!("{app_url}/event");
    let front = AppService::new(app.clone(), move |event: Event, client: Transport| {
        let event_url = event_url.clone();
        async move {
            match event.kind()? {
                // Installed: ask the portal for new deals, at the app's event URL.
                EventKind::AppInstall { .. } => {
                    bind(&client, &Binding::online("ONCRMDEALADD", event_url)).await?;
                    println!("app      installed in {}: bound ONCRMDEALADD", event.member_id()?);
                }
                // A new deal: answer in the portal.
                EventKind::Crm { entity: CrmEntity::Deal, action: Action::Add, id } => {
                    let fields = json!({"id": id, "fields": {"COMMENTS": ANSWER}});
                    client.call(B24Request::v2("crm.deal.update", &fields)?).await?;
                    println!("app      {} deal {id}: answered with crm.deal.update", event.event);
                }
                _ => {}
            }
            Ok(())
        }
    });
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

    // 1. The portal installs the app.
    match portal.install_app(&format!("{app_url}/install")).await {
        Some(200) => {}
        Some(status) => return Err(format!("the app answered the install with {status}").into()),
        None => return Err("the portal could not reach the app to install it".into()),
    }
    println!(
        "portal   ONAPPINSTALL delivered: {} installation(s) stored",
        app.registry().store().member_ids().await?.len()
    );

    // 2. A deal is created in the portal.
    let admin = TransportBuilder::new(Webhook::parse(&portal.webhook_url(), false)?)
        .config(TransportConfig::unlimited())
        .build()?;
    let id: u64 = admin.call(B24Request::v2("crm.deal.add", &json!({"fields": {"TITLE": "A deal"}}))?).await?.json()?;
    println!("portal   crm.deal.add -> deal {id}");

    // 3 and 4. The portal delivers ONCRMDEALADD by itself; wait for the app's answer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let deal: Value = admin.call(B24Request::v2("crm.deal.get", &json!({"id": id}))?).await?.json()?;
        if deal["COMMENTS"].as_str() == Some(ANSWER) {
            println!("portal   deal {id} COMMENTS = {ANSWER:?}");
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let deliveries: Vec<String> =
                portal.deliveries().iter().map(|d| format!("{} -> {}: {:?}", d.event, d.handler, d.status)).collect();
            return Err(format!(
                "the app's answer did not reach deal {id} within 10 s; the portal's deliveries: {deliveries:?}"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = portal.deliveries();
    println!("portal   {} event(s) delivered, statuses {:?}", delivered.len(), statuses(&delivered));

    // 5. A forged event (a guessed application token) is refused.
    let forged = forged_event(&portal, &s.member_id, id);
    let http = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("{app_url}/event")).body(Full::new(Bytes::from(forged)))?;
    let response = http.request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status.is_success() {
        return Err("a forged event was accepted".into());
    }
    println!("app      a forged event was refused: {status} {}", String::from_utf8_lossy(&body));
    Ok(())
}

fn statuses(deliveries: &[b24_emulator::Delivery]) -> Vec<Option<u16>> {
    deliveries.iter().map(|d| d.status).collect()
}

/// `ONCRMDEALADD` as an attacker would post it: the portal's member id, a token pair of its own
/// making and a guessed application token.
fn forged_event(portal: &b24_emulator::EmulatorHandle, member_id: &str, deal: u64) -> String {
    encode(&json!({
        "event": "ONCRMDEALADD", "event_handler_id": "1", "data": {"FIELDS": {"ID": deal.to_string()}},
        "ts": "1700000200",
        "auth": {
            "access_token": "fake-forged-access", "refresh_token": "fake-forged-refresh",
            "domain": b24_app::normalize_domain(portal.base_url()), "client_endpoint": portal.client_endpoint(),
            "server_endpoint": format!("{}/rest/", portal.base_url()), "member_id": member_id,
            "application_token": "fake-guessed-token",
        },
    }))
}
