//! Redis stopped in the middle of an export, with each configured behaviour: the default fails
//! with `JSSDK_STORE_UNAVAILABLE` (after the transport's retries) and the export resumes from
//! its last row once Redis is back; the opt-in fallback finishes the export in-process with one
//! warning. Either way no row is lost or duplicated.

mod common;

use std::sync::Arc;

use b24_emulator::{BucketLimits, Emulator, EmulatorHandle, Settings};
use b24_redis::{Fallback, RedisOptions, RedisShared};
use b24_sdk::prelude::*;
use common::{Captured, RedisServer};
use futures::TryStreamExt;
use serde_json::Value;

const ROWS: u64 = 100_000;
const SCALE: f64 = 0.01;

async fn portal() -> EmulatorHandle {
    let settings = Settings::fast().with_rows(ROWS).with_bucket(Some(BucketLimits::STANDARD)).with_time_scale(SCALE);
    Emulator::start(settings).await.expect("emulator")
}

fn client(portal: &EmulatorHandle, shared: &RedisShared) -> Client {
    Client::builder()
        .plan(Plan::Standard)
        .time_scale(SCALE)
        .max_retries(2)
        .shared_state(Arc::new(shared.clone()))
        .webhook(&portal.webhook_url())
        .build()
        .expect("client")
}

fn query() -> ListQuery {
    ListQuery::new("crm.deal.list").select(["ID"])
}

fn id(row: &Value) -> u64 {
    row["ID"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Export with `query`, calling `after_first` once the first page is in; the ids so far and
/// the error, if the export failed.
async fn export(client: &Client, query: ListQuery, after_first: impl FnOnce()) -> (Vec<u64>, Option<Error>) {
    let mut pages = client.v2().fetch_list::<Value>(query);
    let mut ids = Vec::new();
    let mut after_first = Some(after_first);
    loop {
        match pages.try_next().await {
            Ok(Some(page)) => ids.extend(page.iter().map(id)),
            Ok(None) => return (ids, None),
            Err(e) => return (ids, Some(e)),
        }
        if let Some(f) = after_first.take() {
            f();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_export_stops_with_the_code_and_resumes_exactly() {
    let mut redis = RedisServer::start();
    let portal = portal().await;
    let shared = RedisShared::open(&redis.url(), RedisOptions::default()).expect("url");
    let client = client(&portal, &shared);
    let (mut ids, error) = export(&client, query(), || redis.stop()).await;
    let error = error.expect("the export stops while Redis is down");
    assert_eq!(error.root().code(), Code::JssdkStoreUnavailable, "{error}");
    assert_eq!(error.root().status(), 503);
    assert!(!ids.is_empty() && (ids.len() as u64) < ROWS, "stopped mid-run: {} rows", ids.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "the rows so far are in order, without duplicates");

    redis.restart();
    let last = *ids.last().expect("rows");
    let (rest, error) = export(&client, query().filter(">ID", last), || {}).await;
    assert!(error.is_none(), "{error:?}");
    ids.extend(rest);
    assert!(ids == portal.seeded_ids().collect::<Vec<_>>(), "resumed: no row lost, none twice");
    assert_eq!(portal.counters().bucket_refusals, 0);
}

// One thread: the captured subscriber sees every event of the export.
#[tokio::test]
async fn with_the_fallback_the_export_finishes_in_process_with_one_warning() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let mut redis = RedisServer::start();
    let portal = portal().await;
    let shared = RedisShared::open(&redis.url(), RedisOptions::default().fallback(Fallback::Local)).expect("url");
    let client = client(&portal, &shared);
    let (ids, error) = export(&client, query(), || redis.stop()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(ids == portal.seeded_ids().collect::<Vec<_>>(), "every row once, in order");
    assert!(shared.failures() > 0, "Redis was down during the export");
    let log = captured.text();
    assert_eq!(log.matches("unreachable").count(), 1, "one warning: {log}");
    assert!(log.contains("JSSDK_STORE_UNAVAILABLE"), "{log}");
}
