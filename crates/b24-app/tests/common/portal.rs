//! Portals for the tests: an emulator each (its own address, OAuth server and tokens), and the
//! form bodies a Bitrix24 portal posts to an app, built the way the portal builds them (PHP
//! bracket keys, every value a string).

use b24_app::AppConfig;
use b24_emulator::{Emulator, EmulatorHandle, Settings};
use b24_transport::TransportConfig;
use b24_transport::credentials::OAuthApp;
use b24_transport::php_query::encode;
use serde_json::{Value, json};

/// One portal: an emulator, the member id it stands for and the app token it gives the app.
/// Its OAuth server is reached through a proxy that holds every token request back 200 ms, so
/// that refreshes of several processes overlap whenever nothing coordinates them.
pub struct Portal {
    pub emulator: EmulatorHandle,
    pub member_id: String,
    pub app_token: String,
    pub oauth_server: String,
}

impl Portal {
    pub async fn start(name: &str) -> Portal {
        let emulator = Emulator::start(Settings::fast()).await.expect("emulator");
        let oauth_server = slow_proxy(emulator.base_url().to_owned()).await;
        Portal {
            emulator,
            member_id: format!("member-{name}"),
            app_token: format!("fake-app-token-{name}"),
            oauth_server,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn domain(&self) -> String {
        b24_app::normalize_domain(self.emulator.base_url())
    }

    /// The `auth` block of an event carrying a fresh token pair and `app_token`.
    pub fn auth(&self, app_token: &str) -> Value {
        let pair = self.emulator.issue_tokens();
        json!({
            "access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires": (pair.expires as u64).to_string(), "expires_in": "3600", "scope": "crm,task",
            "domain": self.domain(), "client_endpoint": self.emulator.client_endpoint(),
            "server_endpoint": format!("{}/rest/", self.oauth_server), "status": "L",
            "member_id": self.member_id, "user_id": "1", "application_token": app_token,
        })
    }

    /// `ONAPPINSTALL` as the portal posts it.
    pub fn install_body(&self) -> String {
        encode(&json!({
            "event": "ONAPPINSTALL", "event_handler_id": "1",
            "data": {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "en"},
            "ts": "1700000000", "auth": self.auth(&self.app_token),
        }))
    }

    /// An event of this portal carrying `app_token` (the real one, or a forged one).
    pub fn event_body(&self, event: &str, data: Value, app_token: &str) -> String {
        encode(&json!({
            "event": event, "event_handler_id": "7", "data": data, "ts": "1700000100", "auth": self.auth(app_token),
        }))
    }

    /// `ONAPPUNINSTALL` (its auth block has no token pair).
    pub fn uninstall_body(&self, app_token: &str) -> String {
        encode(&json!({
            "event": "ONAPPUNINSTALL", "data": {"CLEAN": "0", "LANGUAGE_ID": "en"}, "ts": "1700000200",
            "auth": {"domain": self.domain(), "member_id": self.member_id, "application_token": app_token},
        }))
    }
}

/// The app (the emulators' OAuth client) trusting every portal's OAuth server.
pub fn config(portals: &[&Portal]) -> AppConfig {
    let s = portals[0].emulator.settings();
    let mut config = AppConfig::new(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()))
        .transport_config(TransportConfig::unlimited());
    for portal in portals {
        config = config.trust_oauth_server(&portal.oauth_server);
    }
    config
}

/// `http://127.0.0.1:<port>`: forwards every request to `target` after 200 ms.
async fn slow_proxy(target: String) -> String {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (http, target) = (http.clone(), target.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (http, target) = (http.clone(), target.clone());
                    async move {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let uri = format!("{target}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
                        let mut forward = hyper::Request::builder().method(parts.method).uri(uri);
                        for (name, value) in &parts.headers {
                            if name != hyper::header::HOST {
                                forward = forward.header(name, value);
                            }
                        }
                        let answer = http
                            .request(forward.body(Full::new(body)).expect("request"))
                            .await
                            .expect("the emulator answers");
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
