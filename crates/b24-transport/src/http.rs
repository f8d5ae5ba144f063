//! The innermost piece: a pooled hyper client over rustls, reading bodies under a size cap.
//!
//! One [`HttpClient`] (one connection pool) can serve many transports: build it once with
//! [`HttpClient::new`] and hand it to each [`TransportBuilder`](crate::TransportBuilder) (an app
//! serving many portals does).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use b24_errors::{Code, Error, PortalFailure, RequestInfo, Scrubbed, scrub};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Which certificates TLS trusts. By default the operating system's store (which honours
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`) and Mozilla's roots bundled with b24, so that a portal
/// behind a company CA installed on the machine works as well as a cloud portal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// Trust the operating system's store (`SSL_CERT_FILE` / `SSL_CERT_DIR` when set). Default on.
    pub system_roots: bool,
    /// Trust Mozilla's roots bundled with b24 (webpki-roots). Default on.
    pub bundled_roots: bool,
    /// Also trust these CA certificates, PEM text (a company CA, the emulator's certificate).
    pub ca_pems: Vec<String>,
    /// Also trust the CA certificates in these PEM files (read when the client is built).
    pub ca_files: Vec<PathBuf>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig { system_roots: true, bundled_roots: true, ca_pems: Vec::new(), ca_files: Vec::new() }
    }
}

/// How one HTTP exchange failed.
#[derive(Debug)]
pub(crate) enum HttpFailure {
    /// No connection was made: the request was not sent.
    Connect(hyper_util::client::legacy::Error),
    /// The TLS handshake failed: the request was not sent, and sending again will not help.
    Tls(TlsFailure),
    /// The exchange failed after the request may have been sent.
    Network(hyper_util::client::legacy::Error),
    /// The body broke off.
    Body(hyper::Error),
    /// The body is over the cap.
    TooLarge { limit: usize },
}

/// Why a TLS handshake failed.
#[derive(Debug)]
pub(crate) enum TlsFailure {
    /// The portal's certificate is not trusted (unknown issuer, expired, wrong name…).
    Certificate(String),
    /// The other side did not answer in TLS at all (an http:// portal asked for https://).
    NotTls,
    /// Another handshake failure (an alert, no common protocol version…).
    Other(String),
}

impl HttpFailure {
    /// This failure as an error of the request `info` describes (`what` names the exchange in
    /// the message: the method, or "the OAuth token request"). Causes are flattened and
    /// scrubbed of `secrets`.
    pub(crate) fn into_error(self, info: RequestInfo, what: &str, secrets: &[&str]) -> Error {
        let (code, message, cause) = match self {
            HttpFailure::Connect(e) => (
                Code::JssdkConnectError,
                format!("could not connect to the portal for {what}"),
                Scrubbed::new(&e, secrets),
            ),
            HttpFailure::Tls(TlsFailure::Certificate(why)) => (
                Code::JssdkTlsCertificateError,
                format!("the portal's TLS certificate is not trusted ({why}) for {what}"),
                Scrubbed::message(why),
            ),
            HttpFailure::Tls(TlsFailure::NotTls) => (
                Code::JssdkTlsHandshakeError,
                format!("the portal did not answer in TLS for {what}: does it serve plain http (an http:// address)?"),
                Scrubbed::message("not a TLS answer"),
            ),
            HttpFailure::Tls(TlsFailure::Other(why)) => (
                Code::JssdkTlsHandshakeError,
                format!("the TLS handshake with the portal failed for {what}: {why}"),
                Scrubbed::message(scrub(&why, secrets)),
            ),
            HttpFailure::Network(e) => {
                (Code::JssdkNetworkError, format!("the connection failed during {what}"), Scrubbed::new(&e, secrets))
            }
            HttpFailure::Body(e) => {
                (Code::JssdkResponseTruncated, format!("the answer to {what} broke off"), Scrubbed::new(&e, secrets))
            }
            HttpFailure::TooLarge { limit } => {
                let message = format!("the answer to {what} is over the {limit}-byte cap");
                let failure = PortalFailure::new(Code::JssdkResponseTooLarge.into(), 502, message, info);
                return Error::portal(failure);
            }
        };
        let failure = PortalFailure::new(code.into(), code.status().unwrap_or(502), message, info);
        Error::portal_caused(failure, cause)
    }
}

/// An answer with its body read.
pub(crate) struct HttpAnswer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A cloneable pooled client: clones share one connection pool. The wire service marks
/// `Authorization` sensitive where it builds the header, so neither hyper nor `http`'s `Debug`
/// ever prints a bearer token.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
}

fn invalid_config(message: String) -> Error {
    Error::sdk(Code::JssdkInvalidConfig, message)
}

/// The system store, read once per process (it does not change while we run).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::debug!(target: "b24::tls", %error, "a system certificate could not be read");
        }
        loaded.certs
    })
}

fn add_pem(store: &mut rustls::RootCertStore, pem: &[u8], origin: &str) -> Result<(), Error> {
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| invalid_config(format!("{origin} is not valid PEM: {e}")))?;
        store.add(cert).map_err(|e| invalid_config(format!("a certificate in {origin} was refused: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(invalid_config(format!("{origin} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")));
    }
    Ok(())
}

fn root_store(tls: &TlsConfig) -> Result<rustls::RootCertStore, Error> {
    let mut store = rustls::RootCertStore::empty();
    if tls.system_roots {
        // Unusable system certificates are skipped, as browsers do.
        let _ = store.add_parsable_certificates(system_roots().iter().cloned());
    }
    if tls.bundled_roots {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for pem in &tls.ca_pems {
        add_pem(&mut store, pem.as_bytes(), "a trusted certificate")?;
    }
    for path in &tls.ca_files {
        let pem = std::fs::read(path)
            .map_err(|e| invalid_config(format!("cannot read the CA certificate file {}: {e}", path.display())))?;
        add_pem(&mut store, &pem, &format!("the CA certificate file {}", path.display()))?;
    }
    if store.is_empty() {
        return Err(invalid_config(
            "TLS trusts no certificate at all: keep the system or bundled roots, or add a CA certificate".into(),
        ));
    }
    Ok(store)
}

fn tls_client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid_config(format!("TLS cannot be set up: {e}")))?
        .with_root_certificates(root_store(tls)?)
        .with_no_client_auth();
    Ok(config)
}

/// The rustls error somewhere in `error`'s chain (hyper-rustls wraps it in an `io::Error`, whose
/// `source()` skips the wrapped error itself, so each `io::Error` is opened by hand).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(found) = rustls_error(found) {
                return Some(found);
            }
        }
        next = e.source();
    }
    None
}

fn classify_tls(error: &hyper_util::client::legacy::Error) -> Option<TlsFailure> {
    let found = rustls_error(error)?;
    Some(match found {
        rustls::Error::InvalidCertificate(why) => TlsFailure::Certificate(format!("{why:?}")),
        rustls::Error::InvalidMessage(_) => TlsFailure::NotTls,
        other => TlsFailure::Other(other.to_string()),
    })
}

impl HttpClient {
    /// A client with the TLS roots, connect timeout and pool size of `config`.
    pub fn new(config: &crate::TransportConfig) -> Result<HttpClient, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_client_config(&config.tls)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(config.pool_idle_per_host)
            .build(connector);
        Ok(HttpClient { client })
    }

    /// Send and read the whole body, refusing bodies over `max_body` bytes.
    pub(crate) async fn send(&self, request: Request<Full<Bytes>>, max_body: usize) -> Result<HttpAnswer, HttpFailure> {
        // `request` borrows the client: no copy of it (and of its connector and pool handles) per call.
        let response = self.client.request(request).await.map_err(|e| {
            if let Some(tls) = classify_tls(&e) {
                HttpFailure::Tls(tls)
            } else if e.is_connect() {
                HttpFailure::Connect(e)
            } else {
                HttpFailure::Network(e)
            }
        })?;
        let (parts, body) = response.into_parts();
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > max_body) {
            return Err(HttpFailure::TooLarge { limit: max_body });
        }
        let body = match http_body_util::Limited::new(body, max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return Err(match e.downcast::<hyper::Error>() {
                    Ok(hyper_error) => HttpFailure::Body(*hyper_error),
                    Err(_) => HttpFailure::TooLarge { limit: max_body },
                });
            }
        };
        Ok(HttpAnswer { status: parts.status, headers: parts.headers, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_cannot_be_read_names_the_file_and_the_reason() {
        let tls = TlsConfig { ca_files: vec!["/nonexistent/ca.pem".into()], ..TlsConfig::default() };
        let e = root_store(&tls).expect_err("missing file");
        assert_eq!(e.code(), Code::JssdkInvalidConfig);
        assert!(e.message().contains("/nonexistent/ca.pem") && e.message().contains("No such file"), "{}", e.message());
    }

    #[test]
    fn a_pem_without_certificates_is_refused() {
        let tls = TlsConfig { ca_pems: vec!["not a certificate".into()], ..TlsConfig::default() };
        let e = root_store(&tls).expect_err("no certificate");
        assert!(e.message().contains("no PEM certificate"), "{}", e.message());
    }

    #[test]
    fn trusting_nothing_is_a_configuration_error() {
        let tls = TlsConfig { system_roots: false, bundled_roots: false, ..TlsConfig::default() };
        assert_eq!(root_store(&tls).expect_err("empty").code(), Code::JssdkInvalidConfig);
    }

    #[test]
    fn rustls_errors_are_found_inside_io_errors() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        let found = rustls_error(&io).expect("found");
        assert!(matches!(found, rustls::Error::InvalidCertificate(_)));
    }
}
