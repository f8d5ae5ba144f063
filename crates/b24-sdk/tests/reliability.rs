//! The fault-injection suite: an export under each fault kind (all of them mixed at 5 %, and 5 %
//! of each of the five that hit exports hardest) finishes with every row exactly once, in order;
//! faults beyond the retry budget end with the right code and a resumable position;
//! non-idempotent calls are not silently re-sent; load.
//!
//! CI runs it at `B24_RELIABILITY_ROWS` (default 20,000) rows; the full run is
//! `B24_RELIABILITY_ROWS=100000 cargo test -p b24-sdk --test reliability -- --nocapture`.

use std::collections::BTreeMap;
use std::time::Duration;

use b24_emulator::{BucketLimits, Emulator, EmulatorHandle, FaultKind, FaultSettings, Settings};
use b24_sdk::prelude::*;
use futures::TryStreamExt;
use serde_json::{Value, json};

fn rows() -> u64 {
    std::env::var("B24_RELIABILITY_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

const SCALE: f64 = 0.01;

fn builder() -> ClientBuilder {
    Client::builder()
        .plan(Plan::Unlimited)
        .time_scale(SCALE)
        .max_retries(10)
        .attempt_timeout(Duration::from_millis(400))
}

fn webhook_client(portal: &EmulatorHandle) -> Client {
    builder().webhook(&portal.webhook_url()).build().expect("client")
}

fn oauth_client(portal: &EmulatorHandle) -> Client {
    builder().oauth(b24_sdk::testing::oauth_credentials(portal)).build().expect("client")
}

fn id(row: &Value) -> u64 {
    row["ID"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

async fn export(client: &Client, query: ListQuery) -> Result<Vec<u64>, (Error, Vec<u64>)> {
    let mut pages = client.v2().fetch_list::<Value>(query);
    let mut ids = Vec::new();
    loop {
        match pages.try_next().await {
            Ok(Some(page)) => ids.extend(page.iter().map(id)),
            Ok(None) => return Ok(ids),
            Err(e) => return Err((e, ids)),
        }
    }
}

/// Export the whole list under `kinds` at `rate`, again until at least `min_faults` faults were
/// injected (an export is only ~N/2,500 requests); every export must be exact.
async fn run_kind(kinds: Vec<FaultKind>, rate: f64, oauth: bool, min_faults: u64) -> (BTreeMap<String, u64>, u32) {
    let portal = Emulator::start(Settings::fast().with_rows(rows())).await.expect("emulator");
    portal.set_faults(FaultSettings {
        seed: 7,
        rate,
        kinds: kinds.clone(),
        slow_by: Duration::from_millis(600),
        ..FaultSettings::default()
    });
    let client = if oauth { oauth_client(&portal) } else { webhook_client(&portal) };
    let expected: Vec<u64> = portal.seeded_ids().collect();
    let mut exports = 0;
    loop {
        let query = ListQuery::new("crm.deal.list").select(["ID", "TITLE"]);
        let got = export(&client, query)
            .await
            .unwrap_or_else(|(e, ids)| panic!("{kinds:?}: failed after {} rows: {e}", ids.len()));
        assert_eq!(got.len(), expected.len(), "{kinds:?}: rows lost or duplicated");
        assert!(got == expected, "{kinds:?}: rows out of order");
        exports += 1;
        let injected: u64 = portal.counters().faults.values().sum();
        if injected >= min_faults || exports >= 40 {
            return (portal.counters().faults.into_iter().collect(), exports);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_alone_then_all_mixed() {
    let mut report = Vec::new();
    for kind in FaultKind::ALL {
        let (survived, exports) = run_kind(vec![kind], 0.3, kind == FaultKind::ExpiredToken, 5).await;
        let n = survived.get(kind.name()).copied().unwrap_or(0);
        assert!(n >= 5, "{kind:?} was injected only {n} times");
        report.push(format!("{:<22} {n:>4} survived over {exports} exports", kind.name()));
    }
    let (mixed, exports) = run_kind(FaultKind::ALL.to_vec(), 0.05, true, 10).await;
    let total: u64 = mixed.values().sum();
    assert!(total >= 10, "mixed: only {total} faults");
    report.push(format!("{:<22} {total:>4} survived over {exports} exports: {mixed:?}", "all mixed (5 %)"));
    println!("{} rows per export; faults survived:\n{}", rows(), report.join("\n"));
}

/// 5 % of requests each get a 503, an HTML 500, a connection dropped before the answer, an
/// answer cut off, and an answer slower than the attempt timeout (a quarter of all requests fail
/// once): exports with the default settings still finish exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_of_each_fault_mixed_and_every_export_is_exact() {
    let kinds = vec![
        FaultKind::QueryLimit,
        FaultKind::Html500,
        FaultKind::DropConnection,
        FaultKind::TruncatedBody,
        FaultKind::Slow,
    ];
    let rate = 0.05 * kinds.len() as f64;
    let (survived, exports) = run_kind(kinds, rate, false, 20).await;
    let total: u64 = survived.values().sum();
    assert!(total >= 20, "only {total} faults");
    println!("{} rows per export, 5 % of each fault: {total} survived over {exports} exports: {survived:?}", rows());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_budget_the_error_is_coded_and_the_export_resumes() {
    let portal = Emulator::start(Settings::fast().with_rows(rows())).await.expect("emulator");
    let client = Client::builder()
        .plan(Plan::Unlimited)
        .time_scale(SCALE)
        .work_retry_budget(Duration::from_millis(300))
        .webhook(&portal.webhook_url())
        .build()
        .expect("client");
    let query = || ListQuery::new("crm.deal.list").select(["ID"]);
    let mut pages = client.v2().fetch_list::<Value>(query());
    let first = pages.try_next().await.expect("first page").expect("a page");
    let mut ids: Vec<u64> = first.iter().map(id).collect();
    // From now on every batch fails with an HTML 500.
    portal.set_faults(FaultSettings {
        rate: 1.0,
        kinds: vec![FaultKind::Html500],
        methods: vec!["batch".into()],
        ..FaultSettings::default()
    });
    let error = loop {
        match pages.try_next().await {
            Ok(Some(page)) => ids.extend(page.iter().map(id)),
            Ok(None) => panic!("the export ended although every request failed"),
            Err(e) => break e,
        }
    };
    assert_eq!(error.code(), Code::JssdkCoreB24FetchListMethodApiV2);
    assert!(error.attempts() > 1, "retried within its time budget: {error}");
    assert_eq!(error.root().code(), Code::JssdkResponseNotJson);
    assert_eq!(error.root().status(), 500);
    // Every row delivered so far is valid; resume from the last id.
    portal.set_faults(FaultSettings::default());
    let last = *ids.last().expect("some rows");
    let rest = export(&client, query().after(last)).await.unwrap_or_else(|(e, _)| panic!("{e}"));
    ids.extend(rest);
    assert!(ids == portal.seeded_ids().collect::<Vec<_>>(), "resumed export: no gap, no duplicate");
}

#[tokio::test]
async fn a_dropped_add_is_not_resent_but_an_idempotency_key_is() {
    // The next crm.item.add is handled, then its connection dropped without an answer.
    let drop_one_add = || FaultSettings {
        rate: 1.0,
        kinds: vec![FaultKind::DropConnection],
        methods: vec!["crm.item.add".into()],
        max_faults: Some(1),
        ..FaultSettings::default()
    };
    let portal = Emulator::start(Settings::fast().with_rows(0)).await.expect("emulator");
    portal.set_faults(drop_one_add());
    let client = webhook_client(&portal);
    let e = client
        .v2()
        .call("crm.item.add", &json!({"entityTypeId": 2, "fields": {"title": "once"}}))
        .await
        .expect_err("ambiguous");
    assert_eq!(e.code(), Code::JssdkOutcomeUnknown);
    assert_eq!(e.root().code(), Code::JssdkNetworkError);
    assert_eq!(portal.item_count(2), 1, "applied once, not re-sent");

    portal.set_faults(drop_one_add());
    let request =
        b24_sdk::transport::B24Request::v3("crm.item.add", &json!({"entityTypeId": 2, "fields": {"title": "keyed"}}))
            .expect("request")
            .idempotency_key("reliability-key-1");
    let answer = client.transport().call(request).await.expect("re-sent safely with the key");
    assert_eq!(answer.value().expect("value")["item"]["title"], "keyed");
    assert_eq!(portal.item_count(2), 2, "the replay did not add a second item");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_calls_and_64_tasks_under_standard_limits() {
    let scale = 0.002;
    let portal = Emulator::start(Settings::fast().with_time_scale(scale).with_bucket(Some(BucketLimits::STANDARD)))
        .await
        .expect("emulator");
    let client = Client::builder()
        .webhook(&portal.webhook_url())
        .plan(Plan::Standard)
        .time_scale(scale)
        .build()
        .expect("client");
    let calls = futures::future::join_all((0..10_000).map(|_| client.server_time())).await;
    let failed = calls.iter().filter(|c| c.is_err()).count();
    assert_eq!(failed, 0, "every call answered");
    let stats = client.stats();
    assert_eq!((stats.seen_503, stats.seen_429), (0, 0), "no limit answer surfaced or even seen");
    assert_eq!(portal.counters().bucket_refusals, 0);

    let started = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let t = tokio::time::Instant::now();
                for _ in 0..40 {
                    client.server_time().await?;
                }
                Ok::<_, Error>(t.elapsed())
            })
        })
        .collect();
    let mut waits = Vec::new();
    for task in tasks {
        waits.push(task.await.expect("join").expect("task"));
    }
    let slowest = waits.iter().max().copied().unwrap_or_default();
    let fastest = waits.iter().min().copied().unwrap_or_default();
    let total = started.elapsed();
    println!(
        "64 tasks x 40 calls: all done in {total:.2?}; the slowest task took {slowest:.2?}, the fastest {fastest:.2?}"
    );
    // The bucket serves waiters in order, so the tasks share it: none waits while others run ahead.
    assert!(fastest.as_secs_f64() >= 0.5 * slowest.as_secs_f64(), "a task was starved: {fastest:?} vs {slowest:?}");
    assert_eq!(portal.counters().bucket_refusals, 0);
}
