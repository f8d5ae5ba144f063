//! The offline events consumer against the emulator's queue (`event.bind` with
//! `event_type=offline`, records made by data changes, `event.offline.get/clear/list`): a
//! handler that fails once loses nothing (the failed event and the ones after it stay queued
//! and come again), handled events are cleared, and a consumer restarted with its process id
//! gets back what its predecessor fetched and did not clear.

mod common;

use b24_app::bind::{Binding, bind};
use b24_app::{OfflineEvent, OfflineEvents};
use b24_errors::{Code, Error};
use b24_transport::{B24Request, Transport};
use common::portal::Portal;
use serde_json::json;

/// The deal an event is about (`data[FIELDS][ID]`, a number or a string).
fn deal_id(event: &OfflineEvent) -> u64 {
    let id = &event.data["FIELDS"]["ID"];
    id.as_u64().or_else(|| id.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)
}

/// `count` new deals, made by the portal's user (through the webhook); their ids.
async fn add_deals(portal: &Portal, count: usize) -> Vec<u64> {
    let mut deals = Vec::new();
    for n in 0..count {
        let id = portal.call("crm.deal.add", json!({"fields": {"TITLE": format!("Deal {n}")}})).await;
        deals.push(id.as_u64().expect("a deal id"));
    }
    deals
}

/// The records waiting in the queue of source `connector`, as the portal lists them.
async fn queued(client: &Transport, connector: Option<&str>) -> usize {
    let params = connector.map_or_else(|| json!({}), |c| json!({"auth_connector": c}));
    let list = client.call(B24Request::v2("event.offline.list", &params).expect("request")).await;
    list.expect("event.offline.list").value().expect("a list").as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_once_loses_no_event() {
    let portal = Portal::start(1).await;
    let client = portal.app_client();
    let offline = Binding { auth_connector: Some("fake-connector".into()), ..Binding::offline("ONCRMDEALADD") };
    bind(&client, &offline).await.expect("bind offline");
    let deals = add_deals(&portal, 7).await;
    // The queue is divided by source: the records are the connector's, so the consumer sees
    // them only when it sends `auth_connector`.
    assert_eq!((queued(&client, Some("fake-connector")).await, queued(&client, None).await), (7, 0));

    let mut consumer = OfflineEvents::new(client.clone()).limit(3).auth_connector("fake-connector");
    let mut handled = Vec::new();
    let mut failed_once = false;
    let first = consumer
        .drain(|event| {
            let deal = deal_id(&event);
            let fail = deal == deals[4] && !failed_once;
            failed_once |= fail;
            if !fail {
                handled.push(deal);
            }
            async move {
                if fail { Err(Error::sdk(Code::JssdkInternalError, "the handler's database is down")) } else { Ok(()) }
            }
        })
        .await;
    let e = first.expect_err("the failure surfaces");
    assert_eq!(e.code(), Code::JssdkAppHandlerFailed);
    assert_eq!(e.root().code(), Code::JssdkInternalError, "with the handler's own error as the source");
    assert_eq!(queued(&client, Some("fake-connector")).await, 3, "events 5, 6 and 7 stay queued");
    assert_eq!(handled, deals[..4], "handled in order up to the failure, the handled ones cleared");

    let second = consumer
        .drain(|event| {
            handled.push(deal_id(&event));
            async { Ok(()) }
        })
        .await
        .expect("the second drain completes");
    assert_eq!(second.handled, 3);
    assert_eq!(queued(&client, Some("fake-connector")).await, 0, "everything cleared");
    assert_eq!(handled, deals, "every event handled once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_resumes_with_its_process_id() {
    let portal = Portal::start(1).await;
    let client = portal.app_client();
    bind(&client, &Binding::offline("ONCRMDEALUPDATE")).await.expect("bind offline");
    let deals = add_deals(&portal, 4).await;
    for deal in &deals {
        portal.call("crm.deal.update", json!({"id": deal, "fields": {"COMMENTS": "changed"}})).await;
    }
    assert_eq!(queued(&client, None).await, 4, "one record per update (the adds are not bound)");

    let mut dying = OfflineEvents::new(client.clone());
    let fails = dying.drain(|_| async { Err(Error::sdk(Code::JssdkInternalError, "the process is stopping")) }).await;
    assert!(fails.is_err());
    let pid = dying.process_id().map(str::to_owned).expect("a process id after a fetch");
    drop(dying);

    let mut stranger = OfflineEvents::new(client.clone());
    let seen = stranger.drain(|_| async { Ok(()) }).await.expect("drain");
    assert_eq!(seen.handled, 0, "records fetched by another process id are not handed out again");
    assert_eq!(queued(&client, None).await, 4, "and not cleared by it");

    let mut resumed = OfflineEvents::new(client.clone()).resume(pid);
    let mut seen_deals = Vec::new();
    let done = resumed
        .drain(|event| {
            assert_eq!(event.event, "ONCRMDEALUPDATE");
            seen_deals.push(deal_id(&event));
            async { Ok(()) }
        })
        .await
        .expect("drain");
    assert_eq!((done.handled, seen_deals), (4, deals), "the resumed consumer gets them all, in order");
    assert_eq!(queued(&client, None).await, 0);
}
