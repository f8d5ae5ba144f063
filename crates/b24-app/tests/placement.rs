//! Installation from the install placement POST: the portal is stored without an application
//! token, its first event sets it (trust on first use), later events must match it; a placement
//! naming another domain for an installed member id, or an untrusted OAuth server, is refused.

use std::sync::Arc;

use b24_app::{App, AppConfig, Event, InstallationStore, Placement, SqliteStore};
use b24_errors::Code;
use b24_transport::credentials::OAuthApp;
use b24_transport::php_query::encode;
use serde_json::json;

fn placement(domain: &str, server: &str) -> Placement {
    let body = encode(&json!({
        "AUTH_ID": "fake-access-placement", "AUTH_EXPIRES": "3600", "REFRESH_ID": "fake-refresh-placement",
        "SERVER_ENDPOINT": server, "member_id": "member-p", "status": "L", "PLACEMENT": "DEFAULT",
        "PLACEMENT_OPTIONS": "{\"any\":\"1\"}",
    }));
    Placement::parse(&body, &format!("DOMAIN={domain}&LANG=en&APP_SID=x")).expect("a placement POST")
}

fn event(token: &str) -> Event {
    let body = encode(&json!({
        "event": "ONCRMLEADADD", "data": {"FIELDS": {"ID": "3"}}, "ts": "1700000000",
        "auth": {"domain": "portal.example.invalid", "member_id": "member-p", "application_token": token},
    }));
    Event::parse(&body).expect("an event")
}

#[tokio::test]
async fn a_placement_install_then_its_first_event_sets_the_token() {
    let store: Arc<dyn InstallationStore> = Arc::new(SqliteStore::memory().expect("store"));
    let app: App =
        App::new(AppConfig::new(OAuthApp::new("local.fake", "fake-client-secret")), store.clone()).expect("app");
    let p = placement("portal.example.invalid", "https://oauth.bitrix.info/rest/");
    assert_eq!((p.placement.as_str(), p.options["any"].as_str()), ("DEFAULT", Some("1")));

    let installed = app.install_from_placement(&p).await.expect("installed");
    assert_eq!((installed.domain.as_str(), installed.application_token.is_none()), ("portal.example.invalid", true));
    assert_eq!(installed.tokens.client_endpoint, "https://portal.example.invalid/rest/");

    let first = app.verify(&event("fake-app-token-p")).await.expect("the first event sets the token");
    assert_eq!(first.application_token.map(|t| t.expose().to_owned()).as_deref(), Some("fake-app-token-p"));
    app.verify(&event("fake-app-token-p")).await.expect("the same token again");
    let forged = app.verify(&event("fake-other-token")).await.err().map(|e| e.code());
    assert_eq!(forged, Some(Code::JssdkEventTokenMismatch.into()));

    // Opening the app again keeps the stored tokens; another domain for the member id is refused.
    let again = app.install_from_placement(&p).await.expect("recognized");
    assert!(again.application_token.is_some(), "the stored installation is kept");
    let moved = app.install_from_placement(&placement("evil.example.invalid", "https://oauth.bitrix.info/rest/")).await;
    assert_eq!(moved.err().map(|e| e.code()), Some(Code::JssdkPlacementInvalid.into()));
    let untrusted =
        app.install_from_placement(&placement("portal.example.invalid", "https://oauth.example.invalid/rest/")).await;
    assert_eq!(untrusted.err().map(|e| e.code()), Some(Code::JssdkAppUntrustedEndpoint.into()));
}
