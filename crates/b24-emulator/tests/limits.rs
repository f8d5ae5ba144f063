//! The two limits and the cost model over real HTTP, with fast time scales.

mod common;

use std::time::Duration;

use b24_emulator::{BatchCharging, BucketLimits, CostModel, Emulator, OperatingLimits, Settings};
use common::Http;
use serde_json::json;

#[tokio::test]
async fn a_burst_of_52_gets_503_on_the_52nd_and_the_bucket_drains() {
    let settings = Settings::fast().with_bucket(Some(BucketLimits::STANDARD));
    let portal = Emulator::start(settings).await.expect("start");
    let http = Http::new();
    let url = format!("{}server.time", portal.webhook_url());
    let mut statuses = Vec::new();
    for _ in 0..52 {
        statuses.push(http.get(&url).await.status);
    }
    assert!(statuses[..51].iter().all(|s| *s == 200), "refused only over X: {statuses:?}");
    assert_eq!(statuses[51], 503);
    let refused = http.get(&url).await;
    assert_eq!((refused.status, refused.json()["error"].clone()), (503, json!("QUERY_LIMIT_EXCEEDED")));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(http.get(&url).await.status, 200, "one unit drained after 0.5 s");
    let c = portal.counters();
    assert_eq!(c.bucket_refusals, 2);
    assert_eq!(c.status_503, 2);
}

fn operating_settings(charging: BatchCharging) -> Settings {
    Settings {
        time_scale: 0.01,
        cost: CostModel { list_base: 0.3, ..CostModel::CLOUD },
        operating: Some(OperatingLimits {
            limit_secs: 1.0,
            window_secs: 60.0,
            basket_secs: 6.0,
            batch_charging: charging,
            ..OperatingLimits::default()
        }),
        ..Settings::fast().with_rows(100)
    }
}

#[tokio::test]
async fn operating_limit_blocks_one_method_until_the_oldest_basket_expires() {
    let portal = Emulator::start(operating_settings(BatchCharging::ToBatch)).await.expect("start");
    let http = Http::new();
    let list = format!("{}crm.deal.list?start=-1", portal.webhook_url());
    let mut operating = Vec::new();
    for _ in 0..3 {
        let v = http.get(&list).await.json();
        operating.push(v["time"]["operating"].as_f64().unwrap_or(-1.0));
        assert!(v["time"]["operating_reset_at"].as_f64().is_some(), "{v}");
    }
    assert!(operating.windows(2).all(|w| w[1] > w[0]), "running total grows: {operating:?}");
    let blocked = http.get(&list).await;
    assert_eq!((blocked.status, blocked.json()["error"].clone()), (429, json!("OPERATION_TIME_LIMIT")));
    // Other methods are not blocked.
    assert_eq!(http.get(&format!("{}server.time", portal.webhook_url())).await.status, 200);
    // The window is 60 virtual seconds = 0.6 s real.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(http.get(&list).await.status, 200);
    assert_eq!(portal.counters().status_429, 1);
}

#[tokio::test]
async fn batch_charging_switch() {
    for (charging, blocked_method) in [(BatchCharging::ToBatch, "batch"), (BatchCharging::PerCommand, "crm.deal.list")]
    {
        let portal = Emulator::start(operating_settings(charging)).await.expect("start");
        let http = Http::new();
        let batch = format!("{}batch", portal.webhook_url());
        // Three pages of 0.35 s: the check before each sees 0, 0.35, 0.7 (all under 1.0); then 1.05.
        let cmd = json!({"cmd": ["crm.deal.list?start=-1", "crm.deal.list?start=-1", "crm.deal.list?start=-1"]});
        let first = http.json(&batch, &cmd).await;
        assert_eq!(first.status, 200);
        assert!(first.json()["result"]["result_error"].as_array().is_some_and(Vec::is_empty), "{}", first.text());
        let second = http.json(&batch, &cmd).await;
        let single = http.get(&format!("{}crm.deal.list?start=-1", portal.webhook_url())).await;
        match blocked_method {
            "batch" => {
                assert_eq!(second.status, 429, "{charging:?}");
                assert_eq!(single.status, 200);
            }
            _ => {
                assert_eq!(second.status, 200);
                assert_eq!(
                    second.json()["result"]["result_error"][0]["error"],
                    "OPERATION_TIME_LIMIT",
                    "{}",
                    second.text()
                );
                assert_eq!(single.status, 429);
            }
        }
    }
}

#[tokio::test]
async fn cost_model_reports_processing_and_cuts_off_past_60_seconds() {
    let settings = Settings { time_scale: 0.001, cost: CostModel::CLOUD, ..Settings::fast().with_rows(200) };
    let portal = Emulator::start(settings).await.expect("start");
    let http = Http::new();
    let v = http.get(&format!("{}crm.deal.list?start=-1", portal.webhook_url())).await.json();
    // Reported in real seconds: the virtual handler time times the scale.
    let processing = v["time"]["processing"].as_f64().unwrap_or(0.0) / 0.001;
    assert!((processing - 0.055).abs() < 1e-9, "5 ms + 50 x 1 ms: {processing}");
    let counted = http.get(&format!("{}crm.deal.list?start=100", portal.webhook_url())).await.json();
    let p = counted["time"]["processing"].as_f64().unwrap_or(0.0) / 0.001;
    assert!((p - (0.055 + 200.0 * 0.000_002 + 100.0 * 0.000_002)).abs() < 1e-9, "{p}");
    assert_eq!(portal.counters().count_queries, 1);

    let heavy =
        Settings { time_scale: 0.0001, cost: CostModel { single_item: 61.0, ..CostModel::CLOUD }, ..Settings::fast() };
    let portal = Emulator::start(heavy).await.expect("start");
    let a = http.json(&format!("{}crm.deal.get", portal.webhook_url()), &json!({"id": 1})).await;
    assert_eq!(a.status, 504);
    assert!(a.text().contains("<html>"));
}
