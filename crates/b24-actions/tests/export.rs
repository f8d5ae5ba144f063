//! The fast export against the emulator: every row exactly once, in order, no COUNT, and at most
//! ceil(N / 2,500) + 1 HTTP requests for one chain.

use b24_actions::{Actions, ListQuery};
use b24_emulator::{ArrayFilterValue, Emulator, EmulatorHandle, Settings};
use b24_transport::credentials::Webhook;
use b24_transport::{TransportBuilder, TransportConfig};
use futures::TryStreamExt;
use serde_json::Value;

const SIZES: [u64; 9] = [0, 1, 49, 50, 51, 2_499, 2_500, 2_501, 100_000];

async fn portal(rows: u64, arrays: ArrayFilterValue) -> (EmulatorHandle, Actions) {
    let settings = Settings { array_filter_value: arrays, ..Settings::fast().with_rows(rows) };
    let portal = Emulator::start(settings).await.expect("emulator");
    let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
    let transport = TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport");
    (portal, Actions::new(transport))
}

fn id_of(row: &Value, field: &str) -> u64 {
    match &row[field] {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

async fn export(actions: &Actions, query: ListQuery, field: &str) -> Vec<u64> {
    let pages: Vec<Vec<Value>> = actions.v2().fetch_list(query).try_collect().await.expect("export");
    pages.iter().flatten().map(|row| id_of(row, field)).collect()
}

fn queries() -> Vec<(ListQuery, &'static str)> {
    vec![
        (ListQuery::new("crm.deal.list").select(["ID", "TITLE"]), "ID"),
        (ListQuery::new("crm.item.list").param("entityTypeId", 2).select(["id", "title"]), "id"),
        (ListQuery::new("tasks.task.list").select(["ID", "TITLE"]), "id"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_chain_every_size_every_method() {
    for rows in SIZES {
        for arrays in [ArrayFilterValue::Intval, ArrayFilterValue::Empty, ArrayFilterValue::Error] {
            if rows == 100_000 && arrays != ArrayFilterValue::Intval {
                continue;
            }
            let (portal, actions) = portal(rows, arrays).await;
            let expected: Vec<u64> = portal.seeded_ids().collect();
            for (query, field) in queries() {
                let method = query.method().to_owned();
                let before = portal.counters().requests;
                let got = export(&actions, query.chains(1), field).await;
                assert_eq!(got.len(), expected.len(), "{method} N={rows} {arrays:?}");
                assert!(got == expected, "{method} N={rows} {arrays:?}: rows out of order or not exactly once");
                let requests = portal.counters().requests - before;
                assert!(requests <= rows.div_ceil(2_500) + 1, "{method} N={rows}: {requests} requests");
            }
            assert_eq!(portal.counters().count_queries, 0, "no COUNT query");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_windows_in_parallel_keep_order() {
    for rows in [2_501u64, 7_777, 100_000] {
        let (portal, actions) = portal(rows, ArrayFilterValue::Intval).await;
        let expected: Vec<u64> = portal.seeded_ids().collect();
        for chains in [2usize, 4] {
            for (query, field) in queries() {
                let method = query.method().to_owned();
                let before = portal.counters().requests;
                let got = export(&actions, query.chains(chains), field).await;
                assert!(got == expected, "{method} N={rows} chains={chains}: {} rows", got.len());
                let requests = portal.counters().requests - before;
                let bound = rows.div_ceil(2_500) + 1 + chains as u64 + 1;
                assert!(requests <= bound, "{method} N={rows} chains={chains}: {requests} requests > {bound}");
            }
        }
        assert_eq!(portal.counters().count_queries, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_windows_waste_at_most_a_page_per_final_window() {
    // A page requested past a window's short page is served at full cost (the broken reference
    // reads from the start again), so windows are sized to end inside their last page.
    for rows in [20_000u64, 100_000, 250_000] {
        let (portal, actions) = portal(rows, ArrayFilterValue::Intval).await;
        let chains = 8;
        let query = ListQuery::new("crm.item.list").param("entityTypeId", 2).select(["id"]).chains(chains);
        let got = export(&actions, query, "id").await;
        assert_eq!(got.len() as u64, rows);
        let served = portal.counters().rows_served;
        let waste = served - rows - 50;
        assert!(waste <= 50 * chains as u64, "N={rows}: {waste} rows served past the windows' ends");
    }
}

#[tokio::test]
async fn filters_select_and_bounds_are_kept() {
    let (portal, actions) = portal(5_000, ArrayFilterValue::Intval).await;
    let all: Vec<u64> = portal.seeded_ids().collect();
    let query = ListQuery::new("crm.deal.list").filter(">=ID", 100).filter("<ID", 4000).select(["ID", "STAGE_ID"]);
    let pages: Vec<Vec<Value>> = actions.v2().fetch_list(query).try_collect().await.expect("export");
    let got: Vec<u64> = pages.iter().flatten().map(|r| id_of(r, "ID")).collect();
    let expected: Vec<u64> = all.iter().copied().filter(|id| (100..4000).contains(id)).collect();
    assert_eq!(got, expected);
    for chains in [2usize, 5] {
        let windowed = ListQuery::new("crm.deal.list").filter(">=ID", 100).filter("<ID", 4000).select(["ID"]);
        let rows: Vec<Value> = actions.v2().call_list(windowed.chains(chains)).await.expect("windowed bounds");
        let ids: Vec<u64> = rows.iter().map(|r| id_of(r, "ID")).collect();
        assert_eq!(ids, expected, "bounds kept by parallel windows, chains={chains}");
    }
    assert!(pages[0][0].get("TITLE").is_none() && pages[0][0].get("STAGE_ID").is_some(), "select is kept");
    let won = ListQuery::new("crm.deal.list").filter("STAGE_ID", "WON").chains(3);
    let rows: Vec<Value> = actions.v2().call_list(won).await.expect("won");
    assert!(!rows.is_empty() && rows.iter().all(|r| r["STAGE_ID"] == "WON"));
    let ids: Vec<u64> = rows.iter().map(|r| id_of(r, "ID")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let descending = ListQuery::new("crm.deal.list").order("ID", "DESC").select(["ID"]);
    let got: Vec<u64> =
        actions.v2().call_list::<Value>(descending).await.expect("desc").iter().map(|r| id_of(r, "ID")).collect();
    assert_eq!(got, all.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(portal.counters().count_queries, 0);
    // Ordered by another field: offset paging (which counts) still returns every row once.
    let by_title = ListQuery::new("crm.deal.list").order("TITLE", "ASC").select(["ID", "TITLE"]);
    let rows: Vec<Value> = actions.v2().call_list(by_title).await.expect("by title");
    assert_eq!(rows.len(), 5_000);
    let mut ids: Vec<u64> = rows.iter().map(|r| id_of(r, "ID")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5_000);
}

#[tokio::test]
async fn v3_pages_and_tail() {
    let (portal, actions) = portal(2_345, ArrayFilterValue::Intval).await;
    let expected: Vec<u64> = portal.seeded_ids().collect();
    let q = ListQuery::new("crm.item.list").param("entityTypeId", 2).page_size(500);
    let rows: Vec<Value> = actions.v3().call_list(q.clone()).await.expect("v3 list");
    assert_eq!(rows.iter().map(|r| id_of(r, "id")).collect::<Vec<_>>(), expected);
    let rows: Vec<Value> = actions.v3().call_tail(q).await.expect("v3 tail");
    assert_eq!(rows.iter().map(|r| id_of(r, "id")).collect::<Vec<_>>(), expected);
    let tasks: Vec<Value> =
        actions.v3().call_tail(ListQuery::new("tasks.task.list").page_size(1000)).await.expect("tasks tail");
    assert_eq!(tasks.len(), 2_345);
}

#[tokio::test]
async fn v3_lists_keep_the_filter() {
    use b24_actions::V3Filter;
    let (portal, actions) = portal(300, ArrayFilterValue::Intval).await;
    let ids: Vec<u64> = portal.seeded_ids().collect();
    let (low, high) = (ids[20], ids[120]);
    let expected: Vec<u64> = ids.iter().copied().filter(|id| *id >= low && *id < high).collect();
    let q = ListQuery::new("crm.item.list").param("entityTypeId", 2).page_size(50);
    // v2-style keys through ListQuery::filter, on both v3 pagers.
    let keyed = q.clone().filter(">=id", low).filter("<id", high);
    let rows: Vec<Value> = actions.v3().call_list(keyed.clone()).await.expect("v3 list");
    assert_eq!(rows.iter().map(|r| id_of(r, "id")).collect::<Vec<_>>(), expected);
    let rows: Vec<Value> = actions.v3().call_tail(keyed).await.expect("v3 tail");
    assert_eq!(rows.iter().map(|r| id_of(r, "id")).collect::<Vec<_>>(), expected);
    // The typed form as a param, and both together.
    let typed = q.clone().param("filter", V3Filter::new().ge("id", low)).filter("<id", high);
    let rows: Vec<Value> = actions.v3().call_list(typed).await.expect("typed filter");
    assert_eq!(rows.len(), expected.len());
    // An operator v3 lacks fails before any request.
    let before = portal.counters().requests;
    let e = actions.v3().call_list::<Value>(q.filter("%title", "x")).await.err().map(|e| e.code());
    assert_eq!(e, Some(b24_errors::Code::JssdkInvalidParams.into()));
    assert_eq!(portal.counters().requests, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_export_waits_for_the_operating_budget_instead_of_failing() {
    use b24_emulator::{BatchCharging, CostModel, OperatingLimits};
    // Pages of 0.25 s (recorded), a 30 s budget in a 60 s window, a hundred times faster than
    // real time: 200 pages need the budget to free up twice.
    for charging in [BatchCharging::PerCommand, BatchCharging::ToBatch] {
        let settings = Settings {
            time_scale: 0.01,
            cost: CostModel { list_base: 0.2, per_row: 0.001, ..CostModel::CLOUD },
            operating: Some(OperatingLimits {
                limit_secs: 30.0,
                window_secs: 60.0,
                basket_secs: 6.0,
                batch_charging: charging,
                ..OperatingLimits::default()
            }),
            ..Settings::fast().with_rows(10_000)
        };
        let portal = Emulator::start(settings).await.expect("emulator");
        let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
        let mut config = TransportConfig::unlimited().with_time_scale(0.01);
        config.operating = Some(b24_transport::limiter::OperatingConfig { limit_secs: 30.0, ..Default::default() });
        let transport = TransportBuilder::new(hook).config(config).build().expect("transport");
        let actions = Actions::new(transport);
        let got = export(&actions, ListQuery::new("crm.deal.list").select(["ID"]), "ID").await;
        assert!(got == portal.seeded_ids().collect::<Vec<_>>(), "{charging:?}: {} rows", got.len());
        assert_eq!(portal.counters().status_429, 0, "{charging:?}: the limiter waited instead of being refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_adapts_to_the_portal_and_stays_under_its_cap() {
    use b24_actions::concurrency::{DEFAULT_MAX, INITIAL_LANES};
    use b24_emulator::CostModel;
    // (workers, the cap asked for, the most requests the portal may see at once)
    for (workers, cap, most) in
        [(1usize, None, INITIAL_LANES), (3, None, INITIAL_LANES), (32, None, DEFAULT_MAX), (32, Some(4), 4)]
    {
        // Time scale 0.1: a page is 5.5 ms, well above the client's own jitter.
        let settings = Settings {
            time_scale: 0.1,
            cost: CostModel { workers, ..CostModel::CLOUD },
            ..Settings::fast().with_rows(20_000)
        };
        let portal = Emulator::start(settings).await.expect("emulator");
        let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
        let config = TransportConfig::unlimited().with_time_scale(0.1);
        let actions = Actions::new(TransportBuilder::new(hook).config(config).build().expect("transport"));
        let mut query = ListQuery::new("crm.item.list").param("entityTypeId", 2).select(["id"]);
        if let Some(cap) = cap {
            query = query.max_chains(cap);
        }
        let got = export(&actions, query, "id").await;
        assert!(got == portal.seeded_ids().collect::<Vec<_>>(), "{workers} workers: {} rows", got.len());
        let c = portal.counters();
        println!("{workers} workers, cap {cap:?}: {} requests, {} at once", c.requests, c.max_in_flight);
        assert!(c.max_in_flight as usize <= most, "{workers} workers, cap {cap:?}: {} at once", c.max_in_flight);
        assert!(c.max_in_flight > 1, "{workers} workers: windows ran in parallel");
        assert_eq!(c.count_queries, 0);
    }
}

/// The export's decisions in paused time against the emulator's cost model (`cloud` limits and
/// costs, `workers` workers): the client's own CPU costs no virtual time, so what is left is
/// what the scheduling wastes. (Wall-clock figures are in `cargo xtask bench`.)
#[tokio::test(start_paused = true)]
async fn in_paused_time_the_default_stays_near_the_bound_on_any_portal() {
    use b24_actions::concurrency::DEFAULT_MAX;
    use b24_emulator::CostModel;
    async fn seconds(rows: u64, workers: usize, chains: Option<usize>) -> f64 {
        let settings =
            Settings { cost: CostModel { workers, ..CostModel::CLOUD }, ..Settings::cloud().with_rows(rows) };
        let portal = Emulator::start(settings).await.expect("emulator");
        let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
        let actions = Actions::new(TransportBuilder::new(hook).config(TransportConfig::standard()).build().expect("t"));
        let mut query = ListQuery::new("crm.item.list").param("entityTypeId", 2).select(["id", "title"]);
        if let Some(chains) = chains {
            query = query.chains(chains);
        }
        let started = tokio::time::Instant::now();
        let got = export(&actions, query, "id").await;
        assert_eq!(got.len() as u64, rows);
        let c = portal.counters();
        assert_eq!((c.status_503, c.status_429), (0, 0), "{rows} rows, {workers} workers");
        if chains.is_none() {
            assert_eq!(c.rows_served, rows + 50, "no page past a window's end, only the highest-id probe");
        }
        started.elapsed().as_secs_f64()
    }
    for (rows, workers) in [(20_000u64, 1usize), (20_000, 2), (20_000, 8), (20_000, 32), (100_000, 8), (100_000, 32)] {
        // The server-time bound: every page's handler time over the workers the default may use.
        let bound = (rows / 50) as f64 * 0.055 / workers.min(DEFAULT_MAX) as f64;
        let took = seconds(rows, workers, None).await;
        assert!(took <= 1.1 * bound, "{rows} rows, {workers} workers: {took:.3} s for a bound of {bound:.3} s");
    }
    // A single worker: not slower than one chain at a time.
    let (adaptive, sequential) = (seconds(20_000, 1, None).await, seconds(20_000, 1, Some(1)).await);
    assert!(adaptive <= 1.05 * sequential, "{adaptive:.3} s against {sequential:.3} s for one chain");
}

/// A list read of a method that answers no list is an error naming the method, not "0 rows".
#[tokio::test]
async fn a_method_that_answers_no_list_is_refused() {
    let (_portal, actions) = portal(10, ArrayFilterValue::Intval).await;
    for method in ["server.time", "crm.deal.get"] {
        let result: Result<Vec<Value>, _> = actions.v2().call_list(ListQuery::new(method).param("id", 1)).await;
        let e = result.expect_err("not a list");
        assert_eq!(e.root().code(), b24_transport::Code::JssdkResponseUnexpectedShape, "{method}: {e}");
        assert!(e.to_string().contains(method) && e.root().message().contains("not a list"), "{e}");
    }
}
