//! The done-when scenario of issue 15 through the SDK's generic `Client::call`: an app links a
//! deal to a contact and a company, gives the deal's owner a task and a notification, and reads
//! everything back, unchanged against the emulator.

use b24_emulator::{Emulator, Settings};
use b24_sdk::prelude::*;
use serde_json::{Value, json};

#[tokio::test]
async fn an_app_runs_unchanged_against_the_emulator() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let client = Client::from_webhook_url(&portal.webhook_url()).expect("client");
    let contact: u64 = client
        .call("crm.contact.add", &json!({"fields": {"NAME": "Ada", "LAST_NAME": "Lovelace"}}))
        .await
        .expect("contact");
    let company: u64 =
        client.call("crm.company.add", &json!({"fields": {"TITLE": "Engines Ltd"}})).await.expect("company");
    let fields = json!({"TITLE": "Engine", "CONTACT_ID": contact, "COMPANY_ID": company, "ASSIGNED_BY_ID": 3});
    let deal: u64 = client.call("crm.deal.add", &json!({ "fields": fields })).await.expect("deal");

    let read: Value = client.call("crm.deal.get", &json!({"id": deal})).await.expect("deal back");
    assert_eq!(read["CONTACT_ID"], contact.to_string());
    assert_eq!(read["COMPANY_ID"], company.to_string());
    let owner: u64 = read["ASSIGNED_BY_ID"].as_str().and_then(|s| s.parse().ok()).expect("owner");
    assert_eq!(owner, 3);

    let task: Value = client
        .call("tasks.task.add", &json!({"fields": {"TITLE": "Call the client", "RESPONSIBLE_ID": owner}}))
        .await
        .expect("task");
    let task_id = task["task"]["id"].as_u64().expect("task id");
    let note: u64 = client
        .call("im.notify.system.add", &json!({"USER_ID": owner, "MESSAGE": "Deal needs a call"}))
        .await
        .expect("note");

    let task: Value = client.call("tasks.task.get", &json!({"taskId": task_id})).await.expect("task back");
    assert_eq!(task["task"]["responsibleId"], owner);
    let contact: Value = client.call("crm.contact.get", &json!({"id": contact})).await.expect("contact back");
    assert_eq!(contact["LAST_NAME"], "Lovelace");
    let company: Value = client.call("crm.company.get", &json!({"id": company})).await.expect("company back");
    assert_eq!(company["TITLE"], "Engines Ltd");
    let notes = portal.notifications();
    assert_eq!((notes.len(), notes[0].id, notes[0].to_user), (1, note, owner));
}
