//! The contract every [`InstallationStore`] keeps, as a suite you can run against your own
//! store (feature `testing`). The SQLite and PostgreSQL stores run it in this crate's tests.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use std::sync::Arc;
//! use b24_app::{SqliteStore, testing};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! let store = Arc::new(SqliteStore::memory().unwrap());
//! // Two handles on the same data: here one store twice; a store over a database would pass a
//! // second connection (or a second process's view) as the second argument.
//! testing::run_contract(store.clone(), store).await;
//! # } }
//! ```
//!
//! Every check uses member ids of its own (`contract-<random>-…`), so the suite runs on a
//! database that holds other rows, and leaves only removed rows behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use b24_errors::{Code, Error, Secret};
use b24_transport::credentials::{OAuthApp, OAuthCredentials, Refresher, TokenSet};
use b24_transport::{TransportBuilder, TransportConfig};
use futures::future::BoxFuture;

use crate::installation::Installation;
use crate::store::{InstallationStore, PortalTokens};

/// Run every check against `a` and `b`, two handles on the same data (`b` may be `a` itself).
/// Panics with the broken rule.
pub async fn run_contract(a: Arc<dyn InstallationStore>, b: Arc<dyn InstallationStore>) {
    let run = format!("contract-{:08x}", fastrand::u32(..));
    unknown_portals(&*a, &run).await;
    round_trip(&*a, &*b, &run).await;
    put_replaces(&*a, &*b, &run).await;
    save_tokens_keeps_the_rest(&*a, &*b, &run).await;
    remove_forgets_everything(&*a, &*b, &run).await;
    lock_excludes_across_handles(&*a, &*b, &run).await;
    refresh_happens_once(a.clone(), b.clone(), &run).await;
}

/// A full installation whose every field is set; its secrets are obviously fake.
pub fn sample_installation(member_id: &str, domain: &str) -> Installation {
    let mut tokens = TokenSet::new(
        format!("fake-access-{member_id}"),
        format!("fake-refresh-{member_id}"),
        format!("https://{domain}/rest/"),
        Some("https://oauth.example.invalid/rest/".into()),
    );
    tokens.expires_at = Some(1_900_000_000);
    tokens.member_id = Some(member_id.to_owned());
    let mut installation = Installation::new(member_id, domain, tokens).with_application_token("fake-app-token-1");
    installation.scope = Some("crm,task".into());
    installation.status = Some("L".into());
    installation.user_id = Some(7);
    installation.installed_at = 1_700_000_000;
    installation
}

fn expect_ok<T>(what: &str, result: Result<T, Error>) -> T {
    result.unwrap_or_else(|e| panic!("store contract: {what} failed: {e}"))
}

async fn unknown_portals(a: &dyn InstallationStore, run: &str) {
    let member = format!("{run}-unknown");
    assert!(expect_ok("get", a.get(&member).await).is_none(), "get of an unknown member id is None");
    let domain = format!("{run}-unknown.example.invalid");
    assert!(expect_ok("find_domain", a.find_domain(&domain).await).is_none(), "unknown domain is None");
    assert!(!expect_ok("remove", a.remove(&member).await), "removing an unknown member id says false");
    let tokens = sample_installation(&member, &domain).tokens;
    let refused = a.save_tokens(&member, tokens).await.err().map(|e| e.code());
    assert_eq!(refused, Some(Code::JssdkAppNotInstalled.into()), "save_tokens never creates an installation");
    assert!(expect_ok("get", a.get(&member).await).is_none(), "save_tokens of an unknown portal stored nothing");
}

async fn round_trip(a: &dyn InstallationStore, b: &dyn InstallationStore, run: &str) {
    let member = format!("{run}-trip");
    let domain = format!("{run}-trip.example.invalid");
    let installation = sample_installation(&member, &domain);
    expect_ok("put", a.put(installation.clone()).await);
    let read = expect_ok("get", b.get(&member).await);
    assert_eq!(read.as_ref(), Some(&installation), "every field comes back as stored (through the other handle)");
    let by_domain = expect_ok("find_domain", b.find_domain(&domain.to_ascii_uppercase()).await);
    assert_eq!(by_domain.map(|i| i.member_id), Some(member.clone()), "found by domain, whatever its case");
    assert!(expect_ok("member_ids", b.member_ids().await).contains(&member), "listed");
    expect_ok("remove", a.remove(&member).await);
}

async fn put_replaces(a: &dyn InstallationStore, b: &dyn InstallationStore, run: &str) {
    let member = format!("{run}-replace");
    let first = sample_installation(&member, &format!("{run}-old.example.invalid"));
    expect_ok("put", a.put(first).await);
    let mut second = sample_installation(&member, &format!("{run}-new.example.invalid"));
    second.tokens.access_token = Secret::new("fake-access-second");
    second.application_token = None;
    second.scope = None;
    expect_ok("put", b.put(second.clone()).await);
    assert_eq!(expect_ok("get", a.get(&member).await), Some(second), "a second put replaces the whole row");
    let old = expect_ok("find_domain", a.find_domain(&format!("{run}-old.example.invalid")).await);
    assert!(old.is_none(), "the old domain no longer finds it");
    expect_ok("remove", a.remove(&member).await);
}

async fn save_tokens_keeps_the_rest(a: &dyn InstallationStore, b: &dyn InstallationStore, run: &str) {
    let member = format!("{run}-tokens");
    let installation = sample_installation(&member, &format!("{run}-tokens.example.invalid"));
    expect_ok("put", a.put(installation.clone()).await);
    let mut fresh = installation.tokens.clone();
    fresh.access_token = Secret::new("fake-access-refreshed");
    fresh.refresh_token = Secret::new("fake-refresh-refreshed");
    fresh.expires_at = Some(1_900_003_600);
    expect_ok("save_tokens", b.save_tokens(&member, fresh.clone()).await);
    let read = expect_ok("get", a.get(&member).await).unwrap_or_else(|| panic!("store contract: the row is gone"));
    assert_eq!(read.tokens, fresh, "the new pair is stored");
    assert_eq!(read.application_token, installation.application_token, "the application token is kept");
    assert_eq!((read.scope, read.domain), (installation.scope, installation.domain), "the rest is kept");
    expect_ok("remove", a.remove(&member).await);
}

async fn remove_forgets_everything(a: &dyn InstallationStore, b: &dyn InstallationStore, run: &str) {
    let member = format!("{run}-remove");
    let domain = format!("{run}-remove.example.invalid");
    expect_ok("put", a.put(sample_installation(&member, &domain)).await);
    assert!(expect_ok("remove", b.remove(&member).await), "remove says true once");
    assert!(!expect_ok("remove", a.remove(&member).await), "and false after");
    assert!(expect_ok("get", a.get(&member).await).is_none(), "gone by member id");
    assert!(expect_ok("find_domain", a.find_domain(&domain).await).is_none(), "gone by domain");
    assert!(!expect_ok("member_ids", a.member_ids().await).contains(&member), "gone from the list");
}

async fn lock_excludes_across_handles(a: &dyn InstallationStore, b: &dyn InstallationStore, run: &str) {
    let member = format!("{run}-lock");
    let held = expect_ok("lock_refresh", a.lock_refresh(&member).await);
    let other = format!("{run}-lock-other");
    let independent = tokio::time::timeout(Duration::from_secs(10), b.lock_refresh(&other)).await;
    assert!(matches!(independent, Ok(Ok(_))), "another portal's lock is free while one is held");
    let mut waiting = Box::pin(b.lock_refresh(&member));
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "a held lock is not handed out again (through the other handle)");
    drop(held);
    let later = tokio::time::timeout(Duration::from_secs(10), waiting).await;
    assert!(matches!(later, Ok(Ok(_))), "a released lock is handed out");
}

/// Hands out numbered pairs after a pause, counting the refreshes.
struct CountingRefresher(AtomicU32);

impl Refresher for CountingRefresher {
    fn refresh<'a>(&'a self, _app: &'a OAuthApp, tokens: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet, Error>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mut next = tokens.clone();
        next.access_token = Secret::new(format!("fake-access-next-{n}"));
        next.refresh_token = Secret::new(format!("fake-refresh-next-{n}"));
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(next)
        })
    }
}

/// The transport's own coalesced refresh, through two handles: twenty refusals of one access
/// token, ten seen through each handle, make one refresh, and both handles end on the new pair.
async fn refresh_happens_once(a: Arc<dyn InstallationStore>, b: Arc<dyn InstallationStore>, run: &str) {
    let member = format!("{run}-refresh");
    let installation = sample_installation(&member, &format!("{run}-refresh.example.invalid"));
    let used = installation.tokens.access_token.expose().to_owned();
    expect_ok("put", a.put(installation.clone()).await);
    let refresher = Arc::new(CountingRefresher(AtomicU32::new(0)));
    let transport = |store: Arc<dyn InstallationStore>| {
        let credentials =
            OAuthCredentials::new(OAuthApp::new("local.contract", "fake-client-secret"), installation.tokens.clone())
                .token_store(Arc::new(PortalTokens::new(store, member.as_str())))
                .refresher(refresher.clone());
        expect_ok("build", TransportBuilder::new(credentials).config(TransportConfig::unlimited()).build())
    };
    let (ta, tb) = (transport(a.clone()), transport(b));
    let calls = (0..20).map(|i| {
        let t = if i % 2 == 0 { ta.clone() } else { tb.clone() };
        let used = used.clone();
        async move { t.oauth().cloned().unwrap_or_else(|| panic!("an OAuth transport")).refresh_after(&used).await }
    });
    for result in futures::future::join_all(calls).await {
        expect_ok("refresh_after", result);
    }
    assert_eq!(refresher.0.load(Ordering::SeqCst), 1, "one refresh for twenty refusals across both handles");
    let stored = expect_ok("get", a.get(&member).await).map(|i| i.tokens.access_token.expose().to_owned());
    assert_eq!(stored.as_deref(), Some("fake-access-next-1"), "the new pair is stored");
    for t in [&ta, &tb] {
        let now = t.oauth().map(|o| o.tokens().access_token.expose().to_owned());
        assert_eq!(now.as_deref(), Some("fake-access-next-1"), "both handles use the new pair");
    }
    expect_ok("remove", a.remove(&member).await);
}
