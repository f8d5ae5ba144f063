//! Batches against the emulator, and each JS SDK code of this layer provoked by a test.

use b24_actions::{Actions, Batch, Command, Commands, ListQuery, Outcome};
use b24_emulator::{Emulator, EmulatorHandle, FaultKind, FaultSettings, Settings};
use b24_errors::Code;
use b24_transport::credentials::Webhook;
use b24_transport::{TransportBuilder, TransportConfig};
use futures::TryStreamExt;
use serde_json::{Value, json};

async fn setup(rows: u64) -> (EmulatorHandle, Actions) {
    let portal = Emulator::start(Settings::fast().with_rows(rows)).await.expect("emulator");
    let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
    let mut config = TransportConfig::unlimited();
    config.retry.max_retries = 0;
    // Exports retry within a time budget rather than a count: none here, to see failures at once.
    config.retry.work_retry_budget = std::time::Duration::ZERO;
    let transport = TransportBuilder::new(hook).config(config).build().expect("transport");
    (portal, Actions::new(transport))
}

fn get(id: i64) -> Command {
    Command::new("crm.deal.get", json!({"id": id}))
}

#[tokio::test]
async fn halt_off_keeps_successes_and_every_error() {
    let (_portal, actions) = setup(10).await;
    let batch = Batch::named(vec![
        ("a".into(), get(1)),
        ("b".into(), get(999)),
        ("c".into(), get(2)),
        ("d".into(), Command::new("no.such", json!({}))),
    ])
    .expect("batch");
    let r = actions.v2().batch(&batch).await.expect("sent");
    assert!(!r.is_success());
    assert_eq!(r.data().iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec!["a", "c"]);
    let errors = r.errors();
    assert_eq!(errors.len(), 2);
    for (_, e) in &errors {
        assert_eq!(e.code(), Code::JssdkBatchSubError);
    }
    assert_eq!(r.outcome("b").and_then(Outcome::err).map(|e| e.root().code().as_str().to_owned()), Some(String::new()));
    assert_eq!(r.outcome("d").and_then(Outcome::err).map(|e| e.root().code()), Some(Code::ErrorMethodNotFound.into()));
    assert_eq!(r.error_messages().len(), 2);
}

#[tokio::test]
async fn halt_on_stops_at_the_first_failure() {
    let (_portal, actions) = setup(10).await;
    let batch = Batch::list(vec![get(1), get(999), get(2)]).expect("batch").halt(true);
    let r = actions.v2().batch(&batch).await.expect("sent");
    assert!(r.outcome("0").and_then(Outcome::ok).is_some());
    assert!(r.outcome("1").and_then(Outcome::err).is_some());
    assert!(matches!(r.outcome("2"), Some(Outcome::NotRun)));
}

#[tokio::test]
async fn by_chunk_keeps_every_error_of_every_chunk() {
    let (portal, actions) = setup(200).await;
    let ids: Vec<u64> = portal.seeded_ids().collect();
    let commands: Vec<Command> =
        (0..120).map(|i| if i == 7 || i == 77 || i == 118 { get(999_999) } else { get(ids[i] as i64) }).collect();
    let r = actions.v2().batch_by_chunk(Commands::List(commands), false).await.expect("chunks");
    assert_eq!(r.len(), 120);
    let failed: Vec<&str> = r.errors().iter().map(|(k, _)| *k).collect();
    assert_eq!(failed, vec!["7", "77", "118"], "errors of later chunks do not overwrite earlier ones");
    let data = r.data();
    assert_eq!(data.len(), 117);
    assert_eq!(data[8].0, "9");
    assert_eq!(data[8].1["ID"], json!(ids[9].to_string()), "results stay in order with their keys");
    assert_eq!(portal.counters().requests, 3);
}

#[tokio::test]
async fn v3_batches_and_version_checks() {
    let (portal, actions) = setup(10).await;
    let ok = Batch::named(vec![
        ("added".into(), Command::new("crm.item.add", json!({"entityTypeId": 2, "fields": {"title": "b"}}))),
        ("list".into(), Command::new("crm.item.list", json!({"entityTypeId": 2}))),
    ])
    .expect("batch");
    let r = actions.v3().batch(&ok).await.expect("v3 batch");
    assert!(r.is_success());
    let before = portal.counters().requests;
    let not_v3 = Batch::list(vec![Command::new("crm.deal.list", json!({}))]).expect("batch");
    let e = actions.v3().batch(&not_v3).await.expect_err("refused before sending");
    assert_eq!(e.code(), Code::JssdkCoreMethodNotSupportInApiV3);
    let e = actions.v3().call("crm.deal.list", &json!({})).await.expect_err("refused");
    assert_eq!(e.code(), Code::JssdkCoreMethodNotSupportInApiV3);
    assert_eq!(portal.counters().requests, before, "no request was made");
    let failing =
        Batch::list(vec![Command::new("crm.item.get", json!({"entityTypeId": 2, "id": 99_999}))]).expect("batch");
    let e = actions.v3().batch(&failing).await.expect_err("all or nothing");
    assert_eq!(e.code().as_str(), "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION");
}

#[tokio::test]
async fn seed_codes_of_this_layer() {
    let (portal, actions) = setup(100).await;
    // JSSDK_BATCH_EMPTY, JSSDK_BATCH_TOO_LARGE
    assert_eq!(Batch::list(vec![]).err().map(|e| e.code()), Some(Code::JssdkBatchEmpty.into()));
    let e = actions.v2().batch_by_chunk(Commands::List(vec![]), false).await.err().map(|e| e.code());
    assert_eq!(e, Some(Code::JssdkBatchEmpty.into()));
    let big = Batch::list((0..51).map(|_| Command::new("server.time", json!({}))).collect());
    assert_eq!(big.err().map(|e| e.code()), Some(Code::JssdkBatchTooLarge.into()));
    // (The wire-strategy codes JSSDK_INTERACTION_BATCH_* are provoked by b24-batch's own tests.)
    // JSSDK_CORE_METHOD_NOT_SUPPORT_IN_API_V3 from the v2 paging helpers on a v3 answer.
    let v3 = actions.v3().call("crm.item.list", &json!({"entityTypeId": 2})).await.expect("v3");
    assert_eq!(v3.total().err().map(|e| e.code()), Some(Code::JssdkCoreMethodNotSupportInApiV3.into()));
    let v2 = actions.v2().call("crm.deal.list", &json!({})).await.expect("v2");
    assert_eq!((v2.total().ok().flatten(), v2.has_more().ok()), (Some(100), Some(true)));
    let next = v2.fetch_next().await.expect("next").expect("a second page");
    assert_eq!(next.value().expect("value").as_array().map(Vec::len), Some(50));
    // JSSDK_CORE_B24_FETCH_LIST_METHOD_API_V2: a page fails mid-export; pages before it stay.
    portal.set_faults(FaultSettings {
        rate: 1.0,
        kinds: vec![FaultKind::Html500],
        methods: vec!["batch".into()],
        ..FaultSettings::default()
    });
    let mut pages = actions.v2().fetch_list::<Value>(ListQuery::new("crm.deal.list"));
    let e = pages.try_next().await.expect_err("the page request failed");
    assert_eq!(e.code(), Code::JssdkCoreB24FetchListMethodApiV2);
    assert_eq!(
        (e.root().code(), e.root().status()),
        (Code::JssdkResponseNotJson.into(), 500),
        "the HTML page under the wrappers"
    );
    // JSSDK_CORE_B24_FETCH_LIST_METHOD_API_V3
    portal.set_faults(FaultSettings {
        rate: 1.0,
        kinds: vec![FaultKind::Html500],
        methods: vec!["crm.item.list".into()],
        ..FaultSettings::default()
    });
    let mut pages = actions.v3().fetch_list::<Value>(ListQuery::new("crm.item.list").param("entityTypeId", 2));
    let e = pages.try_next().await.expect_err("v3 page failed");
    assert_eq!(e.code(), Code::JssdkCoreB24FetchListMethodApiV3);
}

#[tokio::test]
#[allow(deprecated)]
async fn deprecated_entry_points_delegate() {
    let (_portal, actions) = setup(60).await;
    let time: String = actions.call_method("server.time", &json!({})).await.expect("call").json().expect("time");
    assert!(time.contains('T'));
    let rows: Vec<Value> = actions.call_list_method(ListQuery::new("crm.deal.list")).await.expect("list");
    assert_eq!(rows.len(), 60);
    let pages: Vec<Vec<Value>> =
        actions.fetch_list_method(ListQuery::new("crm.deal.list")).try_collect().await.expect("pages");
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 60);
    let batch = Batch::list(vec![get(1)]).expect("batch");
    assert!(actions.call_batch(&batch).await.expect("batch").is_success());
    let r = actions.call_batch_by_chunk(Commands::List(vec![get(1), get(2)]), true).await.expect("chunks");
    assert!(r.is_success());
}
