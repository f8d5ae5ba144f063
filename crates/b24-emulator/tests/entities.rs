//! The catalogue-driven entity store over real HTTP, with plain JSON and form requests (the
//! emulator shares no code with the SDK): documented families, fields stored and returned,
//! answer shapes, required parameters, seeds, notifications, the methods outside the families.

mod common;

use b24_emulator::{Emulator, SeedSizes, Settings};
use common::Http;
use serde_json::{Value, json};

/// Done-when scenario of issue 15: an app creates a contact, a company and a deal linked to
/// both, adds a task for the deal's owner and notifies the owner; everything reads back.
#[tokio::test]
async fn an_app_links_a_deal_to_a_contact_and_a_company_then_tasks_and_notifies_the_owner() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    let call = |method: &'static str, body: Value| {
        let url = format!("{base}{method}");
        let http = &http;
        async move {
            let a = http.json(&url, &body).await;
            assert_eq!(a.status, 200, "{method}: {}", a.text());
            a.json()["result"].clone()
        }
    };
    let contact = call(
        "crm.contact.add",
        json!({"fields": {"NAME": "Ada", "LAST_NAME": "Lovelace", "PHONE": [{"VALUE": "+100", "VALUE_TYPE": "WORK"}]}}),
    )
    .await;
    let contact = contact.as_u64().expect("contact id");
    let company = call("crm.company.add", json!({"fields": {"TITLE": "Engines Ltd", "ASSIGNED_BY_ID": 1}})).await;
    let company = company.as_u64().expect("company id");
    // A form body with PHP brackets, as most clients send it.
    let deal = http
        .form(
            &format!("{base}crm.deal.add"),
            &format!("fields[TITLE]=Analytical+engine&fields[CONTACT_ID]={contact}&fields[COMPANY_ID]={company}&fields[ASSIGNED_BY_ID]=3&fields[NOT_A_FIELD]=x"),
        )
        .await;
    assert_eq!(deal.status, 200, "{}", deal.text());
    let deal = deal.json()["result"].as_u64().expect("deal id");

    let read = call("crm.deal.get", json!({"id": deal})).await;
    assert_eq!(read["TITLE"], "Analytical engine");
    assert_eq!(read["CONTACT_ID"], contact.to_string(), "relations survive the round trip: {read}");
    assert_eq!(read["COMPANY_ID"], company.to_string());
    assert!(read.get("NOT_A_FIELD").is_none(), "unknown fields are dropped, as the portal does");
    let owner = read["ASSIGNED_BY_ID"].as_str().expect("owner").parse::<u64>().expect("number");

    let task = call(
        "tasks.task.add",
        json!({"fields": {"TITLE": "Call the client", "RESPONSIBLE_ID": owner, "UF_CRM_TASK": [format!("D_{deal}")]}}),
    )
    .await;
    let task_id = task["task"]["id"].as_u64().expect("task id in result.task.id");
    let task = call("tasks.task.get", json!({"taskId": task_id})).await;
    assert_eq!(task["task"]["title"], "Call the client");
    assert_eq!(task["task"]["responsibleId"], owner);

    let note =
        call("im.notify.system.add", json!({"USER_ID": owner, "MESSAGE": format!("Deal {deal} needs a call")})).await;
    assert!(note.as_u64().is_some(), "the notification id: {note}");
    let notes = portal.notifications();
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].to_user, notes[0].message.as_str()), (owner, format!("Deal {deal} needs a call").as_str()));
    let over_http = http.get(&format!("{}/_emulator/notifications", portal.base_url())).await.json();
    assert_eq!(over_http[0]["to_user"], owner);

    let contact = call("crm.contact.get", json!({"id": contact})).await;
    assert_eq!(contact["NAME"], "Ada");
    assert_eq!(contact["PHONE"][0]["VALUE"], "+100");
    let company = call("crm.company.get", json!({"id": company})).await;
    assert_eq!(company["TITLE"], "Engines Ltd");
    let linked =
        call("crm.deal.list", json!({"filter": {"CONTACT_ID": contact["ID"]}, "select": ["ID", "CONTACT_ID"]})).await;
    assert_eq!(linked, json!([{"ID": deal.to_string(), "CONTACT_ID": contact["ID"]}]));
    let item = call("crm.item.get", json!({"entityTypeId": 2, "id": deal})).await;
    assert_eq!(item["item"]["contactId"], contact["ID"].as_str().and_then(|s| s.parse::<u64>().ok()).expect("id"));
}

#[tokio::test]
async fn families_answer_in_their_documented_shapes() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    // catalog.product: camelCase, wrapped in `element` on add, `product` on get, `products` in lists.
    let added = http
        .json(&format!("{base}catalog.product.add"), &json!({"fields": {"name": "Gear", "iblockId": 14}}))
        .await
        .json();
    let id = added["result"]["element"]["id"].as_u64().unwrap_or_else(|| panic!("element.id: {added}"));
    let got = http.json(&format!("{base}catalog.product.get"), &json!({"id": id})).await.json();
    assert_eq!(got["result"]["product"]["name"], "Gear");
    assert_eq!(got["result"]["product"]["iblockId"], 14, "native numbers in camelCase families");
    let list = http.json(&format!("{base}catalog.product.list"), &json!({"select": ["id", "name"]})).await.json();
    assert_eq!(list["result"]["products"][0]["name"], "Gear");
    assert_eq!(list["total"], 1);
    // crm.category: one table per entityTypeId (an owner parameter).
    let cat =
        http.json(&format!("{base}crm.category.add"), &json!({"entityTypeId": 2, "fields": {"name": "B2B"}})).await;
    assert_eq!(cat.status, 200, "{}", cat.text());
    let other = http.json(&format!("{base}crm.category.list"), &json!({"entityTypeId": 3})).await.json();
    assert_eq!(other["result"], json!([]), "another entity type's categories: {other}");
    // Deletes: tasks answer {"task": true}, legacy ones true.
    let task = http.json(&format!("{base}tasks.task.add"), &json!({"fields": {"TITLE": "x"}})).await.json();
    let task_id = task["result"]["task"]["id"].clone();
    let deleted = http.json(&format!("{base}tasks.task.delete"), &json!({"taskId": task_id})).await.json();
    assert_eq!(deleted["result"], json!({"task": true}));
    let missing = http.json(&format!("{base}crm.contact.get"), &json!({"id": 999_999})).await;
    assert_eq!((missing.status, missing.json()["error"].clone()), (400, json!("")));
}

#[tokio::test]
async fn fields_come_from_the_catalogue() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let fields = http.get(&format!("{}crm.deal.fields", portal.webhook_url())).await.json();
    let contact = &fields["result"]["CONTACT_ID"];
    assert_eq!(contact["type"], "crm_contact", "{contact}");
    assert_eq!(fields["result"]["ID"]["isReadOnly"], true);
    let item_fields =
        http.json(&format!("{}crm.item.fields", portal.webhook_url()), &json!({"entityTypeId": 3})).await.json();
    assert!(item_fields["result"]["fields"]["lastName"].is_object(), "{}", item_fields["result"]);
    let department = http.get(&format!("{}department.fields", portal.webhook_url())).await.json();
    assert!(department["result"]["NAME"].is_object());
}

#[tokio::test]
async fn required_parameters_answer_the_documented_codes() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    let no_user = http.json(&format!("{base}im.notify.system.add"), &json!({"MESSAGE": "hi"})).await;
    assert_eq!((no_user.status, no_user.json()["error"].clone()), (400, json!("USER_ID_EMPTY")));
    let no_fields = http.json(&format!("{base}tasks.task.add"), &json!({})).await.json();
    assert_eq!(no_fields["error"], "100");
    assert_eq!(no_fields["error_description"], "Could not find value for parameter {fields}");
    let no_id = http.json(&format!("{base}crm.contact.update"), &json!({"fields": {}})).await.json();
    assert_eq!(
        (no_id["error"].clone(), no_id["error_description"].clone()),
        (json!(""), json!("ID is not defined or invalid."))
    );
    let no_email = http.json(&format!("{base}user.add"), &json!({"NAME": "x"})).await.json();
    assert_eq!(no_email["error"], "ERROR_ARGUMENT");
    assert_eq!(no_email["argument"], "EMAIL");
}

#[tokio::test]
async fn documented_methods_outside_the_families_answer_their_result_type() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    let folder = http.json(&format!("{base}disk.folder.get"), &json!({"id": 1})).await;
    assert_eq!(folder.status, 200, "{}", folder.text());
    assert!(folder.json()["result"].is_object());
    let missing = http.json(&format!("{base}disk.folder.get"), &json!({})).await;
    assert_eq!(missing.status, 400, "required id: {}", missing.text());
    let methods = http.get(&format!("{base}methods?full=true")).await.json();
    let names = methods["result"].as_array().expect("names");
    assert!(names.len() > 1500, "every documented method: {}", names.len());
    let get = http.json(&format!("{base}method.get"), &json!({"name": "landing.site.add"})).await.json();
    assert_eq!(get["result"]["isExisting"], true);
    let scopes = http.get(&format!("{base}scope?full=true")).await.json();
    assert!(scopes["result"].as_array().is_some_and(|s| s.contains(&json!("catalog"))));
}

#[tokio::test]
async fn seeds_are_deterministic_and_sized() {
    let seeds = SeedSizes { contacts: 7, companies: 3, leads: 0, users: 4 };
    let a = Emulator::start(Settings { seeds, ..Settings::fast() }).await.expect("start");
    let b = Emulator::start(Settings { seeds, ..Settings::fast() }).await.expect("start");
    let http = Http::new();
    let list = |portal: &b24_emulator::EmulatorHandle, method: &str| format!("{}{method}", portal.webhook_url());
    let first = http.get(&list(&a, "crm.contact.list")).await.json();
    assert_eq!(first["total"], 7);
    let again = http.get(&list(&b, "crm.contact.list")).await.json();
    assert_eq!(first["result"], again["result"], "the same seed gives the same rows");
    let companies: Vec<String> = http.get(&list(&a, "crm.company.list")).await.json()["result"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|c| c["ID"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(companies.len(), 3);
    for contact in first["result"].as_array().expect("rows") {
        let company = contact["COMPANY_ID"].as_str().expect("company").to_owned();
        assert!(companies.contains(&company), "contacts point at seeded companies: {company}");
    }
    assert_eq!(http.get(&list(&a, "crm.lead.list")).await.json()["total"], 0);
    let users = http.get(&list(&a, "user.get")).await.json();
    assert_eq!(users["total"], 4);
    let me = http.get(&list(&a, "user.current")).await.json();
    assert_eq!(me["result"]["ID"], "1");
    let by_id = http.get(&format!("{}?ID=2", list(&a, "user.get"))).await.json();
    assert_eq!(by_id["result"].as_array().map(Vec::len), Some(1));
}
