//! Portals for the tests: an emulator each (`Settings::fast().numbered(n)`: its own address,
//! member id, application token and OAuth server), which plays the portal's side itself
//! (installs, bound events, uninstalls). The hand-built form bodies here are only for what a
//! portal never sends: forged or replayed requests (PHP bracket keys, every value a string).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use b24_app::{AppConfig, AppService};
use b24_emulator::{Delivery, Emulator, EmulatorHandle, Settings};
use b24_transport::credentials::{OAuthApp, OAuthCredentials, TokenSet, Webhook};
use b24_transport::php_query::encode;
use b24_transport::{B24Request, Transport, TransportBuilder, TransportConfig};
use serde_json::{Value, json};

/// One portal: an emulator and a webhook into it (the portal's own users' side).
pub struct Portal {
    pub emulator: EmulatorHandle,
    pub admin: Transport,
    /// `http://127.0.0.1:<port>`: the emulator's OAuth server behind a 200 ms delay.
    pub slow_oauth: String,
}

impl Portal {
    /// Portal number `n` (1, 2, 3…): its own member id and application token.
    pub async fn start(n: u32) -> Portal {
        let emulator = Emulator::start(Settings::fast().numbered(n).with_rows(0)).await.expect("emulator");
        let hook = Webhook::parse(&emulator.webhook_url(), false).expect("webhook");
        let admin = TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport");
        let slow_oauth = proxy(emulator.base_url().to_owned(), Duration::from_millis(200), |body| body).await;
        Portal { emulator, admin, slow_oauth }
    }

    /// The portal installs the app at `install_url` (`http://host:port/path`), its POST relayed
    /// with `auth[server_endpoint]` naming [`Portal::slow_oauth`]; the app's status.
    pub async fn install_with_slow_oauth(&self, install_url: &str) -> Option<u16> {
        let (base, path) = install_url.split_at(install_url.find("://").map_or(0, |i| i + 3));
        let (host, path) = path.split_at(path.find('/').unwrap_or(path.len()));
        let server = format!("{}/rest/", self.slow_oauth);
        let relay = proxy(format!("{base}{host}"), Duration::ZERO, move |body| {
            let mut form = b24_transport::php_query::decode(&String::from_utf8_lossy(&body));
            form["auth"]["server_endpoint"] = json!(server);
            encode(&form).into()
        })
        .await;
        self.emulator.install_app(&format!("{relay}{path}")).await
    }

    /// A client of the installed app in this portal, on a fresh token pair (`event.*` takes
    /// only an application's token: a webhook gets `WRONG_AUTH_TYPE`).
    pub fn app_client(&self) -> Transport {
        let s = self.emulator.settings();
        let pair = self.emulator.issue_tokens();
        let server = Some(format!("{}/rest/", self.emulator.base_url()));
        let tokens = TokenSet::new(pair.access_token, pair.refresh_token, self.emulator.client_endpoint(), server);
        let credentials = OAuthCredentials::new(OAuthApp::new(s.client_id, s.client_secret), tokens);
        TransportBuilder::new(credentials).config(TransportConfig::unlimited()).build().expect("transport")
    }

    pub fn member_id(&self) -> String {
        self.emulator.settings().member_id
    }

    /// The application token the portal puts in every event of the app.
    pub fn app_token(&self) -> String {
        self.emulator.settings().application_token
    }

    /// The portal's domain as its events name it.
    pub fn domain(&self) -> String {
        self.emulator.settings().domain.unwrap_or_else(|| b24_app::normalize_domain(self.emulator.base_url()))
    }

    /// A REST call through the webhook; the `result`.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let request = B24Request::v2(method, &params).expect("request");
        self.admin.call(request).await.unwrap_or_else(|e| panic!("{method}: {e}")).value().expect("a result")
    }

    /// Wait (at most 20 s) until the portal has made `count` deliveries of `event`; those.
    pub async fn delivered(&self, event: &str, count: usize) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let done: Vec<Delivery> = self.emulator.deliveries().into_iter().filter(|d| d.event == event).collect();
            if done.len() >= count {
                return done;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} deliveries of {event} made in 20 s: {done:?}",
                done.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The `auth` block of an event carrying a fresh token pair and `app_token`.
    pub fn auth(&self, app_token: &str) -> Value {
        let pair = self.emulator.issue_tokens();
        json!({
            "access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires": (pair.expires as u64).to_string(), "expires_in": "3600", "scope": "crm,task",
            "domain": self.domain(), "client_endpoint": self.emulator.client_endpoint(),
            "server_endpoint": self.emulator.client_endpoint(), "status": "L",
            "member_id": self.member_id(), "user_id": "1", "application_token": app_token,
        })
    }

    /// `ONAPPINSTALL` carrying `app_token`: for forged (re)installs only.
    pub fn install_body(&self, app_token: &str) -> String {
        encode(&json!({
            "event": "ONAPPINSTALL", "event_handler_id": "1",
            "data": {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "en"},
            "ts": "1700000000", "auth": self.auth(app_token),
        }))
    }

    /// An event of this portal carrying `app_token`: for forged or replayed events only.
    pub fn event_body(&self, event: &str, data: Value, app_token: &str) -> String {
        encode(&json!({
            "event": event, "event_handler_id": "7", "data": data, "ts": "1700000100", "auth": self.auth(app_token),
        }))
    }

    /// `ONAPPUNINSTALL` carrying `app_token`: for forged uninstalls only.
    pub fn uninstall_body(&self, app_token: &str) -> String {
        encode(&json!({
            "event": "ONAPPUNINSTALL", "data": {"CLEAN": "0", "LANGUAGE_ID": "en"}, "ts": "1700000200",
            "auth": {"domain": self.domain(), "member_id": self.member_id(), "application_token": app_token},
        }))
    }
}

/// The app (the emulators' OAuth client) trusting every portal's OAuth server.
pub fn config(portals: &[&Portal]) -> AppConfig {
    let s = portals[0].emulator.settings();
    let mut config = AppConfig::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()))
        .transport_config(TransportConfig::unlimited());
    for portal in portals {
        config = config.trust_oauth_server(portal.emulator.base_url()).trust_oauth_server(&portal.slow_oauth);
    }
    config
}

/// Serve `front` on a free loopback port: `http://127.0.0.1:<port>`.
pub async fn serve(front: AppService<Transport>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let front = front.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| tower::ServiceExt::oneshot(front.clone(), request));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    url
}

/// `http://127.0.0.1:<port>`: forwards every request to `target` (same path and query) after
/// `delay`, its body passed through `rewrite`.
async fn proxy(target: String, delay: Duration, rewrite: impl Fn(Bytes) -> Bytes + Send + Sync + 'static) -> String {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let rewrite = Arc::new(rewrite);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (http, target, rewrite) = (http.clone(), target.clone(), rewrite.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (http, target, rewrite) = (http.clone(), target.clone(), rewrite.clone());
                    async move {
                        tokio::time::sleep(delay).await;
                        let (parts, body) = request.into_parts();
                        let body = rewrite(body.collect().await.map(|b| b.to_bytes()).unwrap_or_default());
                        let uri = format!("{target}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
                        let mut forward = hyper::Request::builder().method(parts.method).uri(uri);
                        for (name, value) in &parts.headers {
                            if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
                                forward = forward.header(name, value);
                            }
                        }
                        let answer =
                            http.request(forward.body(Full::new(body)).expect("request")).await.expect("an answer");
                        let (parts, body) = answer.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        Ok::<_, std::convert::Infallible>(hyper::Response::from_parts(parts, Full::new(body)))
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    url
}
