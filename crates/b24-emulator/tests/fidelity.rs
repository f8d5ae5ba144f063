//! Wire details that an outside comparison against the spec found (issue 15): each test pins one.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use b24_emulator::{BatchCharging, BucketLimits, CostModel, Emulator, OperatingLimits, Settings};
use common::Http;
use serde_json::{Value, json};

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn v3_url(portal: &b24_emulator::EmulatorHandle) -> String {
    format!("{}/rest/api/1/fakewebhooksecret/", portal.base_url())
}

/// 1. A v3 batch sent as an object keyed "0", "1", ... (what the JS SDK 2.2 sends once it
/// spreads its command array into the params, `auth` included) is the same batch as the array.
#[tokio::test]
async fn v3_batch_as_an_object_keyed_by_index() {
    let portal = Emulator::start(Settings::fast().with_rows(20)).await.expect("start");
    let http = Http::new();
    let commands = [
        json!({"method": "crm.item.get", "query": {"entityTypeId": 2, "id": 2}, "as": "first"}),
        json!({"method": "crm.item.get", "query": {"entityTypeId": 2, "id": {"$ref": "first.item.id"}}}),
    ];
    let as_array = http.json(&format!("{}batch", v3_url(&portal)), &json!(commands)).await;
    assert_eq!(as_array.status, 200, "{}", as_array.text());
    // Keys out of order on purpose: the index decides the order, not the position.
    let as_object = http.json(&format!("{}batch", v3_url(&portal)), &json!({"1": commands[1], "0": commands[0]})).await;
    assert_eq!(as_object.status, 200, "{}", as_object.text());
    assert_eq!(as_object.json()["result"], as_array.json()["result"]);
    assert_eq!(as_object.json()["result"][1]["item"]["id"], 2);
    // With an OAuth token the JS SDK adds `auth` next to the commands.
    let pair = portal.issue_tokens();
    let oauth = http
        .json(&format!("{}/rest/api/batch", portal.base_url()), &json!({"0": commands[0], "auth": pair.access_token}))
        .await;
    assert_eq!(oauth.status, 200, "{}", oauth.text());
    assert_eq!(oauth.json()["result"].as_array().map(Vec::len), Some(1));
    let nothing = http.json(&format!("{}batch", v3_url(&portal)), &json!({"cmd": 1})).await;
    assert_eq!(nothing.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION");
}

/// 2. Under a time scale the model runs fast, but every reported time is wall-clock seconds.
#[tokio::test]
async fn under_a_time_scale_reported_times_are_real_seconds() {
    let scale = 0.01;
    let settings = Settings {
        time_scale: scale,
        cost: CostModel { list_base: 1.0, ..CostModel::CLOUD },
        operating: Some(OperatingLimits::default()),
        ..Settings::fast().with_rows(100)
    };
    let portal = Emulator::start(settings).await.expect("start");
    let http = Http::new();
    // Let the virtual clock run ahead: 0.3 s real is 30 s virtual.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = http.get(&format!("{}crm.deal.list?start=-1", portal.webhook_url())).await.json();
    let time = &v["time"];
    let now = unix_now();
    let start = time["start"].as_f64().expect("start");
    assert!((start - now).abs() < 5.0, "time.start {start} is the wall clock {now}");
    // 1 s + 50 ms of virtual handler time is 10.5 ms real.
    let processing = time["processing"].as_f64().expect("processing");
    assert!((processing - 1.05 * scale).abs() < 1e-9, "processing in real seconds: {processing}");
    let operating = time["operating"].as_f64().expect("operating");
    assert!((operating - 1.05 * scale).abs() < 1e-9, "operating in real seconds: {operating}");
    let reset = time["operating_reset_at"].as_f64().expect("reset");
    assert!(reset > now && reset - now <= 600.0 * scale + 0.5, "reset in the real window: {}", reset - now);
    let server_time = http.get(&format!("{}server.time", portal.webhook_url())).await.json();
    let expected = &b24_emulator_iso(unix_now())[..16];
    assert!(
        server_time["result"].as_str().is_some_and(|t| t.starts_with(expected)),
        "server.time {} is the wall clock ({expected})",
        server_time["result"]
    );
    assert!((portal.now() - unix_now()).abs() < 5.0, "the handle reports the wall clock too");
    let s = portal.settings();
    let pair = portal.issue_tokens();
    let form = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        s.client_id, s.client_secret, pair.refresh_token
    );
    let grant = http.form(&portal.oauth_token_url(), &form).await.json();
    assert_eq!(grant["expires_in"], 36, "3600 virtual seconds are 36 real ones");
    let expires = grant["expires"].as_f64().expect("expires");
    assert!((expires - unix_now() - 36.0).abs() < 5.0, "expires is wall clock + 36 s: {expires}");
}

/// `2023-11-14T22:13` for a unix time (the minute, UTC), computed independently of the emulator.
fn b24_emulator_iso(unix: f64) -> String {
    let secs = unix as i64;
    let days = secs.div_euclid(86_400);
    let (mut y, mut d) = (1970i64, days);
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    while d >= if leap(y) { 366 } else { 365 } {
        d -= if leap(y) { 366 } else { 365 };
        y += 1;
    }
    let months = [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}-{:02}-{:02}T{:02}:{:02}", m + 1, d + 1, rem / 3600, (rem % 3600) / 60)
}

/// 3. In the cloud profile a batch sub-call is charged to its own method: a method blocked by
/// the operating limit answers `OPERATION_TIME_LIMIT` inside a batch too.
#[tokio::test]
async fn cloud_charges_batch_sub_calls_to_their_own_method() {
    assert_eq!(Settings::cloud().operating.map(|o| o.batch_charging), Some(BatchCharging::PerCommand));
    let settings = Settings {
        time_scale: 0.01,
        bucket: None,
        cost: CostModel { list_base: 0.6, ..CostModel::CLOUD },
        operating: Some(OperatingLimits { limit_secs: 1.0, ..Settings::cloud().operating.expect("cloud limit") }),
        ..Settings::cloud().with_rows(100)
    };
    let portal = Emulator::start(settings).await.expect("start");
    let http = Http::new();
    let list = format!("{}crm.deal.list?start=-1", portal.webhook_url());
    for _ in 0..2 {
        assert_eq!(http.get(&list).await.status, 200);
    }
    assert_eq!(http.get(&list).await.status, 429, "1.3 s of a 1 s budget spent");
    let batch = http
        .json(&format!("{}batch", portal.webhook_url()), &json!({"cmd": ["server.time", "crm.deal.list?start=-1"]}))
        .await;
    assert_eq!(batch.status, 200, "the outer batch is not charged: {}", batch.text());
    let r = batch.json();
    assert_eq!(r["result"]["result_error"]["1"]["error"], "OPERATION_TIME_LIMIT", "{r}");
    assert!(r["result"]["result"][0].is_string(), "other methods still run (key 0 alone is a list): {r}");
}

/// 4. v3 error codes as the spec gives them, and an expired token in the v2 shape on v3.
#[tokio::test]
async fn v3_error_codes_and_the_expired_token_shape() {
    let portal = Emulator::start(Settings::fast().with_rows(10)).await.expect("start");
    let http = Http::new();
    let missing = http.json(&format!("{}crm.item.get", v3_url(&portal)), &json!({"entityTypeId": 2, "id": 99})).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["error"]["code"], "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION");
    let invalid = http.json(&format!("{}crm.item.list", v3_url(&portal)), &json!({})).await;
    let error = &invalid.json()["error"];
    assert_eq!(error["code"], "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION");
    assert_eq!(error["validation"][0]["field"], "entityTypeId", "{error}");
    let pair = portal.issue_tokens();
    portal.expire_access_tokens();
    let expired =
        http.json(&format!("{}/rest/api/crm.item.list", portal.base_url()), &json!({"auth": pair.access_token})).await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json(),
        json!({"error": "expired_token", "error_description": "The access token provided has expired"})
    );
}

/// 5. Legacy paging, `ERROR_ARGUMENT`, array filters, the bucket, suffixes and texts.
#[tokio::test]
async fn legacy_start_is_rounded_down_to_a_page() {
    let portal = Emulator::start(Settings::fast().with_rows(200)).await.expect("start");
    let http = Http::new();
    let ids = portal.seeded_ids().collect::<Vec<_>>();
    let page = http.get(&format!("{}crm.deal.list?start=51&select[]=ID", portal.webhook_url())).await.json();
    assert_eq!(page["result"][0]["ID"], ids[50].to_string(), "start=51 reads from row 50");
    assert_eq!(page["next"], 100);
    let page = http.get(&format!("{}crm.deal.list?start=99", portal.webhook_url())).await.json();
    assert_eq!(page["result"][0]["ID"], ids[50].to_string());
}

#[tokio::test]
async fn crm_item_without_entity_type_is_error_argument() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let a = Http::new().json(&format!("{}crm.item.list", portal.webhook_url()), &json!({})).await;
    assert_eq!(a.status, 400);
    let v = a.json();
    assert_eq!((v["error"].clone(), v["argument"].clone()), (json!("ERROR_ARGUMENT"), json!("entityTypeId")), "{v}");
}

#[tokio::test]
async fn an_array_in_an_id_filter_is_or_ed_per_element() {
    let portal = Emulator::start(Settings::fast().with_rows(30)).await.expect("start");
    let v = Http::new()
        .get(&format!(
            "{}crm.deal.list?filter[%3CID][]=3&filter[%3CID][]=9&filter[%3EID][]=30&filter[%3EID][]=2&select[]=ID",
            portal.webhook_url()
        ))
        .await
        .json();
    let ids: Vec<&str> = v["result"].as_array().expect("rows").iter().filter_map(|r| r["ID"].as_str()).collect();
    assert_eq!(ids, ["3", "4", "8"], "(ID < 3 OR ID < 9) AND (ID > 30 OR ID > 2)");
}

#[tokio::test]
async fn the_bucket_refuses_only_over_x() {
    let limits = BucketLimits { capacity: 5, drain_per_sec: 0.001, count_refused: false };
    let portal = Emulator::start(Settings::fast().with_bucket(Some(limits))).await.expect("start");
    let http = Http::new();
    let url = format!("{}server.time", portal.webhook_url());
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(http.get(&url).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 503, 503], "X + 1 pass, then 503");
}

#[tokio::test]
async fn json_and_xml_suffixes() {
    let portal = Emulator::start(Settings::fast().with_rows(3)).await.expect("start");
    let http = Http::new();
    let json = http.get(&format!("{}crm.deal.get.json?id=2", portal.webhook_url())).await;
    assert_eq!(json.json()["result"]["ID"], "2");
    let xml = http.get(&format!("{}crm.deal.get.xml?id=2", portal.webhook_url())).await;
    assert_eq!(xml.status, 200);
    assert!(xml.headers["content-type"].to_str().unwrap_or("").starts_with("text/xml"));
    let text = xml.text();
    assert!(
        text.starts_with("<?xml") && text.contains("<result><ID>2</ID>") && text.contains("<time><start>"),
        "{text}"
    );
    let error = http.get(&format!("{}crm.deal.get.xml?id=99", portal.webhook_url())).await;
    assert_eq!(error.status, 400);
    assert!(
        error.text().contains("<error></error><error_description>Not found</error_description>"),
        "{}",
        error.text()
    );
}

#[tokio::test]
async fn error_texts_as_in_the_spec() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let text = |v: Value| v["error_description"].as_str().unwrap_or("").to_owned();
    let pair = portal.issue_tokens();
    portal.expire_access_tokens();
    let base = portal.client_endpoint();
    let expired = http.json(&format!("{base}server.time"), &json!({"auth": pair.access_token})).await.json();
    assert_eq!(text(expired), "The access token provided has expired");
    assert_eq!(text(http.get(&format!("{base}server.time")).await.json()), "Wrong authorization data");
    let wrong = http.get(&format!("{}/rest/1/nope/server.time", portal.base_url())).await.json();
    assert_eq!(text(wrong), "Invalid request credentials");
    assert_eq!(text(http.get(&format!("{base}no.such.method")).await.json()), "Method not found!");
}
