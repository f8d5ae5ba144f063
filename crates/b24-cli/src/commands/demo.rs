//! `b24 demo`: starts the embedded emulator and shows, against it, each thing b24 does for
//! you — and prints each step's outcome.

use std::time::{Duration, Instant};

use b24_emulator::{BucketLimits, Emulator, FaultKind, FaultSettings, Settings};
use b24_sdk::{Batch, Client, Command, Error, ListQuery, Outcome, Plan};
use serde_json::json;

use futures::TryStreamExt;

use crate::output::{error_line, thousands};

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

/// Run the demo.
pub async fn run(rows: u64) -> Result<(), Error> {
    let started = Instant::now();
    // The standard plan's bucket, ten times faster than real time, so limits show up quickly.
    let scale = 0.1;
    let settings = Settings::fast().with_rows(rows).with_time_scale(scale).with_bucket(Some(BucketLimits::STANDARD));
    let portal = Emulator::start(settings).await.map_err(Error::from_error)?;
    println!("b24 demo: a local Bitrix24 portal with {rows} deals at {}", portal.base_url());
    let client = Client::builder().webhook(&portal.webhook_url()).plan(Plan::Standard).time_scale(scale).build()?;

    step(1, "A call");
    let time = client.server_time().await?;
    let me = client.user_current().await?;
    println!("   server.time = {time}; user.current = #{} {}", me.id, me.name.unwrap_or_default());

    step(2, "A batch with a failing command (halt off: the others still succeed)");
    let batch = Batch::named(vec![
        ("first".into(), Command::new("crm.deal.get", json!({"id": 1}))),
        ("missing".into(), Command::new("crm.deal.get", json!({"id": 999_999_999}))),
        ("time".into(), Command::new("server.time", json!({}))),
    ])?;
    let result = client.v2().batch(&batch).await?;
    for (key, method, outcome) in result.iter() {
        match outcome {
            Outcome::Done(_) => println!("   {key:<8} {method:<14} ok"),
            Outcome::Failed(e) if e.is_not_found() => println!(
                "   {key:<8} {method:<14} failed: not found (legacy CRM methods answer \"\" with status {} and {:?}; e.is_not_found() tells it apart)",
                e.root().status(),
                e.root().message()
            ),
            Outcome::Failed(e) => {
                println!("   {key:<8} {method:<14} failed: {} {:?}", e.root().code(), e.root().message())
            }
            Outcome::NotRun => println!("   {key:<8} {method:<14} not run"),
        }
    }
    println!("   is_success = {}", result.is_success());

    step(3, &format!("Export {rows} deals (the fast export: ids as the cursor, 50 pages per request, no COUNT)"));
    let before = portal.counters();
    let started_export = Instant::now();
    let query = ListQuery::new("crm.deal.list").select(["ID", "TITLE", "STAGE_ID", "OPPORTUNITY"]);
    let mut pages = client.v2().fetch_list::<serde_json::Value>(query);
    let mut exported = 0usize;
    while let Some(page) = pages.try_next().await? {
        exported += page.len();
    }
    let elapsed = started_export.elapsed();
    let after = portal.counters();
    println!(
        "   {exported} rows in {:.2?}: {} rows/s, {} HTTP requests, {} COUNT queries, {} refused by the portal",
        elapsed,
        thousands((exported as f64 / elapsed.as_secs_f64().max(1e-9)) as u64),
        after.requests - before.requests,
        after.count_queries - before.count_queries,
        after.bucket_refusals - before.bucket_refusals,
    );

    step(4, "An expired OAuth token, refreshed once, transparently");
    let oauth = Client::builder().oauth(b24_sdk::testing::oauth_credentials(&portal)).time_scale(scale).build()?;
    portal.expire_access_tokens();
    let calls = futures::future::join_all((0..10).map(|_| oauth.server_time())).await;
    let ok = calls.iter().filter(|c| c.is_ok()).count();
    println!(
        "   10 concurrent calls after expiry: {ok} answered, {} refresh at the OAuth server",
        portal.counters().oauth_refreshes
    );

    step(5, "QUERY_LIMIT_EXCEEDED from the portal, retried transparently");
    println!("   (provoked on purpose: the emulator now refuses 30 % of requests, as a portal does when other");
    println!("   clients on your IP fill its bucket; b24's own pacing never overflows it)");
    portal.set_faults(FaultSettings {
        rate: 0.3,
        kinds: vec![FaultKind::QueryLimit],
        seed: 5,
        ..FaultSettings::default()
    });
    let stats_before = client.stats();
    let calls = futures::future::join_all((0..40).map(|_| client.server_time())).await;
    portal.set_faults(FaultSettings::default());
    let stats = client.stats();
    println!(
        "   40 calls: {} answered; {} refusals waited out and retried; {} surfaced",
        calls.iter().filter(|c| c.is_ok()).count(),
        stats.seen_503 - stats_before.seen_503,
        calls.iter().filter(|c| c.is_err()).count()
    );

    step(6, "A non-retryable error, printed with its code, status and hint");
    let wrong =
        Client::builder().webhook(&format!("{}/rest/1/notthesecret/", portal.base_url())).time_scale(scale).build()?;
    match wrong.server_time().await {
        Err(e) => println!("   {}", error_line(&e)),
        Ok(_) => println!("   unexpectedly accepted"),
    }

    portal.shutdown().await;
    println!("\nDone in {:.1?}.", started.elapsed().max(Duration::from_millis(1)));
    Ok(())
}
