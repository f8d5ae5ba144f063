//! Fault injection over real HTTP: each kind does what it says.

mod common;

use std::time::{Duration, Instant};

use b24_emulator::{Emulator, FaultKind, FaultSettings, Settings};
use common::Http;
use serde_json::json;

fn only(kind: FaultKind) -> FaultSettings {
    FaultSettings { rate: 1.0, kinds: vec![kind], slow_by: Duration::from_millis(300), ..FaultSettings::default() }
}

#[tokio::test]
async fn each_kind() {
    let portal = Emulator::start(Settings::fast().with_rows(5)).await.expect("start");
    let http = Http::new();
    let url = format!("{}crm.deal.list", portal.webhook_url());

    portal.set_faults(only(FaultKind::QueryLimit));
    let a = http.get(&url).await;
    assert_eq!((a.status, a.json()["error"].clone()), (503, json!("QUERY_LIMIT_EXCEEDED")));

    portal.set_faults(only(FaultKind::OperationTimeLimit));
    assert_eq!(http.get(&url).await.status, 429);

    portal.set_faults(only(FaultKind::Overload));
    assert_eq!(http.get(&url).await.json()["error"], "OVERLOAD_LIMIT");

    portal.set_faults(only(FaultKind::Html500));
    let a = http.get(&url).await;
    assert_eq!(a.status, 500);
    assert!(a.text().starts_with("<html>"));

    portal.set_faults(only(FaultKind::InvalidJson));
    let a = http.get(&url).await;
    assert!(serde_json::from_slice::<serde_json::Value>(&a.body).is_err());

    portal.set_faults(only(FaultKind::DropConnection));
    assert!(http.send("GET", &url, None, Vec::new(), &[]).await.is_err(), "connection dropped");

    portal.set_faults(only(FaultKind::TruncatedBody));
    let truncated = http.send("GET", &url, None, Vec::new(), &[]).await;
    assert!(truncated.is_err(), "body cut short");

    portal.set_faults(only(FaultKind::Slow));
    let t = Instant::now();
    assert_eq!(http.get(&url).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    portal.set_faults(only(FaultKind::ExpiredToken));
    assert_eq!(http.get(&url).await.status, 200, "webhooks have no token to expire");
    let pair = portal.issue_tokens();
    let oauth = format!("{}crm.deal.list", portal.client_endpoint());
    let a = http.json(&oauth, &json!({"auth": pair.access_token})).await;
    assert_eq!(a.json()["error"], "expired_token");
    portal.set_faults(FaultSettings::default());
    let again = http.json(&oauth, &json!({"auth": pair.access_token})).await;
    assert_eq!(again.json()["error"], "expired_token", "the token really expired");

    let faults = portal.counters().faults;
    for kind in FaultKind::ALL {
        assert_eq!(faults.get(kind.name()), Some(&1), "{kind:?}: {faults:?}");
    }
}

#[tokio::test]
async fn drop_after_handling_keeps_the_add() {
    let portal = Emulator::start(Settings::fast().with_rows(0)).await.expect("start");
    portal.set_faults(FaultSettings { methods: vec!["crm.item.add".into()], ..only(FaultKind::DropConnection) });
    let http = Http::new();
    let body = json!({"entityTypeId": 2, "fields": {"title": "x"}}).to_string().into_bytes();
    let r =
        http.send("POST", &format!("{}crm.item.add", portal.webhook_url()), Some("application/json"), body, &[]).await;
    assert!(r.is_err());
    assert_eq!(portal.item_count(2), 1, "handled before the drop");
}
