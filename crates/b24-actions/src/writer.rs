//! The bulk writer: any number of rows, each one call (`fields` for `*.add`, `id` + `fields` for
//! `*.update` and the like), 50 to a batch, as many batches at once as adaptive concurrency
//! allows, with the rate and operating limiters in charge; rows are read as they are needed, so
//! memory stays bounded however many there are.
//!
//! **Exactly once.** A batch whose outcome is unknown (the connection dropped after sending, a
//! timeout) is never sent again blindly:
//!
//! - with a key field ([`BulkWrite::key`], e.g. `ORIGIN_ID`, `XML_ID`), the writer asks the
//!   list method which rows of that batch exist (one batch of lookups), records those, and sends
//!   only the rest;
//! - over REST v3 each batch carries an `Idempotency-Key` made from its content, so the portal
//!   answers a repeat with the stored answer instead of applying it twice;
//! - otherwise the write stops with `JSSDK_OUTCOME_UNKNOWN`, naming the input lines in doubt.
//!
//! A [`Journal`] (the file one is [`crate::journal::FileJournal`]) records each batch before it
//! is sent and each row's outcome after, so that a run after a crash or Ctrl-C skips the rows
//! already written and settles the batches that were in flight ([`BulkWrite::in_doubt`]) the same
//! way.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use b24_batch::{Batch, Command, Outcome};
use b24_errors::{ApiVersion, Code, Error};
use b24_transport::{B24Request, Transport};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::concurrency::{Answer, Concurrency, Controller};
use crate::fetch_v2::long_running;
use crate::journal::{Journal, NoJournal};
use crate::query::{ListQuery, number};

/// Rows in one batch.
pub const BATCH_ROWS: usize = 50;
/// How many times one batch may come back unknown and be settled by lookups before the
/// writer gives up on it.
const MAX_UNKNOWN: usize = 5;

/// One row to write.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRow {
    /// Where it came from (the input line): how results and the journal name it.
    pub line: u64,
    /// The id of the entity to change (`*.update`), none for `*.add`.
    pub id: Option<Value>,
    /// The fields.
    pub fields: Map<String, Value>,
}

impl WriteRow {
    /// A row from JSON: `{"id": 7, "fields": {...}}`, or flat fields (`ID`/`id` taken as the id
    /// when the method needs one).
    pub fn from_json(line: u64, value: Value, needs_id: bool) -> Result<WriteRow, Error> {
        let Value::Object(mut map) = value else {
            return Err(Error::sdk(Code::JssdkInvalidParams, format!("line {line}: a row must be a JSON object")));
        };
        let id_key = ["id", "ID"].into_iter().find(|k| map.contains_key(*k));
        let (id, fields) = match map.remove("fields") {
            Some(Value::Object(fields)) => (id_key.and_then(|k| map.remove(k)), fields),
            Some(_) => {
                return Err(Error::sdk(Code::JssdkInvalidParams, format!("line {line}: `fields` must be an object")));
            }
            None => (if needs_id { id_key.and_then(|k| map.remove(k)) } else { None }, map),
        };
        if needs_id && id.is_none() {
            return Err(Error::sdk(Code::JssdkInvalidParams, format!("line {line}: no `id` to update")));
        }
        Ok(WriteRow { line, id, fields })
    }
}

/// What became of one row.
#[derive(Debug)]
pub struct Written {
    /// The input line.
    pub line: u64,
    /// The entity's id (what the portal answered when it is not one), or why the row failed.
    pub outcome: Result<Value, Error>,
}

/// What to write and how.
pub struct BulkWrite {
    pub(crate) method: String,
    params: Map<String, Value>,
    key: Option<String>,
    pub(crate) concurrency: Concurrency,
    journal: Box<dyn Journal>,
    in_doubt: Vec<Vec<WriteRow>>,
}

impl std::fmt::Debug for BulkWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkWrite")
            .field("method", &self.method)
            .field("key", &self.key)
            .field("concurrency", &self.concurrency)
            .field("in_doubt", &self.in_doubt.len())
            .finish_non_exhaustive()
    }
}

impl BulkWrite {
    /// Write with `method` (`crm.deal.add`, `crm.item.update`…).
    pub fn new(method: impl Into<String>) -> BulkWrite {
        BulkWrite {
            method: method.into(),
            params: Map::new(),
            key: None,
            concurrency: Concurrency::default(),
            journal: Box::new(NoJournal),
            in_doubt: Vec::new(),
        }
    }

    /// A param every call gets besides `fields` and `id` (e.g. `entityTypeId`).
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> BulkWrite {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// The field that identifies a row in the portal (`ORIGIN_ID`, `XML_ID`…): a batch whose
    /// outcome is unknown is settled by looking its rows up by it. Every row must carry it.
    pub fn key(mut self, field: impl Into<String>) -> BulkWrite {
        self.key = Some(field.into());
        self
    }

    /// How many batches to keep in flight (adaptive by default).
    pub fn concurrency(mut self, concurrency: Concurrency) -> BulkWrite {
        self.concurrency = concurrency;
        self
    }

    /// Record each batch before it is sent and each outcome after.
    pub fn journal(mut self, journal: impl Journal + 'static) -> BulkWrite {
        self.journal = Box::new(journal);
        self
    }

    /// Batches an earlier run sent without learning their outcome (from its journal), each with
    /// its rows as they were sent: settled before anything else.
    pub fn in_doubt(mut self, batches: Vec<Vec<WriteRow>>) -> BulkWrite {
        self.in_doubt = batches;
        self
    }

    /// Whether the method changes an existing entity (needs an `id`) rather than making one.
    pub fn needs_id(&self) -> bool {
        !b24_transport::creates(&self.method)
    }
}

/// What every batch task shares.
struct Ctx {
    transport: Transport,
    api: ApiVersion,
    method: String,
    params: Map<String, Value>,
    key: Option<String>,
    creates: bool,
    controller: Mutex<Controller>,
    journal: Mutex<Box<dyn Journal>>,
}

fn locked<T: ?Sized, R>(m: &Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R {
    f(&mut m.lock().unwrap_or_else(PoisonError::into_inner))
}

fn lines(rows: &[WriteRow]) -> Vec<u64> {
    rows.iter().map(|r| r.line).collect()
}

/// Lines as text, runs joined: `3, 7-12`.
fn spans(lines: &[u64]) -> String {
    let mut sorted = lines.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        out.push(if i == j { sorted[i].to_string() } else { format!("{}-{}", sorted[i], sorted[j]) });
        i = j + 1;
    }
    out.join(", ")
}

fn in_doubt_error(ctx: &Ctx, rows: &[WriteRow], cause: Error) -> Error {
    let message = format!(
        "{} may or may not have written the rows on input lines {}: the answer was lost, and without a key field they cannot be looked up; check them in the portal (or write with a key field, e.g. --key ORIGIN_ID), then run again",
        ctx.method,
        spans(&lines(rows))
    );
    Error::wrap(Code::JssdkOutcomeUnknown, message, cause)
}

/// How a batch went.
enum Sent {
    /// Every row has an outcome.
    Done(Vec<Written>),
    /// The portal may or may not have applied it.
    Unknown(Error),
    /// It was not applied (or re-applying it is harmless): the write stops, the rows stay to do.
    NotApplied(Error),
}

impl Ctx {
    fn params(&self, row: &WriteRow) -> Value {
        let mut params = self.params.clone();
        if let Some(id) = &row.id {
            params.insert("id".into(), id.clone());
        }
        params.insert("fields".into(), Value::Object(row.fields.clone()));
        Value::Object(params)
    }

    /// The id in an answer: a number, `{item: {id}}`, `{id}`; the row's own for an update.
    fn id_of(&self, row: &WriteRow, result: Value) -> Value {
        let found = match &result {
            Value::Number(_) | Value::String(_) => number(&result).map(Value::from),
            Value::Object(map) => map
                .get("item")
                .and_then(|item| item.get("id").or_else(|| item.get("ID")))
                .or_else(|| map.get("id"))
                .and_then(number)
                .map(Value::from),
            _ => None,
        };
        found.or_else(|| row.id.clone()).unwrap_or(result)
    }

    /// Send one batch of rows and read each row's outcome.
    async fn send(&self, rows: &[WriteRow]) -> Sent {
        let entries = rows.iter().map(|r| (format!("r{}", r.line), Command::new(self.method.clone(), self.params(r))));
        let batch = match Batch::named(entries.collect()) {
            Ok(b) => b,
            Err(e) => return Sent::NotApplied(e),
        };
        let request = match self.api {
            ApiVersion::V2 => batch.v2_params().and_then(|p| B24Request::v2("batch", &p)),
            ApiVersion::V3 => batch.v3_body().and_then(|b| {
                let key = idempotency_key(&self.method, &b);
                B24Request::v3("batch", &b).map(|r| r.idempotency_key(key))
            }),
        };
        let request = match request {
            Ok(r) => long_running(&self.transport, r),
            Err(e) => return Sent::NotApplied(e),
        };
        let ticket = locked(&self.controller, Controller::start);
        let response = self.transport.call(request).await;
        let answer = response.as_ref().ok().map(Answer::of);
        locked(&self.controller, |c| c.finish(ticket, answer.as_ref(), Instant::now()));
        let response = match response {
            Ok(r) => r,
            // Only a creating v2 batch can be applied twice: anything else is sent again on
            // the next run (updates repeat harmlessly, v3 batches carry their key).
            Err(e) if self.creates && self.api == ApiVersion::V2 && ambiguous(&e) => return Sent::Unknown(e),
            Err(e) => return Sent::NotApplied(e),
        };
        let parsed = match self.api {
            ApiVersion::V2 => {
                response.value().and_then(|v| b24_batch::parse_v2_owned(&batch, v, response.request_id()))
            }
            ApiVersion::V3 => response.value().and_then(|v| b24_batch::parse_v3(&batch, &v)),
        };
        let result = match parsed {
            Ok(r) => r,
            // The portal answered, but not in a shape that says what it did.
            Err(e) if self.creates && self.api == ApiVersion::V2 => return Sent::Unknown(e),
            Err(e) => return Sent::NotApplied(e),
        };
        let mut written = Vec::with_capacity(rows.len());
        for (row, (_, _, outcome)) in rows.iter().zip(result.into_entries()) {
            let outcome = match outcome {
                Outcome::Done(r) => Ok(self.id_of(row, r.value)),
                Outcome::Failed(e) => Err(e),
                Outcome::NotRun => Err(Error::sdk(Code::JssdkBatchSubError, "the portal did not run this command")),
            };
            written.push(Written { line: row.line, outcome });
        }
        Sent::Done(written)
    }

    /// Which of `rows` exist already, looked up by the key field (one batch of list calls):
    /// those found, as written, and those to send.
    async fn look_up(&self, key: &str, rows: Vec<WriteRow>) -> Result<(Vec<Written>, Vec<WriteRow>), Error> {
        let list = match self.method.rsplit_once('.') {
            Some((head, _)) => format!("{head}.list"),
            None => self.method.clone(),
        };
        let q = ListQuery::new(list.clone());
        let (_, id_field) = q.id_keys();
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let value = row.fields.get(key).cloned().unwrap_or(Value::Null);
            let mut params = self.params.clone();
            params.insert("filter".into(), json!({ key: value }));
            params.insert("select".into(), json!([id_field, key]));
            params.insert("start".into(), json!(-1));
            entries.push((format!("r{}", row.line), Command::new(list.clone(), Value::Object(params))));
        }
        let batch = Batch::named(entries)?;
        let request = long_running(&self.transport, B24Request::v2("batch", &batch.v2_params()?)?);
        let response = self.transport.call(request).await?;
        let result = b24_batch::parse_v2_owned(&batch, response.value()?, response.request_id())?;
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        for (row, (_, _, outcome)) in rows.into_iter().zip(result.into_entries()) {
            let existing = match outcome {
                Outcome::Done(r) => q.rows(r.value)?.first().and_then(|r| r.get(id_field)).cloned(),
                Outcome::Failed(e) => return Err(e),
                Outcome::NotRun => None,
            };
            match existing {
                Some(id) => found.push(Written { line: row.line, outcome: Ok(number(&id).map_or(id, Value::from)) }),
                None => missing.push(row),
            }
        }
        Ok((found, missing))
    }

    /// Send `rows` until each has an outcome, settling lost answers by lookups (`doubt`: the
    /// rows were sent by an earlier run, whose outcome is unknown).
    async fn settle(&self, mut rows: Vec<WriteRow>, mut doubt: Option<Error>) -> Result<Vec<Written>, Error> {
        let mut out = Vec::new();
        for _ in 0..=MAX_UNKNOWN {
            if let Some(cause) = doubt.take() {
                let Some(key) = &self.key else { return Err(in_doubt_error(self, &rows, cause)) };
                let (found, missing) = self.look_up(key, rows).await?;
                self.record(&found)?;
                out.extend(found);
                rows = missing;
            }
            if rows.is_empty() {
                return Ok(out);
            }
            locked(&self.journal, |j| j.sending(&lines(&rows)))?;
            match self.send(&rows).await {
                Sent::Done(written) => {
                    self.record(&written)?;
                    out.extend(written);
                    return Ok(out);
                }
                Sent::Unknown(e) => doubt = Some(e),
                Sent::NotApplied(e) => {
                    locked(&self.journal, |j| j.not_sent(&lines(&rows)))?;
                    return Err(e);
                }
            }
        }
        Err(in_doubt_error(
            self,
            &rows,
            Error::sdk(Code::JssdkOutcomeUnknown, format!("{MAX_UNKNOWN} answers in a row were lost")),
        ))
    }

    fn record(&self, written: &[Written]) -> Result<(), Error> {
        locked(&self.journal, |j| written.iter().try_for_each(|w| j.written(w)))
    }
}

/// A connection that failed after the request went out, or a timeout: the portal may have
/// applied it.
fn ambiguous(e: &Error) -> bool {
    e.code() == Code::JssdkOutcomeUnknown || e.is_ambiguous() || e.root().is_ambiguous()
}

/// The same content always gets the same key (FNV-1a over the method and the JSON body).
fn idempotency_key(method: &str, body: &Value) -> String {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    method.hash(&mut h);
    body.to_string().hash(&mut h);
    let first = h.finish();
    first.hash(&mut h);
    format!("b24-write-{first:016x}{:016x}", h.finish())
}

type Task = BoxFuture<'static, Result<Vec<Written>, Error>>;

struct State {
    ctx: Arc<Ctx>,
    rows: BoxStream<'static, Result<WriteRow, Error>>,
    in_doubt: VecDeque<Vec<WriteRow>>,
    running: FuturesUnordered<Task>,
    ready: VecDeque<Written>,
    input_done: bool,
    /// The first failure that stops the write (yielded once the batches in flight are back).
    failure: Option<Error>,
    ended: bool,
}

impl State {
    /// Start batches while the controller allows more in flight.
    async fn fill(&mut self) {
        while self.failure.is_none() && self.running.len() < locked(&self.ctx.controller, |c| c.limit()) {
            if let Some(batch) = self.in_doubt.pop_front() {
                let ctx = self.ctx.clone();
                let cause = Error::sdk(Code::JssdkOutcomeUnknown, "an earlier run sent these rows and stopped");
                self.running.push(Box::pin(async move { ctx.settle(batch, Some(cause)).await }));
                continue;
            }
            if self.input_done {
                return;
            }
            let mut batch = Vec::with_capacity(BATCH_ROWS);
            while batch.len() < BATCH_ROWS {
                match self.rows.next().await {
                    Some(Ok(row)) => match self.ctx.key.as_deref().filter(|k| !row.fields.contains_key(*k)) {
                        Some(key) => {
                            let e = Error::sdk(Code::JssdkInvalidParams, format!("line {}: no `{key}`", row.line));
                            self.ready.push_back(Written { line: row.line, outcome: Err(e) });
                        }
                        None => batch.push(row),
                    },
                    Some(Err(e)) => {
                        self.failure = Some(e);
                        break;
                    }
                    None => {
                        self.input_done = true;
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                let ctx = self.ctx.clone();
                self.running.push(Box::pin(async move { ctx.settle(batch, None).await }));
            }
        }
    }
}

pub(crate) fn write(
    transport: Transport,
    api: ApiVersion,
    plan: BulkWrite,
    rows: BoxStream<'static, Result<WriteRow, Error>>,
) -> BoxStream<'static, Result<Written, Error>> {
    let controller = Controller::new(plan.concurrency);
    let ctx = Ctx {
        transport,
        api,
        creates: b24_transport::creates(&plan.method),
        method: plan.method,
        params: plan.params,
        key: plan.key,
        controller: Mutex::new(controller),
        journal: Mutex::new(plan.journal),
    };
    let state = State {
        ctx: Arc::new(ctx),
        rows,
        in_doubt: plan.in_doubt.into(),
        running: FuturesUnordered::new(),
        ready: VecDeque::new(),
        input_done: false,
        failure: None,
        ended: false,
    };
    stream::unfold(state, |mut s| async move {
        loop {
            if let Some(w) = s.ready.pop_front() {
                return Some((Ok(w), s));
            }
            if s.ended {
                return None;
            }
            s.fill().await;
            if let Some(w) = s.ready.pop_front() {
                return Some((Ok(w), s));
            }
            match s.running.next().await {
                Some(Ok(written)) => s.ready.extend(written),
                // The batches still in flight finish (their rows get their outcome); then the
                // first failure ends the stream.
                Some(Err(e)) => {
                    s.failure.get_or_insert(e);
                }
                None => {
                    s.ended = true;
                    if let Some(e) = s.failure.take() {
                        return Some((Err(e), s));
                    }
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_json() {
        let row = WriteRow::from_json(3, json!({"TITLE": "a", "ORIGIN_ID": "x1"}), false).expect("flat add");
        assert_eq!((row.line, row.id.clone(), row.fields.len()), (3, None, 2));
        let row = WriteRow::from_json(4, json!({"ID": 9, "TITLE": "b"}), true).expect("flat update");
        assert_eq!((row.id, row.fields.len()), (Some(json!(9)), 1));
        let row = WriteRow::from_json(5, json!({"id": 9, "fields": {"title": "c"}}), true).expect("nested");
        assert_eq!((row.id, row.fields.get("title")), (Some(json!(9)), Some(&json!("c"))));
        for (bad, needs_id) in [(json!([1]), false), (json!({"fields": 1}), false), (json!({"TITLE": "x"}), true)] {
            let e = WriteRow::from_json(6, bad, needs_id).expect_err("refused");
            assert_eq!(e.code(), Code::JssdkInvalidParams);
            assert!(e.message().starts_with("line 6:"), "{e}");
        }
    }

    #[test]
    fn line_spans_and_keys() {
        assert_eq!(spans(&[7, 3, 8, 9, 12]), "3, 7-9, 12");
        let a = idempotency_key("crm.item.add", &json!([{"method": "crm.item.add", "params": {"x": 1}}]));
        let b = idempotency_key("crm.item.add", &json!([{"method": "crm.item.add", "params": {"x": 1}}]));
        let c = idempotency_key("crm.item.add", &json!([{"method": "crm.item.add", "params": {"x": 2}}]));
        assert_eq!(a, b, "the same content, the same key");
        assert_ne!(a, c);
        assert!(a.len() <= 255 && a.is_ascii());
    }
}
