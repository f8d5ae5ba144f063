//! `batch` over real HTTP: v2 shapes, halt, references, limits; v3 all-or-nothing.

mod common;

use b24_emulator::{Emulator, Settings};
use common::Http;
use serde_json::json;

#[tokio::test]
async fn v2_array_cmd_shapes_and_per_command_errors() {
    let portal = Emulator::start(Settings::fast().with_rows(10)).await.expect("start");
    let http = Http::new();
    let v = http
        .json(
            &format!("{}batch", portal.webhook_url()),
            &json!({"cmd": ["server.time", "crm.deal.get?id=999", "crm.deal.list?start=0"]}),
        )
        .await
        .json();
    let r = &v["result"];
    assert!(r["result"].is_object(), "keys 0 and 2 only: not a list: {r}");
    assert!(r["result"]["0"].is_string());
    assert_eq!(r["result_error"]["1"]["error"], "");
    assert_eq!(r["result_total"], json!({"2": 10}));
    assert_eq!(r["result_next"], json!([]), "an empty map is []");
    assert!(r["result_time"]["0"]["start"].is_number());
    assert!(r["result_time"].get("1").is_none(), "errors carry no result_time");
    let all_ok = http
        .json(&format!("{}batch", portal.webhook_url()), &json!({"cmd": ["server.time", "server.time"]}))
        .await
        .json();
    assert!(all_ok["result"]["result"].is_array(), "keys 0..n-1 give a list");
    assert_eq!(all_ok["result"]["result_error"], json!([]));
}

#[tokio::test]
async fn v2_halt_stops_at_the_first_failure() {
    let portal = Emulator::start(Settings::fast().with_rows(10)).await.expect("start");
    let http = Http::new();
    let cmd = json!({"a": "server.time", "b": "crm.deal.get?id=0", "c": "server.time"});
    let halted = http.json(&format!("{}batch", portal.webhook_url()), &json!({"halt": 1, "cmd": cmd})).await.json();
    assert!(halted["result"]["result"].get("c").is_none());
    assert!(halted["result"]["result_error"].get("b").is_some());
    let go_on = http.json(&format!("{}batch", portal.webhook_url()), &json!({"halt": 0, "cmd": cmd})).await.json();
    assert!(go_on["result"]["result"].get("c").is_some());
}

#[tokio::test]
async fn v2_references_chain_pages_and_form_encoding() {
    let portal = Emulator::start(Settings::fast().with_rows(120)).await.expect("start");
    let http = Http::new();
    let cmd = json!({
        "p0": "crm.deal.list?order[ID]=ASC&filter[>ID]=0&start=-1&select[]=ID",
        "p1": "crm.deal.list?order[ID]=ASC&filter[>ID]=$result[p0][49][ID]&start=-1&select[]=ID",
        "p2": "crm.deal.list?order[ID]=ASC&filter[>ID]=$result[p1][49][ID]&start=-1&select[]=ID",
        "p3": "crm.deal.list?order[ID]=ASC&filter[>ID]=$result[p2][49][ID]&start=-1&select[]=ID",
    });
    let v = http.json(&format!("{}batch", portal.webhook_url()), &json!({"cmd": cmd})).await.json();
    let r = &v["result"]["result"];
    let len = |k: &str| r[k].as_array().map_or(0, Vec::len);
    assert_eq!((len("p0"), len("p1"), len("p2")), (50, 50, 20));
    let expected: Vec<String> = portal.seeded_ids().map(|i| i.to_string()).collect();
    let got: Vec<String> = ["p0", "p1", "p2"]
        .iter()
        .flat_map(|k| r[*k].as_array().cloned().unwrap_or_default())
        .map(|row| row["ID"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(got, expected);
    // The broken chain: `$result[p2][49][ID]` resolves to the whole page; PHP intval gives 1.
    assert_eq!(r["p3"][0]["ID"], "2", "rows from the start again: {}", r["p3"]);
    // The same batch as a form body.
    let form = "halt=0&cmd[a]=crm.deal.list%3Fstart%3D-1%26filter%5B%3EID%5D%3D5&cmd[b]=crm.deal.get%3Fid%3D%24result%5Ba%5D%5B0%5D%5BID%5D";
    let v = http.form(&format!("{}batch", portal.webhook_url()), form).await.json();
    assert_eq!(v["result"]["result"]["b"]["ID"], "8", "{v}");
}

#[tokio::test]
async fn v2_limits_nested_batch_and_references_to_next_and_total() {
    let portal = Emulator::start(Settings::fast().with_rows(120)).await.expect("start");
    let http = Http::new();
    let cmd: Vec<String> = (0..52).map(|_| "server.time".to_owned()).collect();
    let v = http.json(&format!("{}batch", portal.webhook_url()), &json!({"cmd": cmd})).await.json();
    assert_eq!(v["result"]["result"].as_array().map(Vec::len), Some(50), "keys 0..49: a list");
    assert_eq!(v["result"]["result_error"]["50"]["error"], "ERROR_BATCH_LENGTH_EXCEEDED");
    assert_eq!(v["result"]["result_error"]["51"]["error"], "ERROR_BATCH_LENGTH_EXCEEDED");
    let nested = http
        .json(&format!("{}batch", portal.webhook_url()), &json!({"cmd": {"x": "batch?cmd[0]=server.time"}}))
        .await
        .json();
    assert_eq!(nested["result"]["result_error"]["x"]["error"], "ERROR_BATCH_METHOD_NOT_ALLOWED");
    let refs = http
        .json(&format!("{}batch", portal.webhook_url()), &json!({"cmd": {"a": "crm.deal.list", "b": "crm.deal.list?start=$next[a]", "c": "crm.deal.list?start=$total[a]"}}))
        .await
        .json();
    assert_eq!(refs["result"]["result_next"]["b"], 100);
    // start=120 is rounded down to the page at 100: the last 20 rows.
    assert_eq!(refs["result"]["result"]["c"].as_array().map(Vec::len), Some(20));
}

#[tokio::test]
async fn v3_batch_in_order_with_refs_and_all_or_nothing() {
    let portal = Emulator::start(Settings::fast().with_rows(10)).await.expect("start");
    let http = Http::new();
    let url = format!("{}/rest/api/1/fakewebhooksecret/batch", portal.base_url());
    let ok = http
        .json(
            &url,
            &json!([
                {"method": "crm.item.add", "query": {"entityTypeId": 2, "fields": {"title": "v3"}}, "as": "added"},
                {"method": "crm.item.get", "query": {"entityTypeId": 2, "id": {"$ref": "added.item.id"}}},
            ]),
        )
        .await
        .json();
    assert_eq!(ok["result"][1]["item"]["title"], "v3", "{ok}");
    let failed = http
        .json(
            &url,
            &json!([
                {"method": "crm.item.list", "query": {"entityTypeId": 2}},
                {"method": "crm.item.get", "query": {"entityTypeId": 2, "id": 99_999}},
            ]),
        )
        .await;
    assert_eq!(failed.status, 400);
    assert_eq!(failed.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION");
    let no_query = http.json(&url, &json!([{"method": "crm.item.list"}])).await;
    assert_eq!(no_query.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION");
}
