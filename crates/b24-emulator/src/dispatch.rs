//! One HTTP request through the portal, in the server's order: route → bucket → input →
//! unknown method (404) → auth → injected fault → scope → operating limit → handler (cost model,
//! worker pool) → envelope → injected answer fault.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::json_out::to_php_json;
use crate::methods::{self, Ctx};
use crate::portal::{Api, Caller, MethodError, Outcome, Portal, StoredAnswer, lock};
use crate::reply::{self, Body};
use crate::settings::{BatchCharging, FaultKind};
use crate::{oauth, php};

/// Request bodies over this are refused.
const MAX_BODY: usize = 64 << 20;

/// The parts of a REST path.
#[derive(Debug, PartialEq, Eq)]
struct RestRoute {
    api: Api,
    /// `(user id, secret)` for a webhook, `None` for OAuth.
    webhook: Option<(String, String)>,
    method: String,
}

fn parse_rest_path(path: &str) -> Option<RestRoute> {
    let rest = path.strip_prefix("/rest/")?;
    let (api, rest) = match rest.strip_prefix("api/") {
        Some(r) => (Api::V3, r),
        None => (Api::V2, rest),
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (webhook, method) = match segments.as_slice() {
        [uid, secret, method] if uid.chars().all(|c| c.is_ascii_digit()) && !uid.is_empty() => {
            (Some(((*uid).to_owned(), (*secret).to_owned())), *method)
        }
        [method] => (None, *method),
        _ => return None,
    };
    let method = method.strip_suffix(".json").unwrap_or(method);
    Some(RestRoute { api, webhook, method: method.to_owned() })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

async fn read_body(body: Incoming) -> Result<Bytes, ()> {
    Limited::new(body, MAX_BODY).collect().await.map(|c| c.to_bytes()).map_err(|_| ())
}

/// Serve one request. `Err` drops the connection without an answer.
pub(crate) async fn handle(
    portal: Arc<Portal>,
    peer: SocketAddr,
    tls: bool,
    request: Request<Incoming>,
) -> Result<Response<Body>, io::Error> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    if path == "/_emulator/counters" {
        let snapshot = portal.counters.snapshot();
        return Ok(reply::json(200, &serde_json::to_value(snapshot).unwrap_or(Value::Null)));
    }
    if path == "/oauth/token/" || path == "/oauth/token" {
        let (parts, body) = request.into_parts();
        let body = read_body(body).await.unwrap_or_default();
        let mut params = php::query_to_object(&query);
        if !is_json(&parts.headers) {
            php::merge(&mut params, php::query_to_object(&String::from_utf8_lossy(&body)));
        }
        return Ok(oauth::token(&portal, &Value::Object(params)));
    }
    let Some(route) = parse_rest_path(&path) else {
        return Ok(reply::text(404, "Not Found"));
    };
    portal.counters.request_started();
    let answer = rest(&portal, peer, tls, route, query, request).await;
    portal.counters.request_finished();
    if let Ok(response) = &answer {
        portal.counters.status(response.status().as_u16());
    }
    answer
}

fn err(code: &str, text: &str, status: u16) -> MethodError {
    MethodError::new(code, text, status)
}

/// v3's spelling of a v2 error, where they differ.
fn v3_error(e: MethodError) -> MethodError {
    match e.code.as_str() {
        "ERROR_METHOD_NOT_FOUND" => err("BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION", &e.description, 400),
        "INVALID_CREDENTIALS" => err("BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION", &e.description, 401),
        "insufficient_scope" => err("BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION", &e.description, 403),
        _ => e,
    }
}

fn parse_params(api: Api, headers: &HeaderMap, query: &str, body: &[u8]) -> Result<Value, MethodError> {
    match api {
        Api::V3 => {
            let bad = || err("BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION", "Invalid JSON in the request body", 400);
            if body.is_empty() {
                return Ok(Value::Object(Map::new()));
            }
            if !is_json(headers) {
                return Err(bad());
            }
            serde_json::from_slice(body).map_err(|_| bad())
        }
        Api::V2 => {
            let mut params = php::query_to_object(query);
            let overlay = if is_json(headers) {
                // Malformed JSON silently becomes an empty body.
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(map)) => map,
                    _ => Map::new(),
                }
            } else {
                php::query_to_object(&String::from_utf8_lossy(body))
            };
            php::merge(&mut params, overlay);
            Ok(Value::Object(params))
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// Check credentials; the caller, and the access token used (OAuth).
fn authenticate(
    portal: &Portal,
    route: &RestRoute,
    tls: bool,
    params: &Value,
    headers: &HeaderMap,
) -> Result<(Caller, Option<String>), MethodError> {
    let settings = portal.settings.read().map_err(|_| err("INTERNAL_SERVER_ERROR", "", 500))?;
    if let Some((uid, secret)) = &route.webhook {
        if settings.require_https && !tls {
            return Err(err("INVALID_REQUEST", "Https required.", 401));
        }
        if *uid != settings.webhook_user_id.to_string() || *secret != settings.webhook_secret {
            return Err(err("INVALID_CREDENTIALS", "Invalid request credentials", 401));
        }
        return Ok((Caller { auth_kind: "webhook", credential: uid.clone(), api: route.api }, None));
    }
    let from_params = |name: &str| methods::param(params, name).and_then(Value::as_str).map(str::to_owned);
    let token = from_params("auth").or_else(|| from_params("access_token")).or_else(|| bearer(headers));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(err("NO_AUTH_FOUND", "Wrong authorization data", 401));
    };
    match lock(&portal.tokens).check(&token, portal.clock.now()) {
        Ok(()) => {
            Ok((Caller { auth_kind: "oauth", credential: settings.client_id.clone(), api: route.api }, Some(token)))
        }
        Err(crate::auth::TokenProblem::Expired) => {
            Err(err("expired_token", "The access token provided has expired.", 401))
        }
        Err(crate::auth::TokenProblem::Invalid) => {
            Err(err("invalid_token", "The access token provided is invalid.", 401))
        }
    }
}

/// The answer of a fault drawn before the handler, if it is one of those.
fn fault_before(portal: &Portal, api: Api, fault: FaultKind, token: Option<&str>) -> Option<Response<Body>> {
    let e = match fault {
        FaultKind::QueryLimit => err("QUERY_LIMIT_EXCEEDED", "Too many requests", 503),
        FaultKind::OperationTimeLimit => {
            err("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)
        }
        FaultKind::Overload => err("OVERLOAD_LIMIT", "REST API is blocked due to overload.", 503),
        FaultKind::ExpiredToken => {
            if let Some(t) = token {
                lock(&portal.tokens).expire(t);
            }
            err("expired_token", "The access token provided has expired.", 401)
        }
        FaultKind::Html500 => return Some(reply::html(500)),
        _ => return None,
    };
    Some(reply::error(api, &e))
}

fn time_json(api: Api, start: f64, finish: f64, processing: f64, operating: Option<(f64, Option<f64>)>) -> Value {
    let (s, f) = match api {
        Api::V2 => (json!(start), json!(finish)),
        Api::V3 => (json!(start.floor() as i64), json!(finish.floor() as i64)),
    };
    let mut time = json!({
        "start": s,
        "finish": f,
        "duration": finish - start,
        "processing": processing,
        "date_start": iso8601(start),
        "date_finish": iso8601(finish),
    });
    if let Some((op, reset)) = operating {
        time["operating"] = json!(op);
        if let Some(r) = reset {
            time["operating_reset_at"] = json!(r);
        }
    }
    time
}

fn body_hash(body: &[u8]) -> u64 {
    body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Under the cost model, run a handler where it does not hold up other connections' arrival
/// times: on a multi-threaded runtime, the worker thread hands its other tasks over while `f`
/// runs. Without costs (the `fast` profile) handing over would only cost throughput.
fn off_the_async_threads<T>(modeled: bool, f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) if modeled => tokio::task::block_in_place(f),
        _ => f(),
    }
}

async fn rest(
    portal: &Arc<Portal>,
    peer: SocketAddr,
    tls: bool,
    route: RestRoute,
    query: String,
    request: Request<Incoming>,
) -> Result<Response<Body>, io::Error> {
    let api = route.api;
    let fail = |e: MethodError| {
        let e = if api == Api::V3 { v3_error(e) } else { e };
        Ok(reply::error(api, &e))
    };
    let arrived = tokio::time::Instant::now();
    let start = portal.clock.now();
    let settings = portal.settings();
    if let Some(bucket) = settings.bucket {
        if !lock(&portal.buckets).admit(&bucket, peer.ip(), start) {
            portal.counters.bucket_refused();
            return fail(err("QUERY_LIMIT_EXCEEDED", "Too many requests", 503));
        }
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = read_body(body).await else {
        return fail(err("INVALID_REQUEST", "Request body too large or unreadable", 400));
    };
    let params = match parse_params(api, &parts.headers, &query, &body) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let Some(def) = methods::find(api, &route.method) else {
        return fail(err("ERROR_METHOD_NOT_FOUND", "Method not found!", 404));
    };
    let (caller, token) = match authenticate(portal, &route, tls, &params, &parts.headers) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let fault = lock(&portal.faults).draw(def.name, token.is_some());
    if let Some(f) = fault {
        if let Some(answer) = fault_before(portal, api, f, token.as_deref()) {
            portal.counters.fault(f.name());
            return Ok(answer);
        }
    }
    if !def.scope.is_empty() && !settings.scopes.iter().any(|s| s == def.scope) {
        return fail(err(
            "insufficient_scope",
            "The request requires higher privileges than provided by the access token",
            401,
        ));
    }
    let per_command = settings.operating.is_some_and(|o| o.batch_charging == BatchCharging::PerCommand);
    let charged_whole = !(def.name == "batch" && per_command);
    let op_key = (caller.auth_kind, caller.credential.clone(), def.name.to_owned());
    if let Some(limits) = settings.operating.filter(|_| charged_whole) {
        if lock(&portal.operating).blocked(&limits, &op_key, start).is_some() {
            return fail(err("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429));
        }
    }
    let idempotency_key = (api == Api::V3)
        .then(|| parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .flatten();
    if let Some(key) = &idempotency_key {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return fail(err(
                "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION",
                "Invalid Idempotency-Key",
                400,
            ));
        }
        let stored = lock(&portal.idempotency).get(key).cloned();
        if let Some(stored) = stored {
            if stored.body_hash != body_hash(&body) {
                return fail(err(
                    "BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION",
                    "Idempotency key reused with another body",
                    422,
                ));
            }
            let mut answer = reply::json_bytes(stored.status, stored.body);
            answer.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(answer);
        }
    }

    // A worker is busy for the modeled handler time from when it took the request (on arrival
    // when one was free): the emulator's own work (the data lock, building and serializing the
    // rows) happens inside that time, not on top of it, and off the async threads.
    let (permit, occupied_from) = match portal.workers.try_acquire() {
        Ok(permit) => (permit, arrived),
        Err(_) => {
            let permit = portal.workers.acquire().await.map_err(|e| io::Error::other(e.to_string()))?;
            (permit, tokio::time::Instant::now())
        }
    };
    let (handled, result_json) = off_the_async_threads(settings.cost.enabled, || {
        let handled = {
            let mut data = lock(&portal.data);
            let mut ctx = Ctx { portal, caller: &caller, data: &mut data, now: start };
            (def.handler)(&mut ctx, &params)
        };
        // The envelope around the result waits for the finish time.
        let result_json = handled.as_ref().ok().map(|o| to_php_json(&o.result));
        (handled, result_json)
    });
    let cost = handled.as_ref().map_or(0.0, |o| o.cost);
    let timed_out = cost > settings.cost.request_timeout_secs;
    let sleep_for = portal.clock.real(cost.min(settings.cost.request_timeout_secs));
    if !sleep_for.is_zero() {
        tokio::time::sleep_until(occupied_from + sleep_for).await;
    }
    drop(permit);
    if timed_out {
        return Ok(reply::html(504));
    }

    let finish = portal.clock.now();
    let outcome: Outcome = match handled {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    portal.counters.method(def.name);
    portal.counters.rows(outcome.rows);
    if outcome.counted {
        portal.counters.counted();
    }
    let operating = settings.operating.map(|limits| {
        let mut op = lock(&portal.operating);
        // In per-command mode the batch handler charged each sub-call already.
        if charged_whole {
            op.record(&limits, op_key.clone(), start, cost);
        }
        let state = op.state(&limits, &op_key, finish);
        (state.operating, state.reset_at)
    });
    let result_json = result_json.unwrap_or_else(|| b"null".to_vec());
    let bytes = if outcome.raw {
        result_json
    } else {
        let mut out = Vec::with_capacity(result_json.len() + 320);
        out.extend_from_slice(b"{\"result\":");
        out.extend_from_slice(&result_json);
        if let Some(n) = outcome.next {
            out.extend_from_slice(b",\"next\":");
            out.extend_from_slice(&to_php_json(&json!(n)));
        }
        if let Some(t) = outcome.total {
            out.extend_from_slice(b",\"total\":");
            out.extend_from_slice(&to_php_json(&json!(t)));
        }
        out.extend_from_slice(b",\"time\":");
        out.extend_from_slice(&to_php_json(&time_json(api, start, finish, cost, operating)));
        out.push(b'}');
        out
    };
    if let Some(key) = idempotency_key {
        let stored = StoredAnswer { body_hash: body_hash(&body), status: 200, body: bytes.clone() };
        lock(&portal.idempotency).insert(key, stored);
    }
    match fault {
        Some(f @ FaultKind::DropConnection) => {
            portal.counters.fault(f.name());
            Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection dropped by fault injection"))
        }
        Some(f @ FaultKind::TruncatedBody) => {
            portal.counters.fault(f.name());
            Ok(reply::truncated(200, bytes))
        }
        Some(f @ FaultKind::InvalidJson) => {
            portal.counters.fault(f.name());
            Ok(reply::invalid_json())
        }
        Some(f @ FaultKind::Slow) => {
            portal.counters.fault(f.name());
            let delay = lock(&portal.faults).slow_by();
            tokio::time::sleep(delay).await;
            Ok(reply::json_bytes(200, bytes))
        }
        _ => Ok(reply::json_bytes(200, bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_paths() {
        let r = parse_rest_path("/rest/1/abc/crm.deal.list.json").expect("webhook v2");
        assert_eq!(
            r,
            RestRoute { api: Api::V2, webhook: Some(("1".into(), "abc".into())), method: "crm.deal.list".into() }
        );
        let r = parse_rest_path("/rest/api/7/abc/crm.item.list").expect("webhook v3");
        assert_eq!(r.api, Api::V3);
        assert_eq!(r.webhook, Some(("7".into(), "abc".into())));
        let r = parse_rest_path("/rest/crm.deal.list").expect("oauth v2");
        assert_eq!((r.api, r.webhook, r.method.as_str()), (Api::V2, None, "crm.deal.list"));
        let r = parse_rest_path("/rest/api/crm.item.list").expect("oauth v3");
        assert_eq!((r.api, r.webhook), (Api::V3, None));
        assert!(parse_rest_path("/rest/x/y/z/w").is_none());
        assert!(parse_rest_path("/other").is_none());
    }
}
