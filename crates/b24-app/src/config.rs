//! [`AppConfig`]: the app's identity and how its per-portal clients are built.

use std::sync::Arc;

use b24_errors::{Code, Error};
use b24_transport::TransportConfig;
use b24_transport::credentials::{OAuthApp, is_loopback_host};
use b24_transport::http::HttpClient;
use b24_transport::shared::SharedState;

/// The OAuth servers trusted by default: Bitrix24's own.
pub const DEFAULT_OAUTH_SERVERS: [&str; 2] = ["oauth.bitrix.info", "oauth.bitrix24.tech"];

/// Everything an [`crate::App`] needs besides its store.
#[derive(Clone)]
pub struct AppConfig {
    pub(crate) app: OAuthApp,
    pub(crate) transport: TransportConfig,
    pub(crate) trusted_oauth_servers: Vec<String>,
    pub(crate) shared: Option<Arc<dyn SharedState>>,
    pub(crate) http: Option<HttpClient>,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("app", &self.app)
            .field("transport", &self.transport)
            .field("trusted_oauth_servers", &self.trusted_oauth_servers)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// An app with the standard plan's limits for every portal, trusting Bitrix24's OAuth
    /// servers.
    pub fn new(app: OAuthApp) -> AppConfig {
        AppConfig {
            app,
            transport: TransportConfig::standard(),
            trusted_oauth_servers: DEFAULT_OAUTH_SERVERS.iter().map(|s| (*s).to_owned()).collect(),
            shared: None,
            http: None,
        }
    }

    /// The transport settings of every portal's client (limits, retries, timeouts, TLS). Each
    /// portal still gets its own limiter state.
    pub fn transport_config(mut self, config: TransportConfig) -> AppConfig {
        self.transport = config;
        self
    }

    /// The portals' plan: the limits every portal's client keeps to (each portal with its own
    /// limiter state). Other transport settings are kept.
    pub fn plan(mut self, plan: b24_transport::config::Plan) -> AppConfig {
        self.transport.set_plan(plan);
        self
    }

    /// Trust another OAuth server (host, or `host:port`, or a URL): installations naming any
    /// other are refused, since the refresh token and the client secret are sent there.
    pub fn trust_oauth_server(mut self, server: &str) -> AppConfig {
        self.trusted_oauth_servers.push(crate::normalize_domain(server));
        self
    }

    /// Keep limiter state in a store shared by several processes (such as `b24_redis`); tokens
    /// always stay in the installation store.
    pub fn shared_state(mut self, shared: Arc<dyn SharedState>) -> AppConfig {
        self.shared = Some(shared);
        self
    }

    /// Use this HTTP client (its connection pool) for every portal; by default the app makes
    /// one from the transport settings and shares it.
    pub fn http_client(mut self, http: HttpClient) -> AppConfig {
        self.http = Some(http);
        self
    }

    /// The app's OAuth identity.
    pub fn oauth_app(&self) -> &OAuthApp {
        &self.app
    }

    /// Refuse a server endpoint or portal address the app should not send credentials to.
    pub(crate) fn check_endpoints(&self, server_endpoint: Option<&str>, client_endpoint: &str) -> Result<(), Error> {
        let untrusted = |what: String| Error::sdk(Code::JssdkAppUntrustedEndpoint, what);
        if let Some(server) = server_endpoint {
            let host = crate::normalize_domain(server);
            if !self.trusted_oauth_servers.contains(&host) {
                return Err(untrusted(format!(
                    "the installation names the OAuth server {host}, which this app does not trust"
                )));
            }
            let secure = server.starts_with("https://") || (server.starts_with("http://") && is_loopback(&host));
            if !secure {
                return Err(untrusted(format!("the OAuth server {host} is not addressed over https")));
            }
        }
        let host = crate::normalize_domain(client_endpoint);
        let secure = client_endpoint.starts_with("https://")
            || (client_endpoint.starts_with("http://") && (self.transport.allow_http || is_loopback(&host)));
        if host.is_empty() || !secure {
            return Err(untrusted(format!("the portal address of {host} is not an https URL")));
        }
        Ok(())
    }
}

fn is_loopback(host_port: &str) -> bool {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, port)| if port.parse::<u16>().is_ok() { h } else { host_port });
    is_loopback_host(host)
}
