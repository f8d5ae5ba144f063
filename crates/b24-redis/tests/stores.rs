//! Each store against a real redis-server on 127.0.0.1, with two `RedisShared` values (two
//! connections, as two processes would have): the bucket and operating decisions are shared,
//! the refresh lock is exclusive and expires, and an unreachable Redis is a coded error or,
//! when chosen, a fallback with one warning.

mod common;

use std::time::Duration;

use b24_errors::Code;
use b24_redis::{Fallback, RedisOptions, RedisShared};
use b24_transport::credentials::{TokenSet, TokenStore};
use b24_transport::limiter::{Admission, BucketConfig, BucketStore, OperatingConfig, OperatingReport, OperatingStore};
use b24_transport::shared::Scope;
use common::{Captured, RedisServer};

fn scope(app: &str) -> Scope {
    Scope { portal: "portal.example.invalid".into(), app: app.into() }
}

fn shared(server: &RedisServer, options: RedisOptions) -> RedisShared {
    RedisShared::open(&server.url(), options.source("host-a")).expect("url")
}

/// Standard limits, draining 100 times faster than the portal's 2 per second.
fn bucket_config() -> BucketConfig {
    BucketConfig::STANDARD.scaled(0.01)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_take_at_most_one_bucket_between_them() {
    let server = RedisServer::start();
    let (a, b) = (shared(&server, RedisOptions::default()), shared(&server, RedisOptions::default()));
    let (a, b) = (a.bucket_store(&scope("x"), bucket_config()), b.bucket_store(&scope("x"), bucket_config()));
    for i in 0..48 {
        let store = if i % 2 == 0 { &a } else { &b };
        assert_eq!(store.acquire().await.expect("slot"), Duration::ZERO, "request {i} of the burst goes at once");
    }
    // 48 in flight across both: nothing more until an answer, whoever asks.
    assert!(tokio::time::timeout(Duration::from_millis(300), b.acquire()).await.is_err(), "b is held");
    assert!(tokio::time::timeout(Duration::from_millis(100), a.acquire()).await.is_err(), "a is held");
    a.on_answer(false);
    // The answered request drains in 5 ms (at 200 per second); then b gets its slot.
    let waited = tokio::time::timeout(Duration::from_secs(2), b.acquire()).await.expect("freed").expect("slot");
    assert!(waited < Duration::from_secs(2));

    // Another host (source) has a bucket of its own.
    let other = RedisShared::open(&server.url(), RedisOptions::default().source("host-b")).expect("url");
    let other = other.bucket_store(&scope("x"), bucket_config());
    for _ in 0..48 {
        assert_eq!(other.acquire().await.expect("slot"), Duration::ZERO);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_process_holds_its_slots_only_until_they_expire() {
    let server = RedisServer::start();
    let options = || RedisOptions::default().in_flight_ttl(Duration::from_millis(400));
    let dead = shared(&server, options()).bucket_store(&scope("x"), bucket_config());
    for _ in 0..48 {
        dead.acquire().await.expect("slot");
    }
    drop(dead); // never answers
    let alive = shared(&server, options()).bucket_store(&scope("x"), bucket_config());
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), alive.acquire()).await.expect("the slots expired").expect("slot");
    assert!(started.elapsed() >= Duration::from_millis(300), "not before the in-flight time limit");
}

fn report(operating: f64) -> OperatingReport {
    OperatingReport { operating, reset_in: Some(Duration::from_secs(30)), processing: Some(1.0) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operating_budget_is_shared_per_app_and_method() {
    let server = RedisServer::start();
    let config = OperatingConfig { limit_secs: 10.0, ..OperatingConfig::default() };
    let a = shared(&server, RedisOptions::default()).operating_store(&scope("app-1"), config);
    let b = shared(&server, RedisOptions::default()).operating_store(&scope("app-1"), config);
    let other_app = shared(&server, RedisOptions::default()).operating_store(&scope("app-2"), config);
    assert_eq!(a.admit("crm.deal.list").await.expect("admit"), Admission::Go);
    a.finish("crm.deal.list", Some(report(9.5)));
    // The report lands in the background; b then sees the budget spent until the reset.
    let mut waited = None;
    for _ in 0..100 {
        match b.admit("crm.deal.list").await.expect("admit") {
            Admission::Wait(d) => {
                waited = Some(d);
                break;
            }
            Admission::Go => b.finish("crm.deal.list", None),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waited = waited.expect("b was held by a's report");
    assert!(waited > Duration::from_secs(25) && waited <= Duration::from_secs(30), "until the reset: {waited:?}");
    assert_eq!(b.admit("crm.item.list").await.expect("admit"), Admission::Go, "other methods go");
    assert_eq!(other_app.admit("crm.deal.list").await.expect("admit"), Admission::Go, "other apps go");
    assert_eq!(a.snapshot(), vec![("crm.deal.list".to_owned(), 9.5)]);

    // A 429 seen by one process holds the method in all of them.
    b.on_blocked("tasks.task.list");
    let mut held = false;
    for _ in 0..100 {
        if matches!(a.admit("tasks.task.list").await.expect("admit"), Admission::Wait(_)) {
            held = true;
            break;
        }
        a.finish("tasks.task.list", None);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held, "a blocked method is held everywhere");
}

fn tokens(n: u32) -> TokenSet {
    TokenSet::new(format!("fake-access-{n}"), format!("fake-refresh-{n}"), "https://portal.example.invalid/rest/", None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_lock_is_exclusive_and_expires_when_its_holder_dies() {
    let server = RedisServer::start();
    let options = || RedisOptions::default().lock_ttl(Duration::from_millis(500));
    let a = shared(&server, options()).token_store(&scope("app"));
    let b = shared(&server, options()).token_store(&scope("app"));
    assert_eq!(a.load().await.expect("load"), None);
    a.save(tokens(1)).await.expect("save");
    assert_eq!(b.load().await.expect("load"), Some(tokens(1)), "a pair saved by one is read by the other");
    assert!(!format!("{a:?}").contains("fake-"), "no token in Debug");

    let guard = a.lock_refresh().await.expect("lock");
    assert!(tokio::time::timeout(Duration::from_millis(200), b.lock_refresh()).await.is_err(), "exclusive");
    drop(guard);
    let guard =
        tokio::time::timeout(Duration::from_millis(300), b.lock_refresh()).await.expect("released").expect("lock");

    // b dies holding the lock: a gets it once the lock expires.
    std::mem::forget(guard);
    let started = std::time::Instant::now();
    let _guard = tokio::time::timeout(Duration::from_secs(3), a.lock_refresh()).await.expect("expired").expect("lock");
    assert!(started.elapsed() >= Duration::from_millis(300), "not before the lock's time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_is_a_coded_error_or_the_chosen_fallback_warned_once() {
    let mut server = RedisServer::start();
    let url = server.url().replace("redis://", "redis://:fake-redis-password@");
    server.stop();
    let strict = RedisShared::open(&url, RedisOptions::default()).expect("url");
    let bucket = strict.bucket_store(&scope("x"), bucket_config());
    let e = bucket.acquire().await.expect_err("no Redis");
    assert_eq!((e.code(), e.status()), (Code::JssdkStoreUnavailable.into(), 503));
    let shown = format!("{e} {e:?} {} {strict:?}", e.to_json());
    assert!(!shown.contains("fake-redis-password"), "the Redis password leaked: {shown}");
    let ops = strict.operating_store(&scope("x"), OperatingConfig::default());
    assert_eq!(ops.admit("m").await.expect_err("no Redis").code(), Code::JssdkStoreUnavailable);
    let tokens = strict.token_store(&scope("x"));
    assert_eq!(tokens.lock_refresh().await.err().map(|e| e.code()), Some(Code::JssdkStoreUnavailable.into()));

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let lenient = RedisShared::open(&url, RedisOptions::default().fallback(Fallback::Local)).expect("url");
    let bucket = lenient.bucket_store(&scope("x"), bucket_config());
    let ops = lenient.operating_store(&scope("x"), OperatingConfig::default());
    for _ in 0..40 {
        bucket.acquire().await.expect("the in-process fallback gives a slot");
        assert_eq!(ops.admit("m").await.expect("fallback"), Admission::Go);
        ops.finish("m", None);
        bucket.on_answer(false);
    }
    let log = captured.text();
    assert_eq!(log.matches("unreachable").count(), 1, "one warning for the outage: {log}");
    assert!(log.contains("JSSDK_STORE_UNAVAILABLE") && !log.contains("fake-redis-password"), "{log}");
    // Back up: the stores use Redis again (and say so); the first command may still meet the
    // broken connection, which the connection manager then replaces.
    server.restart();
    let mut back = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        bucket.acquire().await.expect("slot");
        bucket.on_answer(false);
        if captured.text().contains("answers again") {
            back = true;
            break;
        }
    }
    assert!(back, "the stores went back to Redis: {}", captured.text());
    let failures = lenient.failures();
    for _ in 0..5 {
        bucket.acquire().await.expect("slot");
        bucket.on_answer(false);
    }
    assert_eq!(lenient.failures(), failures, "Redis answers");
}

/// The bucket's time is kept to the microsecond. Rounded to 0.1 ms (what Lua's `tostring`
/// keeps of a time in ms), the level drained about 0.2 % fast under 200 requests a second, and
/// four processes drew refusals from a portal they never should have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_keeps_its_time_to_the_microsecond() {
    let server = RedisServer::start();
    let bucket = shared(&server, RedisOptions::default()).bucket_store(&scope("x"), bucket_config());
    let client = redis::Client::open(server.url()).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connection");
    let mut fractions = Vec::new();
    for _ in 0..20 {
        bucket.acquire().await.expect("slot");
        let at: String = redis::cmd("HGET")
            .arg("b24:bucket:{portal.example.invalid|host-a}")
            .arg("at")
            .query_async(&mut conn)
            .await
            .expect("the bucket's time");
        fractions.push(at.split_once('.').map_or(0, |(_, f)| f.len()));
        bucket.on_answer(false);
    }
    // A rounded time has at most one decimal; twenty times in a row would be a chance of 1e-40.
    assert!(fractions.iter().any(|&digits| digits >= 3), "decimals of the stored times: {fractions:?}");
}
