//! A secret placed in params, in a URL, in nested params or in a batch `cmd` row never appears
//! in an error's `Display`, `Debug` or JSON.

use b24_errors::{ApiVersion, Code, Error, ErrorCode, PortalFailure, RequestInfo, Scrubbed, Secret};
use serde_json::json;

const WEBHOOK_SECRET: &str = "fakewebhooksecret0123";
const ACCESS_TOKEN: &str = "fake-access-token-4567";
const REFRESH_TOKEN: &str = "fake-refresh-token-89ab";
const CLIENT_SECRET: &str = "fake-client-secret-cdef";
const APP_TOKEN: &str = "fake-application-token-0000";
const ALL: &[&str] = &[WEBHOOK_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, APP_TOKEN];

fn every_rendering(error: &Error) -> String {
    let mut out = format!("{error}\n{error:?}\n{}\n{:#}", error.to_json(), error.to_json());
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        out.push_str(&format!("\n{cause}\n{cause:?}"));
        next = cause.source();
    }
    out
}

fn assert_clean(error: &Error) {
    let text = every_rendering(error);
    for secret in ALL {
        assert!(!text.contains(secret), "secret {secret} leaked in:\n{text}");
    }
}

fn params_full_of_secrets() -> serde_json::Value {
    json!({
        "auth": ACCESS_TOKEN,
        "fields": {"TITLE": "x", "deep": {"refresh_token": REFRESH_TOKEN, "list": [{"client_secret": CLIENT_SECRET}]}},
        "data": {"auth": {"application_token": APP_TOKEN}},
        "halt": 0,
        "cmd": {
            "a": format!("crm.deal.list?filter[>ID]=1&auth={ACCESS_TOKEN}"),
            "b": format!("user.current?access_token={ACCESS_TOKEN}&PASSWORD={CLIENT_SECRET}"),
            "c": format!("event.bind?auth%5Bapplication_token%5D={APP_TOKEN}"),
        },
    })
}

fn request() -> RequestInfo {
    RequestInfo::new("batch", "req-42", ApiVersion::V2, &params_full_of_secrets())
}

#[test]
fn portal_error_with_secrets_in_params() {
    let error = Error::portal(PortalFailure::new(
        ErrorCode::from_portal("INVALID_CREDENTIALS"),
        401,
        "Invalid request credentials",
        request(),
    ));
    assert_clean(&error);
    let json = error.to_json();
    assert_eq!(json["code"], "INVALID_CREDENTIALS");
    assert_eq!(json["status"], 401);
    assert_eq!(json["requestInfo"]["method"], "batch");
    assert_eq!(json["requestInfo"]["requestId"], "req-42");
    assert_eq!(json["requestInfo"]["params"]["fields"]["TITLE"], "x");
    assert_eq!(json["requestInfo"]["params"]["auth"], "[REDACTED]");
}

#[test]
fn source_error_naming_the_url_is_scrubbed() {
    let url = format!("https://portal.example.invalid/rest/1/{WEBHOOK_SECRET}/crm.deal.list?auth={ACCESS_TOKEN}");
    let io = std::io::Error::other(format!("connection reset while calling {url}"));
    let source = Scrubbed::new(&io, &[WEBHOOK_SECRET, ACCESS_TOKEN]);
    let failure = PortalFailure::new(Code::JssdkNetworkError.into(), 502, "connection reset", request());
    let error = Error::portal_caused(failure, source);
    assert_clean(&error);
    assert!(
        every_rendering(&error)
            .contains("connection reset while calling https://portal.example.invalid/rest/1/[REDACTED]/")
    );
}

#[test]
fn wrappers_keep_everything_clean() {
    let inner = Error::portal(PortalFailure::new(
        ErrorCode::from_portal("QUERY_LIMIT_EXCEEDED"),
        503,
        "Too many requests",
        request(),
    ))
    .with_attempts(4);
    let outer = Error::wrap(Code::JssdkCallAllAttemptsExhausted, "all 4 attempts failed", inner);
    assert_clean(&outer);
    assert_eq!(outer.attempts(), 4);
    assert_eq!(outer.root().code(), Code::QueryLimitExceeded);
    assert_eq!(outer.request().map(|r| r.request_id()), Some("req-42"));
    let json = outer.to_json();
    assert_eq!(json["code"], "JSSDK_CALL_ALL_ATTEMPTS_EXHAUSTED");
    assert_eq!(json["attempts"], 4);
    assert!(json["causes"][0].as_str().unwrap_or("").contains("QUERY_LIMIT_EXCEEDED"));
}

#[test]
fn secret_type_never_prints() {
    let secret = Secret::new(CLIENT_SECRET);
    let holder = format!("{secret} {secret:?} {:?}", Some(&secret));
    assert!(!holder.contains(CLIENT_SECRET));
}
