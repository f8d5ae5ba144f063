//! The accept loop: HTTP/1.1 and HTTP/2 over plain TCP or TLS, one task per connection.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::dispatch;
use crate::portal::Portal;

/// Accept connections until `shutdown` flips to true.
pub(crate) async fn serve(
    listener: TcpListener,
    portal: Arc<Portal>,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let Ok((stream, peer)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let portal = portal.clone();
        let tls = tls.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let secure = tls.is_some();
            let service = service_fn(move |request| dispatch::handle(portal.clone(), peer, secure, request));
            let builder = Builder::new(TokioExecutor::new());
            let served = async {
                match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(stream) => builder.serve_connection(TokioIo::new(stream), service).await,
                        Err(_) => Ok(()),
                    },
                    None => builder.serve_connection(TokioIo::new(stream), service).await,
                }
            };
            tokio::select! {
                _ = served => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

/// Bind `addr` (port 0 for a free one).
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
