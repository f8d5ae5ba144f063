//! Online delivery: each event is a form-encoded POST with PHP bracket keys to the handler URL
//! (`event`, `event_handler_id`, `data[FIELDS][ID]`, `ts`, `auth[access_token]`...,
//! `auth[application_token]`), sent by an HTTP client inside the emulator (plain http). The
//! `auth` block carries a fresh token pair for the handler's user, so a client can be built from
//! the event. Every attempt is logged for [`crate::EmulatorHandle::deliveries`].

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::Value;

use super::Pending;
use crate::oauth;
use crate::portal::{Portal, lock};

/// The HTTP client events go out with.
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new client (plain http).
pub(crate) fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// One delivery attempt, as the emulator logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The event name.
    pub event: String,
    /// The URL it was posted to.
    pub handler: String,
    /// The handler's HTTP status, or `None` when it could not be reached.
    pub status: Option<u16>,
}

/// What `application/x-www-form-urlencoded` leaves as it is (`http_build_query`).
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Flatten `value` under `prefix` into PHP bracket keys (`data[FIELDS][ID]`).
pub(crate) fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| flatten(&format!("{prefix}[{k}]"), v, out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| flatten(&format!("{prefix}[{i}]"), v, out)),
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Null => out.push((prefix.to_owned(), String::new())),
        Value::Bool(b) => out.push((prefix.to_owned(), if *b { "1".into() } else { String::new() })),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
    }
}

/// The form body of `fields` (top-level keys, nested values in brackets).
pub(crate) fn form(fields: &[(&str, Value)]) -> String {
    let mut pairs = Vec::new();
    for (name, value) in fields {
        flatten(name, value, &mut pairs);
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, FORM), utf8_percent_encode(v, FORM)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POST a form to `url`; the status, or `None` when the handler could not be reached.
pub(crate) async fn post(client: &HttpClient, url: &str, body: String) -> Option<u16> {
    let request = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "Bitrix24 Webhook Engine")
        .body(Full::new(Bytes::from(body)))
        .ok()?;
    let response = client.request(request).await.ok()?;
    Some(response.status().as_u16())
}

/// A delivery ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    event: String,
    handler: String,
    body: String,
}

/// The form of each pending delivery: the event, the binding's id, the change's data, the
/// time, and an `auth` block with a fresh token pair for the handler's user.
pub(crate) fn posts(portal: &Portal, pending: Vec<Pending>) -> Vec<Post> {
    let settings = portal.settings();
    let now = portal.clock.now();
    let ts = portal.clock.wall(now).floor() as i64;
    pending
        .into_iter()
        .map(|p| {
            let user = if p.binding.auth_type > 0 { p.binding.auth_type } else { p.change.user_id };
            let pair = lock(&portal.tokens).issue(now, settings.access_token_lifetime_secs);
            let body = form(&[
                ("event", Value::from(p.change.event.as_str())),
                ("event_handler_id", Value::from(p.binding.id)),
                ("data", p.change.data),
                ("ts", Value::from(ts)),
                ("auth", oauth::auth_block(portal, &pair, user)),
            ]);
            Post { event: p.change.event, handler: p.binding.handler, body }
        })
        .collect()
}

/// POST one event and log the outcome; the handler's status, or `None` when unreachable.
pub(crate) async fn send(portal: &Portal, event: &str, handler: &str, body: String) -> Option<u16> {
    let status = post(&portal.http, handler, body).await;
    portal.counters.event_delivered(status.is_some_and(|s| (200..300).contains(&s)));
    lock(&portal.deliveries).push(Delivery { event: event.to_owned(), handler: handler.to_owned(), status });
    status
}

/// POST each delivery in order.
pub(crate) async fn send_all(portal: &Portal, posts: Vec<Post>) {
    for p in posts {
        send(portal, &p.event, &p.handler, p.body).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_bracket_form() {
        let body = form(&[
            ("event", json!("ONCRMDEALADD")),
            ("data", json!({"FIELDS": {"ID": 5}})),
            ("auth", json!({"scope": "crm,task"})),
        ]);
        assert_eq!(body, "event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=5&auth%5Bscope%5D=crm%2Ctask");
    }
}
