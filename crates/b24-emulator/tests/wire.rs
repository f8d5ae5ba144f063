//! The emulator over real HTTP: routes, input parsing, envelopes, errors, methods, lists.

mod common;

use b24_emulator::{Emulator, Settings};
use common::Http;
use serde_json::{Value, json};

#[tokio::test]
async fn server_time_and_envelope() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let a = http.get(&format!("{}server.time.json", portal.webhook_url())).await;
    assert_eq!(a.status, 200);
    assert!(a.headers["content-type"].to_str().unwrap_or("").starts_with("application/json"));
    let v = a.json();
    assert!(v["result"].as_str().is_some_and(|s| s.contains('T')), "{v}");
    for field in ["start", "finish", "duration", "processing", "date_start", "date_finish"] {
        assert!(v["time"].get(field).is_some(), "time.{field} missing: {v}");
    }
    // PHP escapes '/' in strings: the date has none, but the raw body of user.current has ASCII only.
    let raw = http.get(&format!("{}user.current", portal.webhook_url())).await.text();
    assert!(raw.is_ascii());
}

#[tokio::test]
async fn method_names_are_case_insensitive_and_unknown_is_404_before_auth() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let ok = http.get(&format!("{}SERVER.Time", portal.webhook_url())).await;
    assert_eq!(ok.status, 200);
    let unknown = http.get(&format!("{}/rest/1/wrong-secret/no.such.method", portal.base_url())).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"], "ERROR_METHOD_NOT_FOUND");
    let wrong = http.get(&format!("{}/rest/1/wrong-secret/server.time", portal.base_url())).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"], "INVALID_CREDENTIALS");
    let no_auth = http.get(&format!("{}/rest/server.time", portal.base_url())).await;
    assert_eq!(no_auth.status, 401);
    assert_eq!(no_auth.json()["error"], "NO_AUTH_FOUND");
}

#[tokio::test]
async fn https_required_when_configured() {
    let settings = Settings { require_https: true, ..Settings::fast() };
    let portal = Emulator::start(settings).await.expect("start");
    let a = Http::new().get(&format!("{}server.time", portal.webhook_url())).await;
    assert_eq!((a.status, a.json()["error"].clone()), (401, json!("INVALID_REQUEST")));
    assert_eq!(a.json()["error_description"], "Https required.");
}

#[tokio::test]
async fn query_and_form_merge_with_php_brackets() {
    let portal = Emulator::start(Settings::fast().with_rows(300)).await.expect("start");
    let http = Http::new();
    let url = format!("{}crm.deal.list?filter%5B%3EID%5D=1000&start=-1", portal.webhook_url());
    // The form body wins over the query string.
    let a = http.form(&url, "filter%5B%3EID%5D=10&select[]=ID&select[]=TITLE&order[ID]=DESC").await;
    let v = a.json();
    let rows = v["result"].as_array().expect("bare array");
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0]["ID"], json!(portal.seeded_ids().last().unwrap_or(0).to_string()));
    assert_eq!(rows[0].as_object().map(|o| o.len()), Some(2), "select keeps ID and TITLE: {}", rows[0]);
    assert!(v.get("next").is_none());
    assert_eq!(v["total"], 0);
    // JSON is read only for application/json; malformed JSON becomes an empty body.
    let broken = http
        .send(
            "POST",
            &format!("{}crm.deal.list", portal.webhook_url()),
            Some("application/json"),
            b"{nope".to_vec(),
            &[],
        )
        .await
        .expect("req");
    assert_eq!(broken.json()["total"], 300);
}

#[tokio::test]
async fn legacy_deal_shapes_paging_and_errors() {
    let portal = Emulator::start(Settings::fast().with_rows(120)).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    let v = http.json(&format!("{base}crm.deal.list"), &json!({"start": 100})).await.json();
    assert_eq!(v["total"], 120);
    assert_eq!(v["result"].as_array().map(Vec::len), Some(20));
    assert!(v.get("next").is_none());
    let v = http.json(&format!("{base}crm.deal.list"), &json!({})).await.json();
    assert_eq!(v["next"], 50);
    let first = &v["result"][0];
    assert!(first["ID"].is_string() && first["OPPORTUNITY"].is_string(), "{first}");
    let add = http
        .json(&format!("{base}crm.deal.add"), &json!({"fields": {"TITLE": "Новая/сделка", "OPPORTUNITY": 5}}))
        .await;
    let id = add.json()["result"].as_u64().expect("id");
    let raw = http.json(&format!("{base}crm.deal.get"), &json!({"id": id})).await;
    assert!(raw.text().contains("\\u041d") && raw.text().contains("\\/"), "PHP escapes: {}", raw.text());
    assert_eq!(raw.json()["result"]["TITLE"], "Новая/сделка");
    assert_eq!(raw.json()["result"]["OPPORTUNITY"], "5.00");
    let missing = http.json(&format!("{base}crm.deal.get"), &json!({"id": 999_999})).await;
    assert_eq!((missing.status, missing.json()["error"].clone()), (400, json!("")));
    let bad = http.json(&format!("{base}crm.deal.update"), &json!({"fields": {}})).await;
    assert_eq!(bad.status, 400);
    assert!(http.json(&format!("{base}crm.deal.delete"), &json!({"id": id})).await.json()["result"] == json!(true));
    assert_eq!(portal.item_count(2), 120);
}

#[tokio::test]
async fn crm_item_shapes() {
    let portal = Emulator::start(Settings::fast().with_rows(60)).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    let v = http
        .json(
            &format!("{base}crm.item.list"),
            &json!({"entityTypeId": 2, "filter": {">id": 5}, "order": {"id": "ASC"}, "start": -1}),
        )
        .await
        .json();
    let items = v["result"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 50);
    assert!(items[0]["id"].is_u64() && items[0]["opportunity"].is_number(), "{}", items[0]);
    let no_type = http.json(&format!("{base}crm.item.list"), &json!({})).await;
    assert_eq!(no_type.status, 400);
    let missing = http.json(&format!("{base}crm.item.get"), &json!({"entityTypeId": 2, "id": 99_999})).await;
    assert_eq!((missing.status, missing.json()["error"].clone()), (400, json!("NOT_FOUND")));
    let added = http
        .json(&format!("{base}crm.item.add"), &json!({"entityTypeId": 1030, "fields": {"title": "x"}}))
        .await
        .json();
    assert_eq!(added["result"]["item"]["title"], "x");
    assert_eq!(portal.item_count(1030), 1);
}

#[tokio::test]
async fn tasks_sort_by_upper_id_and_return_lower_id() {
    let portal = Emulator::start(Settings::fast().with_rows(70)).await.expect("start");
    let v = Http::new()
        .json(
            &format!("{}tasks.task.list", portal.webhook_url()),
            &json!({"order": {"ID": "asc"}, "filter": {">ID": 0}, "select": ["ID", "TITLE"]}),
        )
        .await
        .json();
    let tasks = v["result"]["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 50);
    assert_eq!(tasks[0]["id"], 1);
    assert_eq!(v["total"], 70);
    assert_eq!(v["next"], 50);
}

#[tokio::test]
async fn scope_methods_method_get_app_info_profile() {
    let portal = Emulator::start(Settings { scopes: vec!["crm".into()], ..Settings::fast() }).await.expect("start");
    let http = Http::new();
    let base = portal.webhook_url();
    assert_eq!(http.get(&format!("{base}scope")).await.json()["result"], json!(["crm"]));
    let methods = http.get(&format!("{base}methods")).await.json();
    assert!(methods["result"].as_array().is_some_and(|m| m.contains(&json!("crm.deal.list"))));
    let m = http.json(&format!("{base}method.get"), &json!({"name": "tasks.task.list"})).await.json();
    assert_eq!(m["result"], json!({"isExisting": true, "isAvailable": false}));
    let denied = http.get(&format!("{base}tasks.task.list")).await;
    assert_eq!((denied.status, denied.json()["error"].clone()), (401, json!("insufficient_scope")));
    assert!(http.get(&format!("{base}app.info")).await.json()["result"]["CODE"].is_string());
    assert_eq!(http.get(&format!("{base}profile")).await.json()["result"]["ADMIN"], true);
}

#[tokio::test]
async fn v3_lists_tail_errors_and_openapi() {
    let portal = Emulator::start(Settings::fast().with_rows(120)).await.expect("start");
    let http = Http::new();
    let v3 = format!("{}/rest/api/1/fakewebhooksecret/", portal.base_url());
    let v = http
        .json(
            &format!("{v3}crm.item.list"),
            &json!({"entityTypeId": 2, "filter": [["id", ">", 3]], "pagination": {"page": 2, "limit": 10}}),
        )
        .await
        .json();
    let items = v["result"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 10);
    assert!(v.get("total").is_none() && v.get("next").is_none());
    assert!(v["time"]["start"].is_i64(), "v3 times are integers: {}", v["time"]);
    let tail = http
        .json(
            &format!("{v3}tasks.task.tail"),
            &json!({"cursor": {"field": "id", "value": 4, "order": "ASC", "limit": 3}}),
        )
        .await
        .json();
    let ids: Vec<Value> =
        tail["result"]["items"].as_array().map(|a| a.iter().map(|t| t["id"].clone()).collect()).unwrap_or_default();
    assert_eq!(ids, vec![json!(8), json!(9), json!(10)]);
    let form = http.form(&format!("{v3}crm.item.list"), "entityTypeId=2").await;
    assert_eq!(form.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION");
    let op = http.json(&format!("{v3}crm.item.list"), &json!({"entityTypeId": 2, "filter": [["id", "~", 1]]})).await;
    assert_eq!(op.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_UNKNOWNFILTEROPERATOREXCEPTION");
    let page =
        http.json(&format!("{v3}crm.item.list"), &json!({"entityTypeId": 2, "pagination": {"limit": 5000}})).await;
    assert_eq!(page.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_INVALIDPAGINATIONEXCEPTION");
    let not_v3 = http.json(&format!("{v3}crm.deal.list"), &json!({})).await;
    assert_eq!(not_v3.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION");
    let wrong = http.json(&format!("{}/rest/api/1/nope/crm.item.list", portal.base_url()), &json!({})).await;
    assert_eq!(
        (wrong.status, wrong.json()["error"]["code"].clone()),
        (401, json!("BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION"))
    );
    let doc = http.json(&format!("{v3}rest.documentation.openapi"), &json!({})).await.json();
    assert!(doc.get("result").is_none());
    assert!(doc["paths"].get("/crm.item.list").is_some());
}

#[tokio::test]
async fn v3_idempotency_key() {
    let portal = Emulator::start(Settings::fast().with_rows(0)).await.expect("start");
    let http = Http::new();
    let url = format!("{}/rest/api/1/fakewebhooksecret/crm.item.add", portal.base_url());
    let body = json!({"entityTypeId": 2, "fields": {"title": "once"}}).to_string().into_bytes();
    let key = [("idempotency-key", "k-123")];
    let first = http.send("POST", &url, Some("application/json"), body.clone(), &key).await.expect("first");
    let again = http.send("POST", &url, Some("application/json"), body, &key).await.expect("again");
    assert_eq!(first.body, again.body);
    assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.as_bytes()), Some(&b"true"[..]));
    assert_eq!(portal.item_count(2), 1);
    let other =
        http.send("POST", &url, Some("application/json"), b"{\"entityTypeId\":2}".to_vec(), &key).await.expect("other");
    assert_eq!(other.status, 422);
}

#[tokio::test]
async fn counters_over_http() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    http.get(&format!("{}server.time", portal.webhook_url())).await;
    let c = http.get(&format!("{}/_emulator/counters", portal.base_url())).await.json();
    assert_eq!(c["requests"], 1);
    assert_eq!(c["methods"]["server.time"], 1);
}
