//! Round trips of generated builders against the emulator, for the methods it models:
//! `crm.deal.*`, `crm.item.*`, `tasks.task.list` (v2 and v3), the basic methods (`server.time`,
//! `profile`, `app.info`, `user.current`, `scope`, `methods`, `method.get`), batches with
//! references, and the errors the docs list for a method.

#![allow(deprecated)] // crm.deal.* are deprecated in favour of crm.item.*: still served.

use b24_emulator::{Emulator, EmulatorHandle, Settings};
use b24_methods::prelude::*;
use b24_methods::{Actions, Filter, MethodCode, Ref};
use b24_transport::credentials::Webhook;
use b24_transport::{TransportBuilder, TransportConfig};
use futures::TryStreamExt;
use serde_json::{Value, json};

async fn portal(rows: u64) -> (EmulatorHandle, Actions) {
    let portal = Emulator::start(Settings::fast().with_rows(rows)).await.expect("emulator");
    let hook = Webhook::parse(&portal.webhook_url(), false).expect("hook");
    let transport = TransportBuilder::new(hook).config(TransportConfig::unlimited()).build().expect("transport");
    (portal, Actions::new(transport))
}

#[tokio::test]
async fn crm_deal_add_get_update_list_delete() {
    let (_portal, a) = portal(0).await;
    let fields = b24_methods::crm::deal::add::Fields::new().title("Typed deal").opportunity(1500.5).stage_id("NEW");
    let id = a.crm().deal().add().fields(fields).send().await.expect("add");
    assert!(id > 0);

    let deal = a.crm().deal().get(id).send().await.expect("get");
    // The legacy shape sends every value as a string: read back typed.
    assert_eq!(deal.id, Some(id));
    assert_eq!(deal.title.as_deref(), Some("Typed deal"));
    assert_eq!(deal.opportunity, Some(1500.5));
    assert_eq!(deal.stage_id.as_deref(), Some("NEW"));
    assert!(deal.date_create.is_some_and(|t| t.offset_seconds().is_some()), "{:?}", deal.date_create);

    let changed = b24_methods::crm::deal::update::Fields::new().title("Renamed");
    assert!(a.crm().deal().update(id).fields(changed).send().await.expect("update"));
    let rows = a.crm().deal().list().filter("=ID", id).select(["ID", "TITLE"]).all().await.expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].title.as_deref(), Some("Renamed"));
    assert_eq!(rows[0].opportunity, None, "not selected");

    assert!(a.crm().deal().delete(id).send().await.expect("delete"));
    let gone = a.crm().deal().get(id).send().await.expect_err("deleted");
    assert_eq!(gone.code(), "", "legacy CRM: the empty code");
}

#[tokio::test]
async fn crm_deal_export_streams_typed_rows() {
    let (portal, a) = portal(2_600).await;
    let pages: Vec<Vec<b24_methods::crm::deal::Deal>> =
        a.crm().deal().list().select(["ID", "TITLE", "OPPORTUNITY"]).fetch().try_collect().await.expect("export");
    let ids: Vec<i64> = pages.iter().flatten().filter_map(|d| d.id).collect();
    let want: Vec<i64> = portal.seeded_ids().map(|id| id as i64).collect();
    assert_eq!(ids, want, "every row once, in order");
    assert!(pages.iter().flatten().all(|d| d.opportunity.is_some()));
    // Your own row type through the same export.
    let mine: Vec<Value> = a.crm().deal().list().filter(">ID", want[2_500]).all_as().await.expect("as Value");
    assert_eq!(mine.len(), 99);
}

#[tokio::test]
async fn crm_item_round_trip() {
    let (_portal, a) = portal(10).await;
    let item = a.crm().item().add(2, json!({"title": "Item", "opportunity": 7})).send().await.expect("add");
    let id = item.id.expect("id");
    assert_eq!(item.entity_type_id, None, "the emulator leaves it out; the field stays optional");
    let got = a.crm().item().get(2, id).send().await.expect("get");
    assert_eq!(got.id, Some(id));
    // Fields the catalogue does not list: your own type.
    let raw: Value = a.crm().item().get(2, id).send_as().await.expect("as Value");
    assert_eq!(raw["title"], "Item");
    let updated = a.crm().item().update(2, id, json!({"title": "Item 2"})).send().await.expect("update");
    assert_eq!(updated.id, Some(id));
    let all = a.crm().item().list(2).all().await.expect("list");
    assert_eq!(all.len(), 11);
    a.crm().item().delete(2, id).send().await.expect("delete");

    let missing = a.crm().item().get(2, id).send().await.expect_err("deleted");
    assert_eq!(missing.code(), MethodCode::NotFound, "a code the docs list for crm.item.get");
    use b24_methods::Method;
    assert!(<b24_methods::crm::item::Get as Method>::ERRORS.contains(&MethodCode::NotFound));
    assert_eq!(MethodCode::of(&missing), Some(MethodCode::NotFound));
}

#[tokio::test]
async fn tasks_lists_on_v2_and_v3() {
    let (portal, a) = portal(130).await;
    let v2 = a.tasks().task().list().select(["ID", "TITLE"]).all().await.expect("v2 list");
    assert_eq!(v2.len(), 130);
    assert!(v2.iter().all(|t| t.id.is_some() && t.title.is_some()));
    let third = portal.seeded_ids().nth(100).expect("ids") as i64;
    let v3 = a.rest_v3().tasks().task().list().filter(Filter::new().ge("id", third)).all().await.expect("v3 list");
    assert_eq!(v3.len(), 30);
    assert!(v3.iter().all(|t| t.id.is_some_and(|id| id >= third)));
}

#[tokio::test]
async fn builders_make_batch_commands_with_references() {
    let (_portal, a) = portal(60).await;
    fn _portal_ids(p: &EmulatorHandle) -> Vec<i64> {
        p.seeded_ids().map(|id| id as i64).collect()
    }
    let first = a.crm().deal().list().select(["ID"]).order("ID", "DESC").into_command();
    let then = a.crm().deal().get(Ref::result("newest").index(0).field("ID")).into_command();
    let plain = b24_methods::Command::new("server.time", json!({})); // plain commands mix in
    let commands =
        b24_batch::Batch::named(vec![("newest".into(), first), ("deal".into(), then), ("time".into(), plain)])
            .expect("batch");
    let result = a.v2().batch(&commands).await.expect("batch");
    let newest = b24_methods::crm::deal::List::output_in(&result, "newest").expect("typed rows");
    let deal = b24_methods::crm::deal::Get::output_in(&result, "deal").expect("typed deal");
    let missing = b24_methods::crm::deal::Get::output_in(&result, "nobody").expect_err("no such command");
    assert_eq!(missing.code(), b24_errors::Code::JssdkInvalidParams);
    assert_eq!(deal.id, newest[0].id, "the reference reached the first row of the first command");
    assert_eq!(deal.id, Some(*_portal_ids(&_portal).last().expect("rows")));
}

#[tokio::test]
async fn basic_methods() {
    let (_portal, a) = portal(1).await;
    let time = a.server().time().send().await.expect("server.time");
    assert!(b24_methods::DateTime::parse(&time).is_ok_and(|t| t.offset_seconds().is_some()), "{time}");
    let profile = a.profile().send().await.expect("profile");
    assert!(profile.id.is_some() && profile.admin.is_some(), "{profile:?}");
    let me = a.user().current().send().await.expect("user.current");
    assert!(me["ID"].is_string() || me["ID"].is_number(), "{me}");
    let info = a.app().info().send().await.expect("app.info");
    assert!(info.is_object());
    // The docs type these answers as PHP arrays (a list or a map): JSON values.
    let scopes = a.scope().send().await.expect("scope");
    assert!(scopes.as_array().is_some_and(|s| s.iter().any(|s| s == "crm")), "{scopes}");
    let methods = a.methods().send().await.expect("methods");
    assert!(methods.as_array().is_some_and(|m| m.iter().any(|m| m == "crm.deal.list")));
    let known = a.method().get().name("crm.deal.list").send().await.expect("method.get");
    assert_eq!(known["isExisting"], true);
}
