//! OAuth credentials: the app (client id and secret), the current tokens, proactive refresh
//! before expiry, and coalesced refresh after `expired_token` / `invalid_token`: however many
//! calls are refused at once, the refresh token is used once.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use b24_errors::{Code, Error, RetryClass, Secret};
use futures::future::BoxFuture;
use tokio::time::Instant;

use super::store::{MemoryTokenStore, TokenSet, TokenStore};

/// The app's identity at the OAuth server.
#[derive(Clone)]
pub struct OAuthApp {
    /// The client id (`local.…` or the market app code).
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The token endpoint; derived from the tokens' `server_endpoint` when `None`
    /// (`https://oauth.bitrix.info/oauth/token/` by default).
    pub token_url: Option<String>,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("token_url", &self.token_url)
            .finish()
    }
}

impl OAuthApp {
    /// An app with the default token endpoint.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> OAuthApp {
        OAuthApp { client_id: client_id.into(), client_secret: client_secret.into(), token_url: None }
    }

    /// The token endpoint for `tokens`.
    pub fn token_url_for(&self, tokens: &TokenSet) -> String {
        if let Some(url) = &self.token_url {
            return url.clone();
        }
        match tokens.server_endpoint.as_deref().and_then(|s| s.strip_suffix("rest/")) {
            Some(base) if base.starts_with("http") => format!("{base}oauth/token/"),
            _ => "https://oauth.bitrix.info/oauth/token/".to_owned(),
        }
    }
}

/// Exchanges a refresh token for a new pair (the OAuth server's `refresh_token` grant).
pub trait Refresher: Send + Sync + 'static {
    /// Refresh `tokens` for `app`.
    fn refresh<'a>(&'a self, app: &'a OAuthApp, tokens: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet, Error>>;
}

/// Called with every new pair (persist it).
pub type RefreshHook = Arc<dyn Fn(&TokenSet) + Send + Sync>;

/// What the auth layer attaches: the access token and where to send it.
#[derive(Clone)]
pub struct AccessGrant {
    /// The access token.
    pub access_token: Secret,
    /// `https://<portal>/rest/`.
    pub client_endpoint: Arc<str>,
}

struct Current {
    tokens: TokenSet,
    deadline: Option<Instant>,
}

fn deadline_of(tokens: &TokenSet) -> Option<Instant> {
    let expires = tokens.expires_at?;
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Some(Instant::now() + Duration::from_secs(expires.saturating_sub(now_unix)))
}

/// The live OAuth state shared by every clone of a client.
pub struct OAuthState {
    app: OAuthApp,
    current: RwLock<Current>,
    store: Arc<dyn TokenStore>,
    refresher: Arc<dyn Refresher>,
    hook: Option<RefreshHook>,
    skew: Duration,
    refreshes: AtomicU64,
    /// The last refresh that failed for good (the refresh token was refused): the access token
    /// it was for, and what the OAuth server said. Callers queued behind it fail with it
    /// instead of sending the refused refresh token again.
    refused: std::sync::Mutex<Option<(Secret, String)>>,
}

impl fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthState").field("app", &self.app).field("refreshes", &self.refreshes).finish_non_exhaustive()
    }
}

/// Builder-style settings for OAuth credentials.
#[derive(Clone)]
pub struct OAuthCredentials {
    pub(crate) app: OAuthApp,
    pub(crate) tokens: TokenSet,
    pub(crate) store: Option<Arc<dyn TokenStore>>,
    pub(crate) hook: Option<RefreshHook>,
    pub(crate) skew: Duration,
    pub(crate) refresher: Option<Arc<dyn Refresher>>,
}

impl fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthCredentials").field("app", &self.app).field("tokens", &self.tokens).finish_non_exhaustive()
    }
}

impl OAuthCredentials {
    /// Credentials for `app` starting from `tokens`.
    pub fn new(app: OAuthApp, tokens: TokenSet) -> OAuthCredentials {
        OAuthCredentials { app, tokens, store: None, hook: None, skew: Duration::from_secs(60), refresher: None }
    }

    /// Keep tokens in `store` (shared between processes when the store is).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> OAuthCredentials {
        self.store = Some(store);
        self
    }

    /// Call `hook` with every new pair, to persist it.
    pub fn on_refresh(mut self, hook: impl Fn(&TokenSet) + Send + Sync + 'static) -> OAuthCredentials {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Refresh this long before the access token expires (default 60 s).
    pub fn refresh_before_expiry(mut self, skew: Duration) -> OAuthCredentials {
        self.skew = skew;
        self
    }

    /// Use another refresher than the HTTP one (tests, custom OAuth servers).
    pub fn refresher(mut self, refresher: Arc<dyn Refresher>) -> OAuthCredentials {
        self.refresher = Some(refresher);
        self
    }

    /// The starting tokens.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// The app's client id.
    pub fn app_id(&self) -> &str {
        &self.app.client_id
    }

    /// True when a token store was chosen.
    pub fn has_token_store(&self) -> bool {
        self.store.is_some()
    }

    /// Build the live state; `http_refresher` is used when no refresher was set.
    pub(crate) fn into_state(self, http_refresher: Arc<dyn Refresher>) -> OAuthState {
        let deadline = deadline_of(&self.tokens);
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new(self.tokens.clone())));
        OAuthState {
            app: self.app,
            current: RwLock::new(Current { tokens: self.tokens, deadline }),
            store,
            refresher: self.refresher.unwrap_or(http_refresher),
            hook: self.hook,
            skew: self.skew,
            refreshes: AtomicU64::new(0),
            refused: std::sync::Mutex::new(None),
        }
    }
}

impl OAuthState {
    fn read<T>(&self, f: impl FnOnce(&Current) -> T) -> T {
        match self.current.read() {
            Ok(c) => f(&c),
            Err(e) => f(&e.into_inner()),
        }
    }

    fn adopt(&self, tokens: TokenSet) {
        let deadline = deadline_of(&tokens);
        match self.current.write() {
            Ok(mut c) => *c = Current { tokens, deadline },
            Err(e) => *e.into_inner() = Current { tokens, deadline },
        }
    }

    /// The access grant for the next attempt, refreshed first if it expires within the skew.
    pub async fn grant(&self) -> Result<AccessGrant, Error> {
        let (access, deadline) = self.read(|c| (c.tokens.access_token.clone(), c.deadline));
        if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) <= self.skew) {
            self.refresh_after(access.expose()).await?;
        }
        Ok(self.read(|c| AccessGrant {
            access_token: c.tokens.access_token.clone(),
            client_endpoint: Arc::from(c.tokens.client_endpoint.as_str()),
        }))
    }

    /// The portal refused `used`: refresh once, however many callers ask at once. True when this
    /// caller made the refresh, false when another already had.
    pub async fn refresh_after(&self, used: &str) -> Result<bool, Error> {
        let _guard = self.store.lock_refresh().await?;
        let latest = self.store.load().await?.unwrap_or_else(|| self.read(|c| c.tokens.clone()));
        if !latest.access_token.ct_eq(used) {
            self.adopt(latest);
            return Ok(false);
        }
        if let Some(why) = self.refused_for(used) {
            return Err(Error::sdk(
                Code::JssdkTokenRefreshFailed,
                format!("the access token could not be refreshed: the refresh token was already refused ({why})"),
            ));
        }
        let fresh = match self.refresher.refresh(&self.app, &latest).await {
            Ok(fresh) => fresh,
            Err(e) => {
                if e.root().retry_class() == RetryClass::Never {
                    let why = format!("{}: {}", e.root().code(), e.root().message());
                    *self.refused.lock().unwrap_or_else(PoisonError::into_inner) = Some((Secret::new(used), why));
                }
                return Err(if e.code() == Code::JssdkTokenRefreshFailed {
                    e
                } else {
                    Error::wrap(Code::JssdkTokenRefreshFailed, "the access token could not be refreshed", e)
                });
            }
        };
        self.store.save(fresh.clone()).await?;
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "b24::auth", "access token refreshed");
        if let Some(hook) = &self.hook {
            hook(&fresh);
        }
        self.adopt(fresh);
        Ok(true)
    }

    /// Why the refresh for `used` already failed for good, if it did.
    fn refused_for(&self, used: &str) -> Option<String> {
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        refused.as_ref().filter(|(token, _)| token.ct_eq(used)).map(|(_, why)| why.clone())
    }

    /// Refreshes made by this process.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The current tokens.
    pub fn tokens(&self) -> TokenSet {
        self.read(|c| c.tokens.clone())
    }

    /// The app.
    pub fn app(&self) -> &OAuthApp {
        &self.app
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// Counts refreshes and hands out numbered tokens.
    struct FakeRefresher(AtomicU32);

    impl Refresher for FakeRefresher {
        fn refresh<'a>(&'a self, _app: &'a OAuthApp, tokens: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet, Error>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            let mut next = tokens.clone();
            next.access_token = Secret::new(format!("fake-access-{n}"));
            next.refresh_token = Secret::new(format!("fake-refresh-{n}"));
            next.expires_at = Some(now_unix() + 3600);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(next)
            })
        }
    }

    fn now_unix() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    fn state(expires_in: u64) -> (Arc<OAuthState>, Arc<FakeRefresher>) {
        let tokens = TokenSet {
            access_token: Secret::new("fake-access-0"),
            refresh_token: Secret::new("fake-refresh-0"),
            expires_at: Some(now_unix() + expires_in),
            client_endpoint: "https://portal.example.invalid/rest/".into(),
            server_endpoint: None,
            member_id: None,
        };
        let refresher = Arc::new(FakeRefresher(AtomicU32::new(0)));
        let creds = OAuthCredentials::new(OAuthApp::new("local.fake", "fake-client-secret"), tokens);
        (Arc::new(creds.into_state(refresher.clone())), refresher)
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_shortly_before_expiry() {
        let (state, refresher) = state(120);
        assert_eq!(
            state.grant().await.map(|g| g.access_token.expose().to_owned()).ok().as_deref(),
            Some("fake-access-0")
        );
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(
            state.grant().await.map(|g| g.access_token.expose().to_owned()).ok().as_deref(),
            Some("fake-access-0")
        );
        assert_eq!(refresher.0.load(Ordering::SeqCst), 0, "61 s left: not yet");
        tokio::time::advance(Duration::from_secs(2)).await;
        let grant = state.grant().await.map(|g| g.access_token.expose().to_owned());
        assert_eq!(grant.ok().as_deref(), Some("fake-access-1"), "59 s left: refreshed first");
        assert_eq!(refresher.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_refusals_refresh_once() {
        let (state, refresher) = state(3600);
        let calls = (0..20).map(|_| {
            let state = state.clone();
            async move { state.refresh_after("fake-access-0").await }
        });
        let made: Vec<bool> = futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap_or(false)).collect();
        assert_eq!(refresher.0.load(Ordering::SeqCst), 1, "one refresh for twenty refusals");
        assert_eq!(made.iter().filter(|m| **m).count(), 1);
        assert_eq!(state.tokens().access_token.expose(), "fake-access-1");
        assert_eq!(state.refreshes(), 1);
    }

    /// Refuses every refresh token, counting the attempts.
    struct RefusingRefresher(AtomicU32);

    impl Refresher for RefusingRefresher {
        fn refresh<'a>(&'a self, _app: &'a OAuthApp, _tokens: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet, Error>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(crate::testing::portal_error("invalid_grant", 400)) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_refresh_token_is_sent_once_however_many_callers_wait() {
        let refresher = Arc::new(RefusingRefresher(AtomicU32::new(0)));
        let tokens = TokenSet::new("fake-access-0", "fake-refresh-0", "https://portal.example.invalid/rest/", None);
        let creds = OAuthCredentials::new(OAuthApp::new("local.fake", "fake-client-secret"), tokens);
        let state = Arc::new(creds.into_state(refresher.clone()));
        let calls = (0..20).map(|_| {
            let state = state.clone();
            async move { state.refresh_after("fake-access-0").await }
        });
        let results = futures::future::join_all(calls).await;
        assert_eq!(refresher.0.load(Ordering::SeqCst), 1, "the refused token went to the OAuth server once");
        assert!(
            results.iter().all(|r| r.as_ref().err().map(Error::code) == Some(Code::JssdkTokenRefreshFailed.into()))
        );
        let first = results.iter().filter_map(|r| r.as_ref().err()).find(|e| e.root().code() == "invalid_grant");
        assert!(first.is_some(), "the caller that refreshed sees the OAuth server's code");
    }
}
