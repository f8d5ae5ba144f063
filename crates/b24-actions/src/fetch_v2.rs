//! The fast v2 export.
//!
//! Order by id, filter `>ID` = the last id seen, `start=-1` (no COUNT), and chain 50 such pages
//! in one batch through `$result[prev][49][ID]` references: one HTTP request brings up to 2,500
//! rows. A page shorter than a full one ends the data; whatever the portal does with the broken
//! references after it is discarded (every page must continue strictly after the last id).
//!
//! Ascending exports cut the id range into windows fetched in parallel (the `windows` module),
//! as many at once as the portal serves (`concurrency`), unless `chains(1)` asks for one
//! chain. Lists ordered by anything else fall back to offset paging (which counts).

use std::collections::VecDeque;

use b24_batch::{Batch, Command, Outcome, Ref};
use b24_errors::{Code, Error};
use b24_transport::{B24Request, Transport};
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{Map, Value, json};

use crate::concurrency::{Answer, Concurrency};
use crate::query::{ListKey, ListQuery, number};

/// Pages chained in one batch.
pub(crate) const PAGES_PER_BATCH: usize = 50;
/// The name of the highest-id query in a windowed export's first batch.
const TOP: &str = "top";
/// v2 pages hold 50 rows.
pub(crate) const PAGE: usize = 50;

/// Wrap a page failure as the JS SDK's fetch-list error.
pub(crate) fn fetch_failed(method: &str, e: Error, delivered: u64) -> Error {
    let message = format!("a page of {method} failed after {delivered} rows were delivered; they stay valid");
    Error::wrap(Code::JssdkCoreB24FetchListMethodApiV2, message, e)
}

/// The fixed parts of every page request.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) q: ListQuery,
    pub(crate) ascending: bool,
    /// Params without the cursor key.
    pub(crate) base: Map<String, Value>,
    /// The first cursor (from the user's own `>ID` / `>=ID`).
    pub(crate) start: Option<u64>,
    /// The user's own far bound (`<ID` / `<=ID` when ascending), exclusive.
    pub(crate) end: Option<u64>,
}

impl Plan {
    fn new(q: ListQuery, ascending: bool) -> Plan {
        let id = q.id_filter.clone();
        let mut filter = q.filter.clone();
        let (near, near_eq, far, far_eq) = if ascending { (">", ">=", "<", "<=") } else { ("<", "<=", ">", ">=") };
        let take = |f: &mut Map<String, Value>, prefix: &str| {
            let key =
                f.keys().find(|k| k.strip_prefix(prefix).is_some_and(|rest| rest.eq_ignore_ascii_case(&id))).cloned();
            key.and_then(|k| f.remove(&k)).and_then(|v| number(&v))
        };
        let start = take(&mut filter, near_eq)
            .map(|v| if ascending { v.saturating_sub(1) } else { v + 1 })
            .or_else(|| take(&mut filter, near));
        let end = if ascending {
            let lt = take(&mut filter, far);
            let le = take(&mut filter, far_eq).map(|v| v + 1);
            match (lt, le) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        } else {
            None
        };
        let mut base = q.params.clone();
        base.insert("filter".into(), Value::Object(filter));
        base.insert("order".into(), json!({ id.clone(): if ascending { "ASC" } else { "DESC" } }));
        let select = q.select_with_id();
        if !select.is_empty() {
            base.insert("select".into(), json!(select));
        }
        base.insert("start".into(), json!(-1));
        Plan { q, ascending, base, start, end }
    }

    fn cursor_key(&self) -> String {
        format!("{}{}", if self.ascending { ">" } else { "<" }, self.q.id_filter)
    }

    /// Params of one page: the cursor as a number or a reference, and a window end.
    fn page(&self, cursor: Option<Value>, window_end: Option<u64>) -> Value {
        let mut params = self.base.clone();
        if let Some(Value::Object(filter)) = params.get_mut("filter") {
            if let Some(c) = cursor {
                filter.insert(self.cursor_key(), c);
            }
            let end = match (window_end, self.end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(end) = end {
                filter.insert(format!("<{}", self.q.id_filter), json!(end));
            }
        }
        Value::Object(params)
    }

    /// The reference to the last row id of page `name`.
    fn last_id_ref(&self, name: &str) -> String {
        let r = Ref::result(name);
        let r = match &self.q.list_key {
            ListKey::Bare => r,
            ListKey::Field(k) => r.field(k),
        };
        r.index(PAGE - 1).field(&self.q.id_row).to_string()
    }

    /// The query for the highest id (first row of a descending page of ids).
    fn top_query(&self) -> Value {
        let mut params = self.page(None, None);
        params["order"] = json!({ self.q.id_filter.clone(): "DESC" });
        params["select"] = json!([self.q.id_filter.clone()]);
        params
    }

    /// A batch of chained pages; with `top`, a probe instead: the highest id (and the first
    /// page when `pages` is 1).
    fn chain(&self, cursor: Option<u64>, window_end: Option<u64>, top: bool, pages: usize) -> Result<Batch, Error> {
        let pages = if top { pages.min(1) } else { pages.clamp(1, PAGES_PER_BATCH) };
        let mut entries = Vec::with_capacity(PAGES_PER_BATCH);
        if top {
            entries.push((TOP.to_owned(), Command::new(self.q.method.clone(), self.top_query())));
        }
        for k in 0..pages {
            let name = format!("p{k}");
            let cursor = if k == 0 {
                cursor.map(Value::from)
            } else {
                Some(Value::String(self.last_id_ref(&format!("p{}", k - 1))))
            };
            entries.push((name, Command::new(self.q.method.clone(), self.page(cursor, window_end))));
        }
        Batch::named(entries)
    }
}

/// What one chained batch delivered.
pub(crate) struct Step {
    pub(crate) pages: Vec<Vec<Value>>,
    pub(crate) cursor: Option<u64>,
    pub(crate) ended: bool,
    pub(crate) error: Option<Error>,
    /// The highest id, when asked for.
    pub(crate) top: Option<u64>,
    /// A page was refused with `OPERATION_TIME_LIMIT`: wait, then go on from `cursor`.
    pub(crate) blocked: bool,
    /// What the answer said about the portal's timing (for adaptive concurrency).
    pub(crate) answer: Option<Answer>,
}

/// A request of long-running work: transient failures are retried for the transport's
/// `work_retry_budget` rather than `max_retries` times.
pub(crate) fn long_running(transport: &Transport, request: B24Request) -> B24Request {
    request.retry_within(transport.config().retry.work_retry_budget)
}

/// How many times in a row a chain may be held back by the operating limit before it gives up.
pub(crate) const MAX_BLOCKED: u32 = 10;

pub(crate) async fn run_chain(
    transport: &Transport,
    plan: &Plan,
    cursor: Option<u64>,
    window_end: Option<u64>,
    top: bool,
    pages: usize,
) -> Step {
    let mut step =
        Step { pages: Vec::new(), cursor, ended: false, error: None, top: None, blocked: false, answer: None };
    // The stack's operating limiter only sees `batch`; the pages are charged to the list method.
    let permit = match transport.operating_permit(&plan.q.method).await {
        Ok(permit) => permit,
        Err(e) => {
            step.error = Some(e);
            return step;
        }
    };
    let batch = match plan.chain(cursor, window_end, top, pages) {
        Ok(b) => b,
        Err(e) => {
            step.error = Some(e);
            return step;
        }
    };
    let answer = async {
        let request = long_running(transport, B24Request::v2("batch", &batch.v2_params()?)?);
        let response = transport.call(request).await?;
        let answer = Answer::of(&response);
        Ok::<_, Error>((b24_batch::parse_v2_owned(&batch, response.value()?, response.request_id())?, answer))
    };
    let result = match answer.await {
        Ok((r, answer)) => {
            step.answer = Some(answer);
            r
        }
        Err(e) => {
            step.error = Some(e);
            return step;
        }
    };
    for (key, _, outcome) in result.into_entries() {
        match outcome {
            Outcome::Done(r) if key == TOP => match plan.q.rows(r.value) {
                Ok(rows) => step.top = rows.first().and_then(|row| plan.q.row_id(row)),
                Err(e) => {
                    step.error = Some(e);
                    return step;
                }
            },
            Outcome::Done(r) => {
                if let Some(time) =
                    r.time.as_ref().and_then(|t| serde_json::from_value::<b24_transport::Time>(t.clone()).ok())
                {
                    permit.observe(&time);
                }
                let rows = match plan.q.rows(r.value) {
                    Ok(rows) => rows,
                    Err(e) => {
                        step.error = Some(e);
                        return step;
                    }
                };
                let mut last = step.cursor;
                let continues = rows.iter().all(|row| {
                    let id = plan.q.row_id(row);
                    let ok = match (id, last) {
                        (Some(id), Some(prev)) => {
                            if plan.ascending {
                                id > prev
                            } else {
                                id < prev
                            }
                        }
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    last = id;
                    ok
                });
                if !continues || rows.is_empty() {
                    step.ended = true;
                    return step;
                }
                let short = rows.len() < PAGE;
                step.cursor = last;
                step.pages.push(rows);
                if short {
                    step.ended = true;
                    return step;
                }
            }
            Outcome::Failed(e) if e.root().code() == Code::OperationTimeLimit => {
                permit.refused();
                step.blocked = true;
                return step;
            }
            Outcome::Failed(e) => {
                step.error = Some(e);
                return step;
            }
            Outcome::NotRun => {
                step.ended = true;
                return step;
            }
        }
    }
    step
}

/// The export as a stream of pages.
pub(crate) fn fetch(transport: Transport, q: ListQuery) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    match q.id_order() {
        Some(true) if !matches!(q.concurrency, Concurrency::Fixed(1) | Concurrency::Adaptive { max: 1 }) => {
            crate::windows::windows(transport, Plan::new(q, true))
        }
        Some(ascending) => single_chain(transport, Plan::new(q, ascending)),
        None => crate::offset::offset_pages(transport, q),
    }
}

struct ChainState {
    transport: Transport,
    plan: Plan,
    cursor: Option<u64>,
    done: bool,
    delivered: u64,
    blocked: u32,
    pending: VecDeque<Result<Vec<Value>, Error>>,
}

pub(crate) fn blocked_too_often(method: &str) -> Error {
    Error::sdk(
        Code::OperationTimeLimit,
        format!("{method} stayed blocked by the operating-time limit {MAX_BLOCKED} times in a row"),
    )
}

pub(crate) fn single_chain(transport: Transport, plan: Plan) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    let cursor = plan.start;
    let state = ChainState { transport, plan, cursor, done: false, delivered: 0, blocked: 0, pending: VecDeque::new() };
    stream::unfold(state, |mut s| async move {
        loop {
            if let Some(item) = s.pending.pop_front() {
                return Some((item, s));
            }
            if s.done {
                return None;
            }
            let step = run_chain(&s.transport, &s.plan, s.cursor, None, false, PAGES_PER_BATCH).await;
            for page in step.pages {
                s.delivered += page.len() as u64;
                s.pending.push_back(Ok(page));
            }
            s.cursor = step.cursor;
            s.blocked = if step.blocked { s.blocked + 1 } else { 0 };
            let error = step.error.or_else(|| (s.blocked > MAX_BLOCKED).then(|| blocked_too_often(&s.plan.q.method)));
            if let Some(e) = error {
                s.pending.push_back(Err(fetch_failed(&s.plan.q.method, e, s.delivered)));
                s.done = true;
            }
            s.done |= step.ended;
        }
    })
    .boxed()
}
