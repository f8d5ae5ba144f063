//! Three portals, two app processes, one database: the done-when scenario of the app kit, on
//! both stores. Three emulators play the portals, and play them themselves: they install the
//! app, deliver the events bound to it and uninstall it. The test starts this test binary twice
//! more as app processes, each with its own `App` and HTTP front over the same store (an SQLite
//! file, or a PostgreSQL server the test starts on 127.0.0.1).
//!
//! - each portal installs the app through either process; the app binds its events to both;
//! - a deal made in a portal is delivered to both processes, each answering through that portal;
//! - forged events (a guessed token, another portal's token: posted by hand, since no portal
//!   sends them) are refused by both;
//! - offline events: one process drains a portal's queue and its handler fails once; the other
//!   process resumes with the same process id; every event is handled once, none is lost;
//! - every portal's access token expires while it delivers a burst of events to both processes
//!   at once: one refresh per portal at its OAuth server, none refused;
//! - a portal's uninstall, through one process, removes the portal for both.

mod common;

use std::convert::Infallible;
use std::process::Stdio;
use std::sync::Arc;

use b24_app::bind::{Binding, bind};
use b24_app::{App, AppService, Event, EventKind, InstallationStore, OfflineEvents, PostgresStore, SqliteStore};
use b24_errors::{Code, Error};
use b24_transport::{B24Request, Transport};
use bytes::Bytes;
use common::pg::PgServer;
use common::portal::{Portal, config};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
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
    let front = AppService::new(app.clone(), |event: Event, client: Transport| async move {
        if let EventKind::Crm { .. } = event.kind()? {
            client.call(B24Request::v2("server.time", &json!({}))?).await?;
        }
        Ok(())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    println!("READY {}", listener.local_addr().map_err(|e| e.to_string())?.port());
    let accept = async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (front, app) = (front.clone(), app.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (front, app) = (front.clone(), app.clone());
                    async move {
                        if request.uri().path() == "/drain" {
                            let query = request.uri().query().unwrap_or_default().to_owned();
                            Ok::<_, Infallible>(drain(&app, &query).await)
                        } else {
                            tower::ServiceExt::oneshot(front, request).await
                        }
                    }
                });
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

/// The record's `data[FIELDS][ID]` (a number or a string).
fn record_id(data: &Value) -> u64 {
    let id = &data["FIELDS"]["ID"];
    id.as_u64().or_else(|| id.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)
}

/// `GET /drain?member=M&fail_at=ID&resume=PID` (the test's control, not the app's front): drain
/// portal M's offline queue in this process (two records a fetch), the handler failing on the
/// record of `fail_at`; answers `{"handled": [ids], "process_id", "error": code or null}`.
async fn drain(app: &App, query: &str) -> hyper::Response<Full<Bytes>> {
    let q = b24_transport::php_query::decode(query);
    let member = q["member"].as_str().unwrap_or_default();
    let fail_at: u64 = q["fail_at"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    let answer = match app.client(member).await {
        Err(e) => json!({"error": e.code().to_string(), "handled": []}),
        Ok(client) => {
            let mut consumer = OfflineEvents::new(client).limit(2);
            if let Some(pid) = q["resume"].as_str().filter(|p| !p.is_empty()) {
                consumer = consumer.resume(pid);
            }
            let mut handled = Vec::new();
            let outcome = consumer
                .drain(|event| {
                    let id = record_id(&event.data);
                    let fail = id == fail_at;
                    if !fail {
                        handled.push(id);
                    }
                    async move {
                        match fail {
                            true => Err(Error::sdk(Code::JssdkInternalError, "the handler's database is down")),
                            false => Ok(()),
                        }
                    }
                })
                .await;
            let error = outcome.err().map(|e| e.code().to_string());
            json!({"handled": handled, "process_id": consumer.process_id(), "error": error})
        }
    };
    hyper::Response::new(Full::new(Bytes::from(answer.to_string())))
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

async fn request(http: &Http, request: http::Request<Full<Bytes>>) -> (u16, String) {
    let response = http.request(request).await.expect("the app answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn post(http: &Http, url: String, body: String) -> (u16, String) {
    request(http, http::Request::post(url).body(Full::new(Bytes::from(body))).expect("request")).await
}

/// Ask `app` to drain `portal`'s offline queue (see [`drain`]).
async fn drain_in(http: &Http, app: &AppProcess, portal: &Portal, fail_at: u64, resume: &str) -> Value {
    let url = format!("{}/drain?member={}&fail_at={fail_at}&resume={resume}", app.url, portal.member_id());
    let (status, body) = request(http, http::Request::get(url).body(Full::default()).expect("request")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a drain report")
}

fn ids(value: &Value) -> Vec<u64> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}

/// The portal's offline queue as it is (`event.offline.list`): `(data ID, PROCESS_ID)`.
async fn queued(app: &App, portal: &Portal) -> Vec<(u64, String)> {
    let client = app.client(&portal.member_id()).await.expect("client");
    let list = client.call(B24Request::v2("event.offline.list", &json!({})).expect("request")).await;
    let list = list.expect("event.offline.list").value().expect("a list");
    let records = list.as_array().cloned().unwrap_or_default();
    records
        .iter()
        .map(|r| (record_id(&r["EVENT_DATA"]), r["PROCESS_ID"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

async fn scenario(store: String, open: impl std::future::Future<Output = Arc<dyn InstallationStore>>) {
    let portals = [Portal::start(1).await, Portal::start(2).await, Portal::start(3).await];
    let s = portals[0].emulator.settings();
    let trust: Vec<&str> = portals.iter().flat_map(|p| [p.emulator.base_url(), p.slow_oauth.as_str()]).collect();
    let vars = [
        ("B24_STORE", store),
        ("B24_CLIENT_ID", s.client_id.clone()),
        ("B24_CLIENT_SECRET", s.client_secret.clone()),
        ("B24_TRUST", trust.join(",")),
    ];
    let apps = [start_app(&vars).await, start_app(&vars).await];
    let http: Http = HttpClient::builder(TokioExecutor::new()).build_http();

    // Each portal installs the app, through either process (naming its slow OAuth server).
    for (i, portal) in portals.iter().enumerate() {
        assert_eq!(portal.install_with_slow_oauth(&format!("{}/install", apps[i % 2].url)).await, Some(200));
    }
    let db = open.await;
    assert_eq!(db.member_ids().await.expect("list").len(), 3, "three installations in the shared store");

    // The app's operator, on the same store, binds the app's events to both processes: deal
    // events to the first one first, contact updates to the second one first (a portal posts
    // one change's deliveries in order, so a burst of both reaches both processes at once);
    // new contacts offline.
    let operator: App = App::new(config(&portals.iter().collect::<Vec<_>>()), db.clone()).expect("app");
    for portal in &portals {
        let client = operator.client(&portal.member_id()).await.expect("client");
        for (event, order) in [("ONCRMDEALADD", [0, 1]), ("ONCRMDEALUPDATE", [0, 1]), ("ONCRMCONTACTUPDATE", [1, 0])] {
            for i in order {
                bind(&client, &Binding::online(event, format!("{}/event", apps[i].url))).await.expect("bind");
            }
        }
        bind(&client, &Binding::offline("ONCRMCONTACTADD")).await.expect("bind offline");
    }

    // A deal made in a portal is delivered to both processes, each answering through it.
    let mut deals = Vec::new();
    for portal in &portals {
        let before = portal.emulator.counters().requests;
        let deal = portal.call("crm.deal.add", json!({"fields": {"TITLE": "A deal"}})).await;
        deals.push(deal.as_u64().expect("a deal id"));
        let delivered = portal.delivered("ONCRMDEALADD", 2).await;
        assert!(delivered.iter().all(|d| d.status == Some(200)), "{delivered:?}");
        assert_eq!(portal.emulator.counters().requests, before + 3, "crm.deal.add, then one call from each process");
    }
    for app in &apps {
        for forged in [
            portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "5"}}), "fake-guessed-token"),
            portals[0].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "5"}}), &portals[2].app_token()),
        ] {
            let (status, body) = post(&http, format!("{}/event", app.url), forged).await;
            assert_eq!(status, 401, "{body}");
            assert!(body.contains("JSSDK_EVENT_TOKEN_MISMATCH"), "{body}");
        }
    }

    // Offline events: one process drains and its handler fails once; the other resumes with
    // the same process id. Every event is handled once, none is lost.
    let mut contacts = Vec::new();
    for (i, portal) in portals.iter().enumerate() {
        let mut added = Vec::new();
        for n in 0..5 {
            let id = portal.call("crm.contact.add", json!({"fields": {"NAME": format!("Contact {n}")}})).await;
            added.push(id.as_u64().expect("a contact id"));
        }
        let (first, second) = (&apps[i % 2], &apps[(i + 1) % 2]);
        let failed = drain_in(&http, first, portal, added[2], "").await;
        assert_eq!(failed["error"], "JSSDK_APP_HANDLER_FAILED", "{failed}");
        assert_eq!(ids(&failed["handled"]), added[..2], "handled in order up to the failure");
        let pid = failed["process_id"].as_str().expect("a process id").to_owned();
        let left = queued(&operator, portal).await;
        // Fetched two at a time: the failed one and the one fetched with it stay reserved for
        // the process id, the last one was never fetched.
        let reserved = |n: usize| if n < 4 { pid.clone() } else { String::new() };
        let expected: Vec<(u64, String)> = (2..5).map(|n| (added[n], reserved(n))).collect();
        assert_eq!(left, expected, "the failed event and the rest stay queued");
        let resumed = drain_in(&http, second, portal, 0, &pid).await;
        assert_eq!(resumed["error"], Value::Null, "{resumed}");
        assert_eq!(ids(&resumed["handled"]), added[2..], "the other process resumes where the first failed");
        assert_eq!(queued(&operator, portal).await, [], "everything cleared");
        contacts.push(added[0]);
    }

    // Every portal's token expires; each portal delivers a burst of deal and contact updates
    // to both processes at once.
    for portal in &portals {
        portal.emulator.expire_access_tokens();
    }
    let updates = portals.iter().zip(&deals).zip(&contacts).flat_map(|((portal, deal), contact)| {
        (0..10).map(move |n| {
            let (method, id) = if n % 2 == 0 { ("crm.deal.update", deal) } else { ("crm.contact.update", contact) };
            portal.call(method, json!({"id": id, "fields": {"COMMENTS": n}}))
        })
    });
    futures::future::join_all(updates).await;
    for portal in &portals {
        for event in ["ONCRMDEALUPDATE", "ONCRMCONTACTUPDATE"] {
            let delivered = portal.delivered(event, 10).await;
            assert!(delivered.iter().all(|d| d.status == Some(200)), "every event answered: {delivered:?}");
        }
        let c = portal.emulator.counters();
        assert_eq!((c.oauth_refreshes, c.oauth_refused), (1, 0), "one refresh per portal across both processes");
    }

    // A portal uninstalls the app through one process: gone for both.
    assert_eq!(portals[2].emulator.uninstall_app(&format!("{}/uninstall", apps[1].url)).await, Some(200));
    let late = portals[2].event_body("ONCRMDEALADD", json!({"FIELDS": {"ID": "1"}}), &portals[2].app_token());
    let (status, body) = post(&http, format!("{}/event", apps[0].url), late).await;
    assert_eq!(status, 404, "a replayed event of the uninstalled portal: {body}");
    assert!(db.get(&portals[2].member_id()).await.expect("get").is_none());
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
