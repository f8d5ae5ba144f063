//! OAuth: token routes, expiry, the token endpoint with rotating single-use refresh tokens.

mod common;

use b24_emulator::{Emulator, Settings};
use common::Http;
use serde_json::json;

#[tokio::test]
async fn access_token_in_auth_param_access_token_or_bearer() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let pair = portal.issue_tokens();
    let base = portal.client_endpoint();
    let a = http.json(&format!("{base}server.time"), &json!({"auth": pair.access_token})).await;
    assert_eq!(a.status, 200);
    let b = http.get(&format!("{base}user.current?access_token={}", pair.access_token)).await;
    assert_eq!(b.status, 200);
    let bearer = format!("Bearer {}", pair.access_token);
    let c = http
        .send(
            "POST",
            &format!("{}/rest/api/crm.item.list", portal.base_url()),
            Some("application/json"),
            b"{\"entityTypeId\":2}".to_vec(),
            &[("authorization", &bearer)],
        )
        .await
        .expect("v3");
    assert_eq!(c.status, 200, "{}", c.text());
    let bad = http.json(&format!("{base}server.time"), &json!({"auth": "not-a-token"})).await;
    assert_eq!((bad.status, bad.json()["error"].clone()), (401, json!("invalid_token")));
    portal.expire_access_tokens();
    let expired = http.json(&format!("{base}server.time"), &json!({"auth": pair.access_token})).await;
    assert_eq!((expired.status, expired.json()["error"].clone()), (401, json!("expired_token")));
}

#[tokio::test]
async fn refresh_rotates_and_a_used_refresh_token_is_refused() {
    let portal = Emulator::start(Settings::fast()).await.expect("start");
    let http = Http::new();
    let s = portal.settings();
    let pair = portal.issue_tokens();
    let form = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        s.client_id, s.client_secret, pair.refresh_token
    );
    let first = http.form(&portal.oauth_token_url(), &form).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let v = first.json();
    for field in [
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "client_endpoint",
        "server_endpoint",
        "domain",
        "member_id",
        "scope",
        "status",
        "user_id",
    ] {
        assert!(v.get(field).is_some(), "{field} missing: {v}");
    }
    assert_ne!(v["refresh_token"], json!(pair.refresh_token));
    let reuse = http.get(&format!("{}?{form}", portal.oauth_token_url())).await;
    assert_eq!((reuse.status, reuse.json()["error"].clone()), (400, json!("invalid_grant")));
    let new_access = v["access_token"].as_str().unwrap_or("");
    assert_eq!(
        http.json(&format!("{}server.time", portal.client_endpoint()), &json!({"auth": new_access})).await.status,
        200
    );
    let bad_client = http
        .form(&portal.oauth_token_url(), "grant_type=refresh_token&client_id=x&client_secret=y&refresh_token=z")
        .await;
    assert_eq!(bad_client.json()["error"], "invalid_client");
    let code = portal.authorization_code();
    let by_code = http
        .get(&format!(
            "{}?grant_type=authorization_code&client_id={}&client_secret={}&code={code}",
            portal.oauth_token_url(),
            s.client_id,
            s.client_secret
        ))
        .await;
    assert_eq!(by_code.status, 200);
    let c = portal.counters();
    assert_eq!((c.oauth_refreshes, c.oauth_refused), (2, 2));
}

#[tokio::test]
async fn short_lifetime_provokes_expired_token() {
    let settings = Settings { access_token_lifetime_secs: 5.0, time_scale: 0.01, ..Settings::fast() };
    let portal = Emulator::start(settings).await.expect("start");
    let pair = portal.issue_tokens();
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let a = Http::new()
        .json(&format!("{}server.time", portal.client_endpoint()), &json!({"auth": pair.access_token}))
        .await;
    assert_eq!(a.json()["error"], "expired_token");
}
