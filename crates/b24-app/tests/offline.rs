//! The offline events consumer: a handler that fails once loses nothing (the failed event and
//! the ones after it stay queued and come again), handled events are cleared, and a consumer
//! restarted with its process id gets back what its predecessor fetched and did not clear.

mod common;

use std::collections::BTreeMap;

use b24_app::OfflineEvents;
use b24_errors::{Code, Error};
use b24_transport::credentials::Webhook;
use b24_transport::{Transport, TransportBuilder, TransportConfig};
use common::offline_portal::OfflinePortal;

fn transport(portal: &OfflinePortal) -> Transport {
    let hook = Webhook::parse(&portal.webhook_url, false).expect("webhook");
    TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport")
}

fn deal_id(event: &b24_app::OfflineEvent) -> u64 {
    event.data["FIELDS"]["ID"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_once_loses_no_event() {
    let portal = OfflinePortal::start().await;
    for deal in 1..=7 {
        portal.push("ONCRMDEALADD", deal);
    }
    let mut consumer = OfflineEvents::new(transport(&portal)).limit(3).auth_connector("fake-connector");
    let mut handled = BTreeMap::<u64, u32>::new();
    let mut failed_once = false;
    let first = consumer
        .drain(|event| {
            let deal = deal_id(&event);
            let fail = deal == 5 && !failed_once;
            failed_once |= fail;
            if !fail {
                *handled.entry(deal).or_default() += 1;
            }
            async move {
                if fail { Err(Error::sdk(Code::JssdkInternalError, "the handler's database is down")) } else { Ok(()) }
            }
        })
        .await;
    let e = first.expect_err("the failure surfaces");
    assert_eq!(e.code(), Code::JssdkAppHandlerFailed);
    assert_eq!(e.root().code(), Code::JssdkInternalError, "with the handler's own error as the source");
    assert_eq!(portal.queued(), 3, "events 5, 6 and 7 stay queued");
    assert_eq!(handled.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);

    let second = consumer
        .drain(|event| {
            *handled.entry(deal_id(&event)).or_default() += 1;
            async { Ok(()) }
        })
        .await
        .expect("the second drain completes");
    assert_eq!(second.handled, 3);
    assert_eq!(portal.queued(), 0, "everything cleared");
    assert_eq!(handled, (1..=7).map(|d| (d, 1)).collect::<BTreeMap<_, _>>(), "every event handled once, in order");
    let (_, _, connectors) = portal.calls();
    assert!(connectors.iter().all(|c| c == "fake-connector") && !connectors.is_empty(), "auth_connector sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_resumes_with_its_process_id() {
    let portal = OfflinePortal::start().await;
    for deal in 1..=4 {
        portal.push("ONCRMDEALUPDATE", deal);
    }
    let mut dying = OfflineEvents::new(transport(&portal));
    let fails = dying.drain(|_| async { Err(Error::sdk(Code::JssdkInternalError, "the process is stopping")) }).await;
    assert!(fails.is_err());
    let pid = dying.process_id().map(str::to_owned).expect("a process id after a fetch");
    drop(dying);

    let mut stranger = OfflineEvents::new(transport(&portal));
    let seen = stranger.drain(|_| async { Ok(()) }).await.expect("drain");
    assert_eq!(seen.handled, 0, "records fetched by another process id are not handed out again");

    let mut resumed = OfflineEvents::new(transport(&portal)).resume(pid);
    let mut deals = Vec::new();
    let done = resumed
        .drain(|event| {
            deals.push(deal_id(&event));
            async { Ok(()) }
        })
        .await
        .expect("drain");
    assert_eq!((done.handled, deals), (4, vec![1, 2, 3, 4]), "the resumed consumer gets them all, in order");
    assert_eq!(portal.queued(), 0);
}
