//! Three portals, two app processes, one database: the done-when scenario of the app kit, on
//! both stores. The test plays the portals (three emulators) and starts this test binary twice
//! more as app processes, each with its own `App` and HTTP front over the same store (an SQLite
//! file, or a PostgreSQL server the test starts on 127.0.0.1).
//!
//! - installs go to either process, events to both, each answered through its own portal;
//! - forged events (a guessed token, another portal's token) are refused by both;
//! - every portal's access token expires while both processes call it at once: one refresh per
//!   portal at its OAuth server, none refused;
//! - an uninstall through one process removes the portal for both.

mod common;

use std::process::Stdio;
use std::sync::Arc;

use b24_app::{App, AppService, Event, EventKind, InstallationStore, PostgresStore, SqliteStore};
use b24_transport::{B24Request, Transport};
use bytes::Bytes;
use common::pg::PgServer;
use common::portal::Portal;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const WORKER: &str = "B24_APP_TEST_WORKER";

// ---------------------------------------------------------------------------------------------
// The app process.

/// Does nothing in a plain test run; started with `B24_APP_TEST_WORKER` set, it is one app
/// process: open the store, serve the front on a free port, print it, run until stdin closes.
#[test]
fn worker() {
    if std::env::var(WORKER).is_err() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    if let Err(e) = runtime.map_err(|e| e.to_string()).and_then(|rt| rt.block_on(serve())) {
        println!("B24-FAILED {e}");
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

async fn serve() -> Result<(), String> {
    let store: Arc<dyn InstallationStore> = match env("B24_STORE").split_once(':') {
        Some(("sqlite", path)) => Arc::new(SqliteStore::open(path).map_err(|e| e.to_string())?),
        Some(("postgres", params)) => Arc::new(PostgresStore::connect(params).await.map_err(|e| e.to_string())?),
        _ => return Err("B24_STORE is sqlite:<path> or postgres:<params>".into()),
    };
    let mut config = b24_app::AppConfig::new(b24_transport::credentials::OAuthApp::new(
        env("B24_CLIENT_ID"),
        env("B24_CLIENT_SECRET"),
    ))
    .transport_config(b24_transport::TransportConfig::unlimited());
    for server in env("B24_TRUST").split(',') {
        config = config.trust_oauth_server(server);
    }
    let app: App = App::new(config, store).map_err(|e| e.to_string())?;
    let front = AppService::new(app, |event: Event, client: Transport| async move {
        if let EventKind::Crm { .. } = event.kind()? {
            client.call(B24Request::v2("server.time", &json!({}))?).await?;
        }
        Ok(())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    println!("READY {}", listener.local_addr().map_err(|e| e.to_string())?.port());
    let accept = async move {
        while let Ok((stream, _)) = listener.accept().await {
            let front = front.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| tower::ServiceExt::oneshot(front.clone(), request));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    };
    let mut line = String::new();
    let mut stdin = BufReader::new(tokio::io::stdin());
    tokio::select! {
        _ = accept => {}
        _ = stdin.read_line(&mut line) => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The test side: the portals.

struct AppProcess {
    _child: tokio::process::Child,
    url: String,
}

async fn start_app(vars: &[(&str, String)]) -> AppProcess {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = tokio::process::Command::new(exe);
    command.args(["worker", "--exact", "--nocapture", "--test-threads", "1"]).env(WORKER, "1");
    for (k, v) in vars {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("an app process");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        let line = lines.next_line().await.expect("output").unwrap_or_else(|| panic!("an app process died"));
        assert!(!line.contains("B24-FAILED"), "an app process failed: {line}");
        if let Some((_, port)) = line.split_once("READY ") {
            return AppProcess { _child: child, url: format!("http://127.0.0.1:{}", port.trim()) };
        }
    }
}

type Http = HttpClient<HttpConnector, Full<Bytes>>;

async fn post(http: &Http, url: String, body: String) -> (u16, String) {
    let request = http::Request::post(url).body(Full::new(Bytes::from(body))).expect("request");
    let response = http.request(request).await.expect("the app answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn scenario(store: String, open: impl std::future::Future<Output = Arc<dyn InstallationStore>>) {
    let portals = [Portal::start("a").await, Portal::start("b").await, Portal::start("c").await];
    let s = portals[0].emulator.settings();
    let trust: Vec<&str> = portals.iter().map(|p| p.oauth_server.as_str()).collect();
    let vars = [
        ("B24_STORE", store),
        ("B24_CLIENT_ID", s.client_id.clone()),
        ("B24_CLIENT_SECRET", s.client_secret.clone()),
        ("B24_TRUST", trust.join(",")),
    ];
    let apps = [start_app(&vars).await, start_app(&vars).await];
    let http: Http = HttpClient::builder(TokioExecutor::new()).build_http();

    // Installs, spread over both processes.
    for (i, portal) in portals.iter().enumerate() {
        let (status, body) = post(&http, format!("{}/install", apps[i % 2].url), portal.install_body()).await;
        assert_eq!(status, 200, "{body}");
    }
    let db = open.await;
    assert_eq!(db.member_ids().await.expect("list").len(), 3, "three installations in the shared store");

    // Events to both processes, each answered through its own portal; forged ones refused.
    for portal in &portals {
        let before = portal.emulator.counters().requests;
        for app in &apps {
            let event = portal.event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "5"}}), &portal.app_token);
            let (status, body) = post(&http, format!("{}/event", app.url), event).await;
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(portal.emulator.counters().requests, before + 2, "both calls went to the event's portal");
    }
    for app in &apps {
        for forged in [
            portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "5"}}), "fake-guessed-token"),
            portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "5"}}), &portals[2].app_token),
        ] {
            let (status, body) = post(&http, format!("{}/event", app.url), forged).await;
            assert_eq!(status, 401, "{body}");
            assert!(body.contains("JSSDK_EVENT_TOKEN_MISMATCH"), "{body}");
        }
    }

    // Every portal's token expires; both processes call every portal at once.
    for portal in &portals {
        portal.emulator.expire_access_tokens();
    }
    let burst = portals.iter().flat_map(|portal| {
        apps.iter().flat_map(move |app| {
            (0..10).map(move |i| {
                let event =
                    portal.event_body("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": i.to_string()}}), &portal.app_token);
                (format!("{}/event", app.url), event)
            })
        })
    });
    let answers = futures::future::join_all(burst.map(|(url, body)| post(&http, url, body))).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "every event answered: {answers:?}");
    for portal in &portals {
        let c = portal.emulator.counters();
        assert_eq!((c.oauth_refreshes, c.oauth_refused), (1, 0), "one refresh per portal across both processes");
    }

    // An uninstall through one process removes the portal for both.
    let (status, _) =
        post(&http, format!("{}/uninstall", apps[1].url), portals[2].uninstall_body(&portals[2].app_token)).await;
    assert_eq!(status, 200);
    let late = portals[2].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "1"}}), &portals[2].app_token);
    let (status, body) = post(&http, format!("{}/event", apps[0].url), late).await;
    assert_eq!(status, 404, "{body}");
    assert!(db.get(&portals[2].member_id).await.expect("get").is_none());
    assert_eq!(db.member_ids().await.expect("list").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_portals_two_processes_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("b24-app-processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("app.db");
    let open_path = path.clone();
    scenario(format!("sqlite:{}", path.display()), async move {
        Arc::new(SqliteStore::open(open_path).expect("open")) as Arc<dyn InstallationStore>
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_portals_two_processes_on_postgres() {
    let server = PgServer::start();
    let params = server.params();
    let open = params.clone();
    scenario(format!("postgres:{params}"), async move {
        Arc::new(PostgresStore::connect(&open).await.expect("connect")) as Arc<dyn InstallationStore>
    })
    .await;
}
