//! `event.bind` / `event.unbind` / `event.get` against a stand-in for the portal's event
//! methods: a repeated bind is not an error, an offline binding says so, unbind counts.

mod common;

use b24_app::bind::{Binding, bind, bound, unbind};
use b24_transport::credentials::Webhook;
use b24_transport::{TransportBuilder, TransportConfig};
use common::offline_portal::OfflinePortal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_list_and_unbind() {
    let portal = OfflinePortal::start().await;
    let hook = Webhook::parse(&portal.webhook_url, false).expect("webhook");
    let transport = TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport");

    let online = Binding::online("ONCRMDEALADD", "https://app.example.invalid/event");
    assert!(bind(&transport, &online).await.expect("bind"), "a new binding");
    assert!(!bind(&transport, &online).await.expect("bind again"), "an existing binding is not an error");
    assert!(bind(&transport, &Binding::offline("ONCRMDEALUPDATE")).await.expect("bind offline"));

    let mut listed = bound(&transport).await.expect("event.get");
    listed.sort_by(|a, b| a.event.cmp(&b.event));
    let seen: Vec<(&str, &str, u64)> =
        listed.iter().map(|b| (b.event.as_str(), b.handler.as_str(), b.offline)).collect();
    assert_eq!(seen, [("ONCRMDEALADD", "https://app.example.invalid/event", 0), ("ONCRMDEALUPDATE", "", 1)]);

    assert_eq!(unbind(&transport, &online).await.expect("unbind"), 1);
    assert_eq!(unbind(&transport, &online).await.expect("unbind again"), 0);
    assert_eq!(bound(&transport).await.expect("event.get").len(), 1);
}
