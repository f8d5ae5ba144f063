//! `event.bind` / `event.unbind` / `event.get` against the emulator's event methods: a repeated
//! bind is not an error, an offline binding says so, unbind counts, and a refusal that is not
//! "already bound" is an error.

mod common;

use b24_app::bind::{Binding, bind, bound, unbind};
use b24_errors::Code;
use common::portal::Portal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_list_and_unbind() {
    let portal = Portal::start(1).await;
    let transport = portal.app_client();

    let online = Binding::online("ONCRMDEALADD", "https://app.example.invalid/event");
    assert!(bind(&transport, &online).await.expect("bind"), "a new binding");
    assert!(!bind(&transport, &online).await.expect("bind again"), "an existing binding is not an error");
    let offline = Binding::offline("ONCRMDEALUPDATE");
    assert!(bind(&transport, &offline).await.expect("bind offline"));
    assert!(!bind(&transport, &offline).await.expect("bind offline again"));

    let mut listed = bound(&transport).await.expect("event.get");
    listed.sort_by(|a, b| a.event.cmp(&b.event));
    let seen: Vec<(&str, &str, u64)> =
        listed.iter().map(|b| (b.event.as_str(), b.handler.as_str(), b.offline)).collect();
    assert_eq!(seen, [("ONCRMDEALADD", "https://app.example.invalid/event", 0), ("ONCRMDEALUPDATE", "", 1)]);

    assert_eq!(unbind(&transport, &online).await.expect("unbind"), 1);
    assert_eq!(unbind(&transport, &online).await.expect("unbind again"), 0);
    assert_eq!(bound(&transport).await.expect("event.get").len(), 1);
    assert_eq!(unbind(&transport, &offline).await.expect("unbind offline"), 1);
    assert!(bound(&transport).await.expect("event.get").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_refusals_are_errors() {
    let portal = Portal::start(1).await;
    let online = Binding::online("ONCRMDEALADD", "https://app.example.invalid/event");

    // The portal's own users (a webhook) cannot bind: only the app's token can.
    let e = bind(&portal.admin, &online).await.expect_err("a webhook cannot bind");
    assert_eq!(e.code(), Code::WrongAuthType, "{e}");
    assert_eq!(e.status(), 403);
    let e = bound(&portal.admin).await.expect_err("nor list");
    assert_eq!(e.code(), Code::WrongAuthType, "{e}");

    // An online binding needs a handler URL.
    let e = bind(&portal.app_client(), &Binding::online("ONCRMDEALADD", "")).await.expect_err("no handler");
    assert_eq!(e.status(), 400, "{e}");
    assert!(bound(&portal.app_client()).await.expect("event.get").is_empty(), "nothing bound by the refusals");
}
