//! One HTTP request through the portal, in the server's order: route → bucket → input →
//! unknown method (404) → auth → injected fault → scope → operating limit → handler (cost model,
//! worker pool) → envelope → injected answer fault.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::caller::authenticate;
use crate::envelope::{self, Timing};
use crate::errors::{self, MethodError};
use crate::input::{form_params, parse_params, read_body};
use crate::json_out::to_php_json;
use crate::methods::{self, Ctx, MethodDef};
use crate::portal::{Api, Caller, Outcome, Portal, StoredAnswer, lock};
use crate::reply::{self, Body};
use crate::route::{Format, RestRoute, parse_rest_path};
use crate::settings::{BatchCharging, FaultKind, Settings};
use crate::{emulator_api, events, oauth};

/// Serve one request. `Err` drops the connection without an answer.
pub(crate) async fn handle(
    portal: Arc<Portal>,
    peer: SocketAddr,
    tls: bool,
    request: Request<Incoming>,
) -> Result<Response<Body>, io::Error> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    if let Some(action) = path.strip_prefix("/_emulator/") {
        let (parts, body) = request.into_parts();
        let body = read_body(body).await.unwrap_or_default();
        return Ok(emulator_api::handle(&portal, action, &form_params(&parts.headers, &query, &body)).await);
    }
    if path == "/oauth/token/" || path == "/oauth/token" {
        let (parts, body) = request.into_parts();
        let body = read_body(body).await.unwrap_or_default();
        return Ok(oauth::token(&portal, &form_params(&parts.headers, &query, &body)));
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

/// The answer of a fault drawn before the handler, if it is one of those.
fn fault_before(portal: &Portal, fault: FaultKind, token: Option<&str>) -> Option<Result<Response<Body>, MethodError>> {
    Some(Err(match fault {
        FaultKind::QueryLimit => errors::query_limit(),
        FaultKind::OperationTimeLimit => errors::operation_time_limit(),
        FaultKind::Overload => errors::overload(),
        FaultKind::ExpiredToken => {
            if let Some(t) = token {
                lock(&portal.tokens).expire(t);
            }
            errors::expired_token()
        }
        FaultKind::Html500 => return Some(Ok(reply::html(500))),
        _ => return None,
    }))
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

/// A request admitted to its handler.
struct Admitted {
    def: &'static MethodDef,
    caller: Caller,
    params: Value,
    body: bytes::Bytes,
    fault: Option<FaultKind>,
    idempotency_key: Option<String>,
    /// Whether this call is charged as a whole to its method (not a batch in per-command mode).
    charged_whole: bool,
}

/// Where and when a request came from.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    peer: SocketAddr,
    tls: bool,
    /// Virtual time of arrival.
    start: f64,
}

/// Everything before the handler, in the server's order; `Err` is the answer to send instead.
async fn admit(
    portal: &Arc<Portal>,
    settings: &Settings,
    arrival: Arrival,
    route: &RestRoute,
    query: &str,
    request: Request<Incoming>,
) -> Result<Admitted, Result<Response<Body>, MethodError>> {
    let Arrival { peer, tls, start } = arrival;
    if let Some(bucket) = settings.bucket {
        if !lock(&portal.buckets).admit(&bucket, peer.ip(), start) {
            portal.counters.bucket_refused();
            return Err(Err(errors::query_limit()));
        }
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = read_body(body).await else {
        return Err(Err(MethodError::bad("INVALID_REQUEST", "Request body too large or unreadable")));
    };
    let params = parse_params(route.api, &parts.headers, query, &body).map_err(Err)?;
    let def = methods::find(route.api, &route.method).ok_or_else(|| Err(errors::method_not_found()))?;
    let (caller, token) = authenticate(portal, route, tls, &params, &parts.headers).map_err(Err)?;
    let fault = lock(&portal.faults).draw(def.name, token.is_some());
    if let Some(f) = fault {
        if let Some(answer) = fault_before(portal, f, token.as_deref()) {
            portal.counters.fault(f.name());
            return Err(answer);
        }
    }
    if !settings.granted(def.scope) {
        return Err(Err(errors::insufficient_scope()));
    }
    let per_command = settings.operating.is_some_and(|o| o.batch_charging == BatchCharging::PerCommand);
    let charged_whole = !(def.name == "batch" && per_command);
    if let Some(limits) = settings.operating.filter(|_| charged_whole) {
        let key = (caller.auth_kind, caller.credential.clone(), def.name.to_owned());
        if lock(&portal.operating).blocked(&limits, &key, start).is_some() {
            return Err(Err(errors::operation_time_limit()));
        }
    }
    let idempotency_key = (route.api == Api::V3)
        .then(|| parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .flatten();
    if let Some(key) = &idempotency_key {
        if let Some(replay) = replay(portal, key, &body).map_err(Err)? {
            return Err(Ok(replay));
        }
    }
    Ok(Admitted { def, caller, params, body, fault, idempotency_key, charged_whole })
}

/// A stored answer for a v3 `Idempotency-Key` seen before with the same body.
fn replay(portal: &Portal, key: &str, body: &[u8]) -> Result<Option<Response<Body>>, MethodError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(MethodError::bad(
            "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION",
            "Invalid Idempotency-Key",
        ));
    }
    let Some(stored) = lock(&portal.idempotency).get(key).cloned() else { return Ok(None) };
    if stored.body_hash != body_hash(body) {
        return Err(MethodError::new(
            "BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION",
            "Idempotency key reused with another body",
            422,
        ));
    }
    let mut answer = reply::json_bytes(stored.status, stored.body);
    answer.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Some(answer))
}

/// A failure in the API's (and path's) format.
fn failure(api: Api, format: Format, e: MethodError) -> Response<Body> {
    let e = if api == Api::V3 { e.into_v3() } else { e };
    match format {
        Format::Json => reply::error(api, &e),
        Format::Xml => reply::xml(e.status, envelope::xml_body(&e.v2_body())),
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
    let (api, format) = (route.api, route.format);
    let arrived = tokio::time::Instant::now();
    let start = portal.clock.now();
    let settings = portal.settings();
    let arrival = Arrival { peer, tls, start };
    let admitted = match admit(portal, &settings, arrival, &route, &query, request).await {
        Ok(a) => a,
        Err(Ok(answer)) => return Ok(answer),
        Err(Err(e)) => return Ok(failure(api, format, e)),
    };
    let Admitted { def, caller, params, body, fault, idempotency_key, charged_whole } = admitted;

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
    let (handled, result_json, posts) = off_the_async_threads(settings.cost.enabled, || {
        let (handled, posts) = {
            let mut data = lock(&portal.data);
            let mut ctx = Ctx { portal, caller: &caller, data: &mut data, now: start, changes: Vec::new() };
            let handled = def.call(&mut ctx, &params);
            let changes = std::mem::take(&mut ctx.changes);
            (handled, events::publish(portal, &mut data, changes, start))
        };
        // The envelope around the result waits for the finish time.
        let result_json = handled.as_ref().ok().filter(|_| format == Format::Json).map(|o| to_php_json(&o.result));
        (handled, result_json, posts)
    });
    if !posts.is_empty() {
        let portal = portal.clone();
        tokio::spawn(async move { events::deliver::send_all(&portal, posts).await });
    }
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
        Err(e) => return Ok(failure(api, format, e)),
    };
    portal.counters.method(def.name);
    portal.counters.rows(outcome.rows);
    if outcome.counted {
        portal.counters.counted();
    }
    let operating = settings.operating.map(|limits| {
        let key = (caller.auth_kind, caller.credential.clone(), def.name.to_owned());
        let mut op = lock(&portal.operating);
        // In per-command mode the batch handler charged each sub-call already.
        if charged_whole {
            op.record(&limits, key.clone(), start, cost);
        }
        op.state(&limits, &key, finish)
    });
    let time = envelope::time_json(&portal.clock, api, Timing { start, finish, processing: cost, operating });
    let bytes = match (outcome.raw, result_json) {
        (true, Some(result)) => result,
        (false, Some(result)) => envelope::json_body(&result, outcome.next, outcome.total, &time),
        (_, None) => {
            let mut whole = json!({"result": outcome.result});
            if let Some(n) = outcome.next {
                whole["next"] = json!(n);
            }
            if let Some(t) = outcome.total {
                whole["total"] = json!(t);
            }
            whole["time"] = time;
            return Ok(reply::xml(200, envelope::xml_body(&whole)));
        }
    };
    if let Some(key) = idempotency_key {
        let stored = StoredAnswer { body_hash: body_hash(&body), status: 200, body: bytes.clone() };
        lock(&portal.idempotency).insert(key, stored);
    }
    answer_fault(portal, fault, bytes).await
}

/// The answer, broken the way an injected fault says.
async fn answer_fault(portal: &Portal, fault: Option<FaultKind>, bytes: Vec<u8>) -> Result<Response<Body>, io::Error> {
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
