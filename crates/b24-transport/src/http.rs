//! The innermost piece: a pooled hyper client over rustls, reading bodies under a size cap.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Which root certificates TLS trusts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsRoots {
    /// Mozilla's roots, bundled (webpki-roots): the same everywhere.
    #[default]
    Bundled,
    /// The operating system's store.
    Native,
    /// The bundled roots plus these PEM certificates (a self-hosted portal, the emulator).
    BundledPlus(Vec<String>),
}

/// How one HTTP exchange failed.
#[derive(Debug)]
pub(crate) enum HttpFailure {
    /// No connection was made: the request was not sent.
    Connect(hyper_util::client::legacy::Error),
    /// The exchange failed after the request may have been sent.
    Network(hyper_util::client::legacy::Error),
    /// The body broke off.
    Body(hyper::Error),
    /// The body is over the cap.
    TooLarge { limit: usize },
}

/// An answer with its body read.
pub(crate) struct HttpAnswer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A cloneable pooled client. The wire service marks `Authorization` sensitive where it builds
/// the header, so neither hyper nor `http`'s `Debug` ever prints a bearer token.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
}

fn tls_config(roots: &TlsRoots) -> Result<rustls::ClientConfig, String> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        TlsRoots::Native => {
            let loaded = rustls_native_roots();
            for cert in loaded {
                let _ = store.add(cert);
            }
        }
        TlsRoots::Bundled | TlsRoots::BundledPlus(_) => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    if let TlsRoots::BundledPlus(pems) = roots {
        for pem in pems {
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| format!("a trusted certificate is not valid PEM: {e}"))?;
                store.add(cert).map_err(|e| format!("a trusted certificate was refused: {e}"))?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(config)
}

fn rustls_native_roots() -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls_native_certs::load_native_certs().certs
}

use rustls::pki_types::pem::PemObject as _;

impl HttpClient {
    /// A client trusting `roots`, with connect timeout and pool settings.
    pub fn new(roots: &TlsRoots, connect_timeout: Duration, pool_idle: usize) -> Result<HttpClient, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(roots)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(pool_idle)
            .build(connector);
        Ok(HttpClient { client })
    }

    /// Send and read the whole body, refusing bodies over `max_body` bytes.
    pub(crate) async fn send(&self, request: Request<Full<Bytes>>, max_body: usize) -> Result<HttpAnswer, HttpFailure> {
        // `request` borrows the client: no copy of it (and of its connector and pool handles) per call.
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| if e.is_connect() { HttpFailure::Connect(e) } else { HttpFailure::Network(e) })?;
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
