//! Several processes, one portal: real worker processes (this test binary, started again in
//! worker mode), each with its own client, against one emulator with standard limits and one
//! redis-server, both on 127.0.0.1.
//!
//! - 4 processes x 500 calls at once: with the Redis store the emulator's bucket never refuses;
//!   with the in-process default it does (so the store is what prevents it).
//! - An OAuth token expiring while 4 processes call: exactly one refresh, no `invalid_grant`.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;

use b24_emulator::{BucketLimits, Emulator, EmulatorHandle, Settings};
use b24_redis::{RedisOptions, RedisShared};
use b24_sdk::prelude::*;
use b24_sdk::transport::credentials::OAuthCredentials;
use common::RedisServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Portal time runs 100 times faster: the bucket drains 200 requests per real second.
const SCALE: f64 = 0.01;
const PROCESSES: usize = 4;
const WORKER: &str = "B24_REDIS_TEST_WORKER";

// ---------------------------------------------------------------------------------------------
// The worker side.

/// In a plain test run this does nothing; started by a test below with `B24_REDIS_TEST_WORKER`
/// set, it is one worker process: build a client, say READY, wait for GO, make the calls at
/// once, print what happened.
#[test]
fn worker() {
    let Ok(role) = std::env::var(WORKER) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let report = runtime.map_err(|e| e.to_string()).and_then(|rt| rt.block_on(work(&role)));
    match report {
        Ok(report) => println!("B24-RESULT {report}"),
        Err(e) => println!("B24-RESULT {}", json!({ "setup_error": e })),
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

async fn work(role: &str) -> Result<Value, String> {
    let mut builder = Client::builder().plan(Plan::Standard).time_scale(SCALE).allow_http(true);
    let redis = env("B24_REDIS");
    if !redis.is_empty() {
        let shared =
            RedisShared::open(&redis, RedisOptions::default().share_tokens(true)).map_err(|e| e.to_string())?;
        builder = builder.shared_state(Arc::new(shared));
    }
    let client = match role {
        "oauth" => {
            let tokens = TokenSet::new(env("B24_ACCESS"), env("B24_REFRESH"), env("B24_URL"), Some(env("B24_SERVER")));
            let app = OAuthApp::new(env("B24_CLIENT_ID"), env("B24_CLIENT_SECRET"));
            builder.oauth(OAuthCredentials::new(app, tokens)).build()
        }
        _ => builder.webhook(&env("B24_URL")).build(),
    }
    .map_err(|e| e.to_string())?;
    if role == "oauth" {
        client.server_time().await.map_err(|e| e.to_string())?; // the starting token works
    }
    println!("READY");
    let mut line = String::new();
    BufReader::new(tokio::io::stdin()).read_line(&mut line).await.map_err(|e| e.to_string())?;
    let calls: usize = env("B24_CALLS").parse().unwrap_or(0);
    let answers = futures::future::join_all((0..calls).map(|_| client.server_time())).await;
    let mut failed = BTreeMap::<String, u64>::new();
    for e in answers.iter().filter_map(|a| a.as_ref().err()) {
        *failed.entry(e.root().code().to_string()).or_default() += 1;
    }
    let ok = answers.iter().filter(|a| a.is_ok()).count();
    Ok(json!({ "ok": ok, "failed": failed }))
}

// ---------------------------------------------------------------------------------------------
// The test side.

/// Start `PROCESSES` workers with `vars`, wait until all are ready, run `at_go`, release them
/// at once, and collect their reports.
async fn run_workers(role: &str, vars: &[(&str, String)], at_go: impl FnOnce()) -> Vec<Value> {
    let exe = std::env::current_exe().expect("test binary");
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        let mut command = tokio::process::Command::new(&exe);
        command.args(["worker", "--exact", "--nocapture", "--test-threads", "1"]).env(WORKER, role);
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("a worker process");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        children.push((child, stdout));
    }
    for (_, lines) in &mut children {
        loop {
            let line = lines.next_line().await.expect("worker output").unwrap_or_else(|| panic!("a worker died"));
            // libtest prints `test worker ... ` before the worker's first line.
            if line.contains("B24-RESULT") {
                panic!("a worker failed to start: {line}");
            }
            if line.ends_with("READY") {
                break;
            }
        }
    }
    at_go();
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"GO\n").await.expect("release a worker");
        stdin.flush().await.expect("flush");
    }
    let mut reports = Vec::new();
    for (mut child, mut lines) in children {
        let mut report = None;
        while let Some(line) = lines.next_line().await.expect("worker output") {
            if let Some((_, json)) = line.split_once("B24-RESULT ") {
                report = Some(serde_json::from_str::<Value>(json).expect("a JSON report"));
            }
        }
        assert!(child.wait().await.expect("exit").success(), "a worker process failed");
        reports.push(report.expect("every worker reports"));
    }
    reports
}

fn standard_portal() -> Settings {
    Settings::fast().with_bucket(Some(BucketLimits::STANDARD)).with_time_scale(SCALE)
}

fn answered(reports: &[Value]) -> u64 {
    reports.iter().map(|r| r["ok"].as_u64().unwrap_or(0)).sum()
}

async fn burst(portal: &EmulatorHandle, redis: Option<&RedisServer>) -> Vec<Value> {
    let vars = [
        ("B24_URL", portal.webhook_url()),
        ("B24_REDIS", redis.map(RedisServer::url).unwrap_or_default()),
        ("B24_CALLS", "500".to_owned()),
    ];
    run_workers("bucket", &vars, || {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_one_redis_bucket_are_never_refused_and_alone_they_are() {
    let redis = RedisServer::start();
    let portal = Emulator::start(standard_portal()).await.expect("emulator");
    let reports = burst(&portal, Some(&redis)).await;
    let counters = portal.counters();
    println!(
        "shared store: {reports:?}; emulator: {} requests, {} refused",
        counters.requests, counters.bucket_refusals
    );
    assert!(reports.iter().all(|r| r["failed"] == json!({})), "no call failed: {reports:?}");
    assert_eq!(answered(&reports), 2000, "every call answered");
    assert_eq!(counters.bucket_refusals, 0, "the portal's bucket never refused a request");
    assert_eq!(counters.requests, 2000, "no request was sent twice");

    // The same four processes with the in-process default each spend the whole bucket.
    let portal = Emulator::start(standard_portal()).await.expect("emulator");
    let reports = burst(&portal, None).await;
    let counters = portal.counters();
    println!("in-process: {reports:?}; emulator: {} requests, {} refused", counters.requests, counters.bucket_refusals);
    assert!(counters.bucket_refusals > 0, "without the shared store the portal refuses requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_once_for_four_processes() {
    let redis = RedisServer::start();
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let s = portal.settings();
    let pair = portal.issue_tokens();
    let vars = [
        ("B24_URL", portal.client_endpoint()),
        ("B24_SERVER", format!("{}/rest/", portal.base_url())),
        ("B24_REDIS", redis.url()),
        ("B24_CALLS", "200".to_owned()),
        ("B24_ACCESS", pair.access_token.clone()),
        ("B24_REFRESH", pair.refresh_token.clone()),
        ("B24_CLIENT_ID", s.client_id.clone()),
        ("B24_CLIENT_SECRET", s.client_secret.clone()),
    ];
    // Every process has used the token; it expires just before they all call at once.
    let reports = run_workers("oauth", &vars, || portal.expire_access_tokens()).await;
    let counters = portal.counters();
    println!("{reports:?}; refreshes {}, refused {}", counters.oauth_refreshes, counters.oauth_refused);
    assert!(reports.iter().all(|r| r["failed"] == json!({})), "no call failed: {reports:?}");
    assert_eq!(answered(&reports), 800, "every call answered");
    assert_eq!(counters.oauth_refreshes, 1, "exactly one refresh at the OAuth endpoint");
    assert_eq!(counters.oauth_refused, 0, "no invalid_grant");

    // Without the shared store, each process spends the same single-use refresh token.
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let pair = portal.issue_tokens();
    let mut vars = vars;
    for (name, value) in &mut vars {
        match *name {
            "B24_URL" => *value = portal.client_endpoint(),
            "B24_SERVER" => *value = format!("{}/rest/", portal.base_url()),
            "B24_REDIS" => value.clear(),
            "B24_ACCESS" => *value = pair.access_token.clone(),
            "B24_REFRESH" => *value = pair.refresh_token.clone(),
            _ => {}
        }
    }
    let reports = run_workers("oauth", &vars, || portal.expire_access_tokens()).await;
    let counters = portal.counters();
    println!("in-process: {reports:?}; refreshes {}, refused {}", counters.oauth_refreshes, counters.oauth_refused);
    assert!(counters.oauth_refused > 0, "without the shared store, processes race for the refresh token");
}
