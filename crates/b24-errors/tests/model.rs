//! The error model: codes, statuses, retry classes, conversions.

use b24_errors::{ApiVersion, Code, Error, ErrorCode, PortalFailure, RequestInfo, RetryClass, Side};
use serde_json::json;

fn portal(code: &str, status: u16) -> Error {
    let request = RequestInfo::new("crm.deal.get", "r1", ApiVersion::V2, &json!({"id": 1}));
    Error::portal(PortalFailure::new(ErrorCode::from_portal(code), status, "text", request))
}

#[test]
fn every_code_round_trips_and_is_classified() {
    for code in Code::ALL {
        assert_eq!(Code::from_code(code.as_str()), Some(*code));
        assert_eq!(code.status().is_none(), code.retry_class() == RetryClass::LogOnly, "{code}");
        if code.as_str().starts_with("JSSDK_") {
            assert_eq!(code.side(), Side::Sdk, "{code}");
        }
        assert!(!code.meaning().is_empty() && !code.fix().is_empty() && !code.raised().is_empty());
    }
}

#[test]
fn decide_what_to_retry_table() {
    let cases = [
        ("QUERY_LIMIT_EXCEEDED", 503, RetryClass::RateLimit),
        ("OVERLOAD_LIMIT", 503, RetryClass::Overload),
        ("expired_token", 401, RetryClass::Refresh),
        ("invalid_token", 401, RetryClass::Never),
        ("AUTHORIZE_ERROR", 403, RetryClass::Never),
        ("WRONG_AUTH_TYPE", 403, RetryClass::Never),
        ("ERROR_METHOD_NOT_FOUND", 404, RetryClass::Never),
        ("INVALID_REQUEST", 400, RetryClass::Never),
        ("OPERATION_TIME_LIMIT", 429, RetryClass::Operating),
        ("SOMETHING_UNKNOWN", 502, RetryClass::Transient),
        ("SOMETHING_UNKNOWN", 400, RetryClass::Never),
        ("", 400, RetryClass::Never),
    ];
    for (code, status, class) in cases {
        assert_eq!(portal(code, status).retry_class(), class, "{code} {status}");
    }
    assert_eq!(Error::sdk(Code::JssdkNetworkError, "reset").retry_class(), RetryClass::Transient);
    assert_eq!(Error::sdk(Code::JssdkInvalidParams, "x").retry_class(), RetryClass::Never);
}

#[test]
fn unknown_portal_codes_pass_through_verbatim() {
    let error = portal("CRM_BRAND_NEW_CODE", 400);
    assert_eq!(error.code(), ErrorCode::Other("CRM_BRAND_NEW_CODE".into()));
    assert_eq!(error.code().as_str(), "CRM_BRAND_NEW_CODE");
    assert_eq!(error.status(), 400);
    let empty = portal("", 400);
    assert_eq!(empty.code().as_str(), "");
    assert!(empty.to_string().contains("(empty code)"));
}

#[test]
fn conversions_from_foreign_errors() {
    let io = std::io::Error::other("boom");
    let e = Error::from_error(io);
    assert_eq!(e.code(), Code::JssdkInternalError);
    assert_eq!(e.status(), 500);
    assert!(e.request().is_none());
    let request = RequestInfo::new("server.time", "r2", ApiVersion::V3, &json!({}));
    let e = Error::from_http_error(request, std::io::Error::other("weird"));
    assert_eq!(e.code(), Code::JssdkInternalAjaxError);
    assert!(e.is_portal_side());
    assert_eq!(e.request().map(|r| r.api()), Some(ApiVersion::V3));
}

#[test]
fn display_names_code_status_method_and_id() {
    let text = portal("ACCESS_DENIED", 403).with_attempts(2).to_string();
    assert_eq!(text, "ACCESS_DENIED (status 403) from crm.deal.get [request r1]: text (after 2 attempts)");
}

#[test]
fn ambiguity() {
    assert!(Error::sdk(Code::JssdkTimeout, "t").is_ambiguous());
    assert!(!Error::sdk(Code::JssdkConnectError, "c").is_ambiguous());
}
