//! The umbrella client against the emulator: typed helpers, OAuth from a placement, events.

use b24_emulator::{Emulator, Settings};
use b24_sdk::prelude::*;
use b24_sdk::typed::ItemEnvelope;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Deal {
    id: u64,
    title: String,
    #[serde(rename = "stageId")]
    stage_id: String,
}

#[derive(Serialize)]
struct NewDeal<'a> {
    title: &'a str,
}

#[tokio::test]
async fn typed_helpers() {
    let portal = Emulator::start(Settings::fast().with_rows(120)).await.expect("emulator");
    let client = Client::from_webhook_url(&portal.webhook_url()).expect("client");
    assert!(client.server_time().await.expect("time").contains('T'));
    assert_eq!(client.user_current().await.expect("user").id, 1);
    assert!(client.profile().await.expect("profile").admin);
    assert!(client.app_info().await.expect("app").code.is_some());
    let deal: Deal = client.crm_item(2, 1).await.expect("item 1");
    assert_eq!(deal.id, 1);
    let created: Deal = client.crm_item_add(2, &NewDeal { title: "typed" }).await.expect("add");
    assert_eq!(created.title, "typed");
    let all: Vec<Deal> = client.crm_items(2).await.expect("items");
    assert_eq!(all.len(), 121);
    let raw: ItemEnvelope<serde_json::Value> =
        client.call("crm.item.get", &serde_json::json!({"entityTypeId": 2, "id": 2})).await.expect("raw");
    assert_eq!(raw.item["id"], 2);
    let wrong: Result<Vec<Deal>, Error> = client.call("server.time", &()).await;
    assert_eq!(wrong.err().map(|e| e.code()), Some(Code::JssdkResponseUnexpectedShape.into()));
}

#[tokio::test]
async fn oauth_from_a_placement_post() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let s = portal.settings();
    let pair = portal.issue_tokens();
    let domain = portal.base_url().trim_start_matches("http://").to_owned();
    let body = format!(
        "AUTH_ID={}&AUTH_EXPIRES=3600&REFRESH_ID={}&SERVER_ENDPOINT={}%2Frest%2F&member_id=m&DOMAIN={domain}",
        pair.access_token,
        pair.refresh_token,
        portal.base_url().replace(':', "%3A").replace('/', "%2F"),
    );
    let client = Client::builder()
        .placement(OAuthApp::new(s.client_id.clone(), s.client_secret.clone()), &body)
        .plan(Plan::Unlimited)
        .allow_http(true)
        .build()
        .expect("client");
    // The placement says https://DOMAIN/rest/; the emulator speaks http here, so point the
    // tokens at it the way a self-hosted portal on http would be configured.
    let mut tokens = client.tokens().expect("oauth");
    assert_eq!(tokens.client_endpoint, format!("https://{domain}/rest/"));
    tokens.client_endpoint = portal.client_endpoint();
    let client = Client::builder()
        .oauth(b24_sdk::transport::credentials::OAuthCredentials::new(
            OAuthApp::new(s.client_id, s.client_secret),
            tokens,
        ))
        .plan(Plan::Unlimited)
        .build()
        .expect("client");
    portal.expire_access_tokens();
    assert!(client.server_time().await.is_ok(), "refreshed through the placement's server endpoint");
    assert_eq!(portal.counters().oauth_refreshes, 1);
}

#[tokio::test]
async fn missing_credentials_and_bad_urls_are_clear() {
    let e = Client::builder().build().expect_err("no credentials");
    assert_eq!(e.code(), Code::JssdkCoreB24NotInit);
    let e = Client::from_webhook_url("https://portal.example.invalid/rest/x/fakesecret0/").expect_err("bad url");
    assert_eq!(e.code(), Code::JssdkInvalidWebhookUrl);
    let e = Client::from_webhook_url("http://portal.example.invalid/rest/1/fakesecret0/").expect_err("http");
    assert_eq!(e.code(), Code::JssdkInsecureUrl);
}
