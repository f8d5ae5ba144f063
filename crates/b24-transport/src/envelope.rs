//! Reading an answer: the v2 and v3 envelopes, the portal's error bodies, and everything that is
//! not an envelope at all (HTML from a proxy, a truncated body, bytes that are not JSON).

use b24_errors::{Code, Error, ErrorCode, PortalFailure, ValidationIssue};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::request::B24Request;
use crate::response::B24Response;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default, deserialize_with = "count")]
    next: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    total: Option<u64>,
    #[serde(borrow, default)]
    time: Option<&'a RawValue>,
}

/// A present `result` is `Some`, even when it is `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

use crate::response::count;

#[derive(Deserialize)]
struct V3Error {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    validation: Vec<V3Validation>,
}

#[derive(Deserialize)]
struct V3Validation {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn failure(request: &B24Request, code: ErrorCode, status: u16, message: impl Into<String>) -> PortalFailure {
    PortalFailure::new(code, status, message, request.info())
}

/// An SDK-coded failure of this request (the body was not an envelope).
pub(crate) fn sdk_failure(request: &B24Request, code: Code, status: u16, message: impl Into<String>) -> Error {
    Error::portal(failure(request, code.into(), status, message))
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    body[start..].first() == Some(&b'<')
}

/// Parse a complete body of `status` into a response or the portal's error.
pub(crate) fn parse(request: &B24Request, status: u16, body: Bytes) -> Result<B24Response, Error> {
    if request.wants_raw() && (200..300).contains(&status) && serde_json::from_slice::<&RawValue>(&body).is_ok() {
        let len = body.len();
        return Ok(response(request, status, body, 0..len, None, None, None));
    }
    let envelope: Envelope<'_> = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            let (code, what) = if looks_like_html(&body) {
                (Code::JssdkResponseNotJson, "an HTML page, not JSON".to_owned())
            } else if e.is_eof() {
                (Code::JssdkResponseTruncated, "a JSON body that ends early".to_owned())
            } else if body.is_empty() {
                (Code::JssdkResponseNotJson, "an empty body".to_owned())
            } else {
                (Code::JssdkResponseNotJson, format!("a body that is not a JSON envelope ({e})"))
            };
            let message =
                request.scrub(format!("the portal answered {} with {what} (HTTP {status})", request.method()));
            let status = if (200..300).contains(&status) { code.status().unwrap_or(502) } else { status };
            return Err(sdk_failure(request, code, status, message));
        }
    };
    if let Some(error) = envelope.error {
        return Err(portal_error(request, status, error, envelope.error_description));
    }
    let Some(result) = envelope.result else {
        let message = format!("the answer to {} has neither `result` nor `error`", request.method());
        return Err(sdk_failure(request, Code::JssdkResponseUnexpectedShape, 502, message));
    };
    let range = offset_in(&body, result.get());
    let time = envelope.time.map(|t| offset_in(&body, t.get()));
    let (next, total) = (envelope.next, envelope.total);
    Ok(response(request, status, body, range, next, total, time))
}

/// The byte range of `inner` inside `outer` (a slice borrowed from it).
fn offset_in(outer: &[u8], inner: &str) -> std::ops::Range<usize> {
    let start = (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize);
    let start = start.min(outer.len());
    start..(start + inner.len()).min(outer.len())
}

fn response(
    request: &B24Request,
    status: u16,
    body: Bytes,
    result: std::ops::Range<usize>,
    next: Option<u64>,
    total: Option<u64>,
    time_at: Option<std::ops::Range<usize>>,
) -> B24Response {
    B24Response {
        status,
        body,
        result,
        next,
        total,
        time_at,
        time: std::sync::OnceLock::new(),
        api: request.api(),
        method: request.method_shared(),
        request_id: request.request_id().clone(),
        round_trip: None,
        load_refusals: 0,
    }
}

/// The portal's error. Its code and texts come from outside: a portal or a proxy may echo what
/// the request carried, so every credential of the request is scrubbed from them.
fn portal_error(request: &B24Request, status: u16, error: &RawValue, description: Option<String>) -> Error {
    let status = if status < 400 { 400 } else { status };
    let code = |code: String| ErrorCode::from_portal(&request.scrub(code));
    if let Ok(text) = serde_json::from_str::<String>(error.get()) {
        let message = request.scrub(description.unwrap_or_default());
        return Error::portal(failure(request, code(text), status, message));
    }
    match serde_json::from_str::<V3Error>(error.get()) {
        Ok(v3) => {
            let message = request.scrub(v3.message.or(description).unwrap_or_default());
            let mut f = failure(request, code(v3.code.unwrap_or_default()), status, message);
            f.validation = v3
                .validation
                .into_iter()
                .map(|v| ValidationIssue {
                    field: v.field.map(|field| request.scrub(field)),
                    message: request.scrub(v.message.unwrap_or_default()),
                })
                .collect();
            Error::portal(f)
        }
        Err(_) => {
            sdk_failure(request, Code::JssdkResponseUnexpectedShape, status, "the error body has an unknown shape")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req() -> B24Request {
        B24Request::v2("crm.deal.list", &json!({"auth": "fake-token-1234"})).expect("request")
    }

    fn parse_str(status: u16, body: &str) -> Result<B24Response, Error> {
        parse(&req(), status, Bytes::copy_from_slice(body.as_bytes()))
    }

    /// Text from outside that echoes the credentials of the request never reaches the error:
    /// the webhook secret (v2 and v3 shapes, validation entries, a body that is not JSON) and an
    /// OAuth access token.
    #[test]
    fn echoed_credentials_are_scrubbed_from_portal_text() {
        use crate::credentials::{AccessGrant, AttachedAuth, Webhook};
        let secret = "fakesecretEchoed42";
        let mut hooked = req();
        let hook = Webhook::parse(&format!("https://example.bitrix24.com/rest/1/{secret}/"), false).expect("hook");
        hooked.auth = Some(AttachedAuth::Webhook(std::sync::Arc::new(hook)));
        let bodies = [
            (401, format!(r#"{{"error":"INVALID_CREDENTIALS","error_description":"bad hook /rest/1/{secret}/"}}"#)),
            (400, format!(r#"{{"error":"{secret}","error_description":"x"}}"#)),
            (
                400,
                format!(
                    r#"{{"error":{{"code":"X","message":"m {secret}","validation":[{{"field":"{secret}","message":"{secret}"}}]}}}}"#
                ),
            ),
            (502, format!("proxy error for https://example.bitrix24.com/rest/1/{secret}/x")),
        ];
        for (status, body) in bodies {
            let e = parse(&hooked, status, Bytes::from(body)).expect_err("an error");
            let shown = format!("{e} {e:?} {}", serde_json::to_string(&e).unwrap_or_default());
            assert!(!shown.contains(secret), "{shown}");
        }
        let mut bearer = req();
        let token = "fakeAccessTokenEchoed99";
        bearer.auth = Some(AttachedAuth::OAuth(AccessGrant {
            access_token: token.into(),
            client_endpoint: "https://example.bitrix24.com/rest/".into(),
        }));
        let body = format!(r#"{{"error":"expired_token","error_description":"token {token} has expired"}}"#);
        let e = parse(&bearer, 401, Bytes::from(body)).expect_err("an error");
        assert!(!format!("{e} {e:?}").contains(token));
        assert!(e.message().contains("[REDACTED]"), "{}", e.message());
    }

    #[test]
    fn v2_success_with_paging_and_time() {
        let r = parse_str(200, r#"{"result":[{"ID":"1"}],"next":50,"total":"120","time":{"start":1.5,"finish":2,"operating":3,"operating_reset_at":1700000000}}"#)
            .expect("ok");
        assert_eq!(r.result_raw(), r#"[{"ID":"1"}]"#);
        assert_eq!((r.next(), r.total()), (Some(50), Some(120)));
        let t = r.time().cloned().unwrap_or_default();
        assert_eq!((t.start, t.finish, t.operating), (Some(1.5), Some(2.0), Some(3.0)));
        assert_eq!(r.value().ok(), Some(json!([{"ID": "1"}])));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Row {
            #[serde(rename = "ID")]
            id: u64,
        }
        let e = r.json::<Vec<Row>>().expect_err("string is not u64");
        assert_eq!(e.code(), Code::JssdkResponseUnexpectedShape);
        assert!(e.message().contains("[0].ID"), "{}", e.message());
    }

    #[test]
    fn a_time_block_is_read_on_first_use_and_a_malformed_one_is_no_time() {
        let r = parse_str(200, r#"{"result":1,"time":{"operating":"2.5","date_start":"2026-11-25T06:00:00+00:00"}}"#);
        let t = r.as_ref().ok().and_then(|r| r.time()).cloned().unwrap_or_default();
        assert_eq!((t.operating, t.date_start.as_deref()), (Some(2.5), Some("2026-11-25T06:00:00+00:00")));
        let r = parse_str(200, r#"{"result":1,"time":"soon"}"#).expect("the result is still there");
        assert!(r.time().is_none());
        assert!(parse_str(200, r#"{"result":1}"#).map(|r| r.time().is_none()).unwrap_or(false));
    }

    #[test]
    fn null_result_is_a_result() {
        assert_eq!(parse_str(200, r#"{"result":null}"#).map(|r| r.result_raw().to_owned()).ok(), Some("null".into()));
    }

    #[test]
    fn v2_and_v3_errors() {
        let e = parse_str(503, r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#)
            .expect_err("err");
        assert_eq!((e.code(), e.status(), e.message()), (Code::QueryLimitExceeded.into(), 503, "Too many requests"));
        assert_eq!(e.request().map(|r| r.method()), Some("crm.deal.list"));
        let e = parse_str(400, r#"{"error":"","error_description":"Not found"}"#).expect_err("err");
        assert_eq!(e.code().as_str(), "");
        let e = parse_str(400, r#"{"error":{"code":"BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION","message":"bad","validation":[{"field":"title","message":"required"}]}}"#)
            .expect_err("err");
        assert_eq!(e.code(), Code::BitrixRestV3ExceptionValidationRequestvalidationexception);
        assert_eq!(e.validation()[0].field.as_deref(), Some("title"));
    }

    #[test]
    fn bodies_that_are_not_envelopes() {
        let html = parse_str(502, "<html><body>Bad gateway</body></html>").expect_err("html");
        assert_eq!((html.code(), html.status()), (Code::JssdkResponseNotJson.into(), 502));
        let cut = parse_str(200, r#"{"result":[{"ID":"1"},{"I"#).expect_err("truncated");
        assert_eq!(cut.code(), Code::JssdkResponseTruncated);
        let junk = parse_str(200, "not json").expect_err("junk");
        assert_eq!(junk.code(), Code::JssdkResponseNotJson);
        let empty = parse_str(200, "").expect_err("empty");
        assert!(empty.code() == Code::JssdkResponseNotJson || empty.code() == Code::JssdkResponseTruncated);
        let other = parse_str(200, r#"{"hello":1}"#).expect_err("shape");
        assert_eq!(other.code(), Code::JssdkResponseUnexpectedShape);
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep = match parse_str(200, &format!(r#"{{"result":{deep}}}"#)).map(|r| r.value()) {
            Ok(Err(e)) | Err(e) => e,
            Ok(Ok(_)) => panic!("10,000 levels of nesting were accepted"),
        };
        assert!(deep.code() == Code::JssdkResponseUnexpectedShape || deep.code() == Code::JssdkResponseNotJson);
        assert!(deep.message().len() < 300, "a short, clear message");
        let bad_utf8 = parse(&req(), 200, Bytes::from_static(b"{\"result\":\"\xff\xfe\"}")).expect_err("utf8");
        assert_eq!(bad_utf8.code(), Code::JssdkResponseNotJson);
        for e in [html, cut, junk, other, deep, bad_utf8] {
            assert!(!format!("{e} {e:?} {}", e.to_json()).contains("fake-token-1234"));
        }
    }
}
