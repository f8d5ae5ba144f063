//! A stand-in for the portal's event methods (`event.bind` / `event.unbind` / `event.get` and
//! the offline queue's `event.offline.get` / `event.offline.clear`), serving a webhook path on
//! 127.0.0.1, until the emulator has its own. It follows the
//! documented semantics: `clear=0` marks the fetched records with the process id (new, or the
//! one passed) and keeps them; a fetch passing a process id gets that process's uncleared
//! records again, then unmarked ones; `event.offline.clear` deletes the process's records by id.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Record {
    id: u64,
    event: String,
    data: Value,
    process: Option<String>,
}

#[derive(Debug, Default)]
struct Queue {
    records: Vec<Record>,
    next_process: u64,
    fetches: u64,
    clears: u64,
    connectors: Vec<String>,
    bindings: Vec<(String, String, bool)>,
}

/// The queue and its address.
#[derive(Clone)]
pub struct OfflinePortal {
    queue: Arc<Mutex<Queue>>,
    pub webhook_url: String,
}

impl OfflinePortal {
    pub async fn start() -> OfflinePortal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let queue: Arc<Mutex<Queue>> = Arc::default();
        let served = queue.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let queue = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let queue = queue.clone();
                        async move { Ok::<_, Infallible>(answer(&queue, request).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        OfflinePortal { queue, webhook_url: format!("http://{addr}/rest/1/fakewebhook0/") }
    }

    /// Queue an event.
    pub fn push(&self, event: &str, deal_id: u64) {
        let mut q = self.queue.lock().expect("queue");
        let id = q.records.len() as u64 + q.clears * 1000 + 1;
        q.records.push(Record {
            id,
            event: event.into(),
            data: json!({"FIELDS": {"ID": deal_id.to_string()}}),
            process: None,
        });
    }

    /// Records still queued.
    pub fn queued(&self) -> usize {
        self.queue.lock().expect("queue").records.len()
    }

    /// `(fetches, clears, auth connectors seen)`.
    pub fn calls(&self) -> (u64, u64, Vec<String>) {
        let q = self.queue.lock().expect("queue");
        (q.fetches, q.clears, q.connectors.clone())
    }
}

async fn answer(queue: &Mutex<Queue>, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let method = request.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut q = queue.lock().expect("queue");
    let result = match method.as_str() {
        "event.offline.get" => {
            q.fetches += 1;
            if let Some(c) = params["auth_connector"].as_str() {
                q.connectors.push(c.to_owned());
            }
            let process = match params["process_id"].as_str() {
                Some(p) => p.to_owned(),
                None => {
                    q.next_process += 1;
                    format!("fakeprocess{}", q.next_process)
                }
            };
            let limit = params["limit"].as_u64().unwrap_or(50) as usize;
            let clear = params["clear"].as_u64().unwrap_or(1) == 1;
            let mut events = Vec::new();
            for record in q.records.iter_mut() {
                if events.len() == limit {
                    break;
                }
                let mine = record.process.as_deref() == Some(process.as_str());
                if mine || record.process.is_none() {
                    record.process = Some(process.clone());
                    events.push(json!({
                        "ID": record.id.to_string(), "EVENT_NAME": record.event, "EVENT_DATA": record.data,
                        "EVENT_ADDITIONAL": {"user_id": "1"}, "MESSAGE_ID": format!("msg{}", record.id),
                        "TIMESTAMP_X": "2024-01-01T00:00:00+00:00",
                    }));
                }
            }
            if clear {
                let taken: Vec<String> = events.iter().filter_map(|e| e["ID"].as_str().map(str::to_owned)).collect();
                q.records.retain(|r| !taken.contains(&r.id.to_string()));
            }
            json!({"process_id": process, "events": events})
        }
        "event.bind" => {
            let key = (
                params["event"].as_str().unwrap_or_default().to_ascii_uppercase(),
                params["handler"].as_str().unwrap_or_default().to_owned(),
                params["event_type"].as_str() == Some("offline"),
            );
            if q.bindings.contains(&key) {
                return envelope(400, json!({"error": "ERROR_CORE", "error_description": "Handler already binded"}));
            }
            q.bindings.push(key);
            json!(true)
        }
        "event.unbind" => {
            let event = params["event"].as_str().unwrap_or_default().to_ascii_uppercase();
            let handler = params["handler"].as_str().map(str::to_owned);
            let before = q.bindings.len();
            q.bindings.retain(|(e, h, _)| !(*e == event && handler.as_ref().is_none_or(|wanted| wanted == h)));
            json!({"count": before - q.bindings.len()})
        }
        "event.get" => {
            let list: Vec<Value> = q
                .bindings
                .iter()
                .map(|(e, h, offline)| json!({"event": e, "handler": h, "auth_type": "0", "offline": u8::from(*offline)}))
                .collect();
            json!(list)
        }
        "event.offline.clear" => {
            q.clears += 1;
            let process = params["process_id"].as_str().unwrap_or_default().to_owned();
            let ids: Vec<u64> =
                params["id"].as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
            q.records.retain(|r| {
                !(r.process.as_deref() == Some(process.as_str()) && (ids.is_empty() || ids.contains(&r.id)))
            });
            json!(true)
        }
        _ => {
            return envelope(404, json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}));
        }
    };
    envelope(200, json!({"result": result, "time": {"start": 0, "finish": 0, "duration": 0}}))
}

fn envelope(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}
