//! The HTTP front: a tower [`Service`] for `http::Request<B>` with any body (axum mounts it
//! with `Router::nest_service` or `route_service`; hyper serves it through `TowerToHyperService`)
//! that takes the portal's POSTs at four paths:
//!
//! | path (default) | takes | does |
//! | --- | --- | --- |
//! | `/install` | `ONAPPINSTALL`, or the install placement POST | stores the installation |
//! | `/uninstall` | `ONAPPUNINSTALL` | removes the installation and its tokens |
//! | `/event` | any event (install and uninstall too) | acts on it, then calls your handler with the portal's client (for every event but `ONAPPUNINSTALL`, after which the portal has no client) |
//! | `/placement` | a placement POST | installs if new, then calls your placement handler |
//!
//! A bad or forged request becomes a coded error with its status (400 malformed, 401 forged,
//! 404 unknown portal or path, 405 not a POST, 413 too large) and a body
//! `{"error": "<code>", "error_description": "<message>"}`; no secret is ever in it or in the log.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use b24_errors::{Code, Error};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use tower::Service;

use crate::app::{App, Received};
use crate::event::Event;
use crate::placement::Placement;
use crate::registry::PortalClient;

/// What the app does with a checked event.
pub trait EventHandler<C>: Send + Sync + 'static {
    /// Handle `event` of the portal `client` talks to. An error answers the portal with
    /// `JSSDK_APP_HANDLER_FAILED` (500).
    fn handle(&self, event: Event, client: C) -> BoxFuture<'static, Result<(), Error>>;
}

impl<C, F, Fut> EventHandler<C> for F
where
    F: Fn(Event, C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn handle(&self, event: Event, client: C) -> BoxFuture<'static, Result<(), Error>> {
        Box::pin(self(event, client))
    }
}

/// What the app answers when a portal opens it in a frame.
pub type PlacementHandler<C> =
    Arc<dyn Fn(Placement, C) -> BoxFuture<'static, Result<Response<Full<Bytes>>, Error>> + Send + Sync>;

/// The paths the front serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    /// `ONAPPINSTALL` or the install placement (default `/install`).
    pub install: String,
    /// `ONAPPUNINSTALL` (default `/uninstall`).
    pub uninstall: String,
    /// Every event (default `/event`).
    pub event: String,
    /// Placements (default `/placement`).
    pub placement: String,
}

impl Default for Routes {
    fn default() -> Routes {
        Routes {
            install: "/install".into(),
            uninstall: "/uninstall".into(),
            event: "/event".into(),
            placement: "/placement".into(),
        }
    }
}

/// The app's HTTP front. Cheap to clone.
pub struct AppService<C> {
    app: App<C>,
    handler: Arc<dyn EventHandler<C>>,
    placement: Option<PlacementHandler<C>>,
    routes: Arc<Routes>,
    body_limit: usize,
}

impl<C> Clone for AppService<C> {
    fn clone(&self) -> Self {
        AppService {
            app: self.app.clone(),
            handler: self.handler.clone(),
            placement: self.placement.clone(),
            routes: self.routes.clone(),
            body_limit: self.body_limit,
        }
    }
}

impl<C> std::fmt::Debug for AppService<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppService").field("routes", &self.routes).field("body_limit", &self.body_limit).finish()
    }
}

impl<C: PortalClient> AppService<C> {
    /// A front for `app` that hands every checked event to `handler`.
    pub fn new(app: App<C>, handler: impl EventHandler<C>) -> AppService<C> {
        AppService { app, handler: Arc::new(handler), placement: None, routes: Arc::default(), body_limit: 1 << 20 }
    }

    /// Serve other paths.
    pub fn routes(mut self, routes: Routes) -> AppService<C> {
        self.routes = Arc::new(routes);
        self
    }

    /// Answer placements with `handler` (by default: `200 OK`, text).
    pub fn on_placement<F, Fut>(mut self, handler: F) -> AppService<C>
    where
        F: Fn(Placement, C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Full<Bytes>>, Error>> + Send + 'static,
    {
        self.placement = Some(Arc::new(move |p, c| Box::pin(handler(p, c))));
        self
    }

    /// The largest body accepted (default 1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> AppService<C> {
        self.body_limit = bytes;
        self
    }

    async fn route(
        self,
        method: Method,
        path: String,
        query: String,
        body: String,
    ) -> Result<Response<Full<Bytes>>, Error> {
        let r = &*self.routes;
        let known = [&r.install, &r.uninstall, &r.event, &r.placement].into_iter().any(|p| *p == path);
        if !known {
            return Err(Error::sdk(Code::JssdkAppRouteNotFound, format!("the app serves no {path}")));
        }
        if method != Method::POST {
            return Err(Error::sdk(Code::JssdkAppMethodNotAllowed, format!("{path} takes POST, not {method}")));
        }
        if path == r.placement || (path == r.install && !is_event(&body)) {
            let placement = Placement::parse(&body, &query)?;
            let client = self.app.placement_client(&placement).await?;
            return match &self.placement {
                Some(handler) if path == r.placement => handler(placement, client).await,
                _ => Ok(text(StatusCode::OK, "OK")),
            };
        }
        match self.app.receive(&body).await? {
            Received::Installed(event, installation) | Received::Event(event, installation) => {
                let client = self.app.registry().client_of(&installation)?;
                self.handler
                    .handle(event, client)
                    .await
                    .map_err(|e| Error::wrap(Code::JssdkAppHandlerFailed, "the app's event handler failed", e))?;
            }
            Received::Uninstalled(_) => {}
        }
        Ok(text(StatusCode::OK, "OK"))
    }
}

fn is_event(body: &str) -> bool {
    body.split('&').any(|pair| pair.starts_with("event="))
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// The portal-style error envelope for `e`, with its status.
fn refusal(e: &Error, path: &str) -> Response<Full<Bytes>> {
    let code = e.code();
    tracing::warn!(target: "b24::app", code = %code, status = e.status(), path, "refused a request: {}", e.message());
    let body = serde_json::json!({"error": code.as_str(), "error_description": e.message()}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

impl<C, B> Service<Request<B>> for AppService<C>
where
    C: PortalClient,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let path = parts.uri.path().to_owned();
            let query = parts.uri.query().unwrap_or_default().to_owned();
            let body = match Limited::new(body, this.body_limit).collect().await {
                Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
                Err(_) => {
                    let e = Error::sdk(
                        Code::JssdkAppBodyTooLarge,
                        format!("the body is over {} bytes, or broke off", this.body_limit),
                    );
                    return Ok(refusal(&e, &path));
                }
            };
            Ok(match this.route(parts.method, path.clone(), query, body).await {
                Ok(response) => response,
                Err(e) => refusal(&e, &path),
            })
        })
    }
}
