//! Credentials for each attempt: the webhook, or a fresh OAuth access token (refreshed ahead of
//! expiry). When the portal refuses a token with a code whose retry class is
//! [`RetryClass::Refresh`] in the code table (`expired_token`), the layer refreshes once —
//! coalesced across every concurrent caller — and returns the refusal, so the retry layer
//! re-sends with the new token.

use std::sync::Arc;
use std::task::{Context, Poll};

use b24_errors::{Error, RetryClass};
use tower::{Layer, Service};

use super::{CallFuture, Inner, take};
use crate::B24Request;
use crate::credentials::{AttachedAuth, OAuthState, Webhook};

/// Where credentials come from.
#[derive(Clone, Debug)]
pub(crate) enum AuthSource {
    Webhook(Arc<Webhook>),
    OAuth(Arc<OAuthState>),
}

/// Attaches credentials.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    source: AuthSource,
}

impl AuthLayer {
    /// Attach a webhook.
    pub fn webhook(hook: Arc<Webhook>) -> AuthLayer {
        AuthLayer { source: AuthSource::Webhook(hook) }
    }

    /// Attach OAuth tokens from `state`.
    pub fn oauth(state: Arc<OAuthState>) -> AuthLayer {
        AuthLayer { source: AuthSource::OAuth(state) }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth { inner, source: self.source.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    source: AuthSource,
}

impl<S: Inner> Service<B24Request> for Auth<S> {
    type Response = crate::B24Response;
    type Error = Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: B24Request) -> Self::Future {
        let mut inner = take(&mut self.inner);
        let source = self.source.clone();
        Box::pin(async move {
            match &source {
                AuthSource::Webhook(hook) => {
                    request.auth = Some(AttachedAuth::Webhook(hook.clone()));
                    inner.call(request).await
                }
                AuthSource::OAuth(state) => {
                    let grant = state.grant().await?;
                    let used = grant.access_token.clone();
                    request.auth = Some(AttachedAuth::OAuth(grant));
                    let result = inner.call(request).await;
                    if let Err(e) = &result
                        && e.retry_class() == RetryClass::Refresh
                    {
                        state.refresh_after(used.expose()).await?;
                    }
                    result
                }
            }
        })
    }
}
