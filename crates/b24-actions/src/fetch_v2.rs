//! The fast v2 export.
//!
//! Order by id, filter `>ID` = the last id seen, `start=-1` (no COUNT), and chain 50 such pages
//! in one batch through `$result[prev][49][ID]` references: one HTTP request brings up to 2,500
//! rows. A page shorter than a full one ends the data; whatever the portal does with the broken
//! references after it is discarded (every page must continue strictly after the last id).
//!
//! With `chains > 1` a probe (the highest id and the first page, two requests at once) sizes
//! windows of the id range in whole rounds of `chains`; `chains` windows run at once and as
//! many again wait in the portal's queue, so that a portal worker freed while this client reads
//! an answer starts the next window at once. A new window starts as soon as any finishes; pages
//! still come out in id order, and at most `3 x chains` windows are held in memory. Each window
//! is sized to end in the middle of its last page and each chain to the rows still expected: a
//! page asked for past the short one is served at full cost, and a page too few costs another
//! request. Lists ordered by anything else fall back to offset paging (which counts).

use std::collections::{BTreeMap, VecDeque};

use b24_batch::{Batch, Command, Outcome, Ref};
use b24_errors::{Code, Error};
use b24_transport::{B24Request, Transport};
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use serde_json::{Map, Value, json};

use crate::query::{ListKey, ListQuery};

/// Pages chained in one batch.
const PAGES_PER_BATCH: usize = 50;
/// The name of the highest-id query in a windowed export's first batch.
const TOP: &str = "top";
/// v2 pages hold 50 rows.
const PAGE: usize = 50;

/// Wrap a page failure as the seed's fetch-list error.
pub(crate) fn fetch_failed(e: Error, delivered: u64) -> Error {
    let message = format!("a page request failed after {delivered} rows were delivered; they stay valid");
    Error::wrap(Code::JssdkCoreB24FetchListMethodApiV2, message, e)
}

/// The fixed parts of every page request.
#[derive(Clone)]
struct Plan {
    q: ListQuery,
    ascending: bool,
    /// Params without the cursor key.
    base: Map<String, Value>,
    /// The first cursor (from the user's own `>ID` / `>=ID`).
    start: Option<u64>,
    /// The user's own far bound (`<ID` / `<=ID` when ascending), exclusive.
    end: Option<u64>,
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
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
struct Step {
    pages: Vec<Vec<Value>>,
    cursor: Option<u64>,
    ended: bool,
    error: Option<Error>,
    /// The highest id, when asked for.
    top: Option<u64>,
    /// A page was refused with `OPERATION_TIME_LIMIT`: wait, then go on from `cursor`.
    blocked: bool,
}

/// How many times in a row a chain may be held back by the operating limit before it gives up.
const MAX_BLOCKED: u32 = 10;

async fn run_chain(
    transport: &Transport,
    plan: &Plan,
    cursor: Option<u64>,
    window_end: Option<u64>,
    top: bool,
    pages: usize,
) -> Step {
    let mut step = Step { pages: Vec::new(), cursor, ended: false, error: None, top: None, blocked: false };
    // The operating limiter only sees `batch`; the pages are charged to the list method.
    if let Err(e) = transport.operating_pause(&plan.q.method).await {
        step.error = Some(e);
        return step;
    }
    let batch = match plan.chain(cursor, window_end, top, pages) {
        Ok(b) => b,
        Err(e) => {
            step.error = Some(e);
            return step;
        }
    };
    let answer = async {
        let request = B24Request::v2("batch", &batch.v2_params()?)?;
        let response = transport.call(request).await?;
        b24_batch::parse_v2_owned(&batch, response.value()?, response.request_id())
    };
    let result = match answer.await {
        Ok(r) => r,
        Err(e) => {
            step.error = Some(e);
            return step;
        }
    };
    for (key, _, outcome) in result.into_entries() {
        match outcome {
            Outcome::Done(r) if key == TOP => {
                step.top = plan.q.rows(r.value).first().and_then(|row| plan.q.row_id(row));
            }
            Outcome::Done(r) => {
                if let Some(time) =
                    r.time.as_ref().and_then(|t| serde_json::from_value::<b24_transport::Time>(t.clone()).ok())
                {
                    transport.observe_operating(&plan.q.method, &time);
                }
                let rows = plan.q.rows(r.value);
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
                transport.operating_blocked(&plan.q.method);
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
        Some(ascending) if q.chains > 1 && ascending => windows(transport, Plan::new(q, true)),
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

fn blocked_too_often(method: &str) -> Error {
    Error::sdk(
        Code::OperationTimeLimit,
        format!("{method} stayed blocked by the operating-time limit {MAX_BLOCKED} times in a row"),
    )
}

fn single_chain(transport: Transport, plan: Plan) -> BoxStream<'static, Result<Vec<Value>, Error>> {
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
                s.pending.push_back(Err(fetch_failed(e, s.delivered)));
                s.done = true;
            }
            s.done |= step.ended;
        }
    })
    .boxed()
}

/// Pages a chain needs for `expected` rows, with a margin for an estimate that came out low
/// (1 % + 2 rows, at most 40 % of a page). A page past the one that comes back short is wasted
/// at full cost (the broken reference reads from the start), and a page too few costs a whole
/// extra request, so the margin stays under half a page and windows are sized to end mid-page.
fn pages_for(expected: f64) -> usize {
    let expected = expected.max(0.0);
    let margin = (expected * 0.01 + 2.0).min(0.4 * PAGE as f64);
    ((expected + margin) / PAGE as f64).ceil().clamp(1.0, PAGES_PER_BATCH as f64) as usize
}

/// How far an expected `rows` is from needing a page more or a page less than [`pages_for`]
/// gives it, in rows, allowing the estimate to be 1 % high (negative: a page is likely wasted).
fn slack(rows: f64) -> f64 {
    let pages = pages_for(rows) as f64;
    rows * 0.99 - (pages - 1.0) * PAGE as f64
}

/// The rows of each window in all rounds but the last, given `per_lane` rows over `rounds`
/// windows per lane: the size within a page of `even` whose windows, and the last round's
/// windows (which take what is left), are all furthest from a page boundary.
fn sizes(per_lane: f64, rounds: usize, even: f64, target: f64) -> f64 {
    if rounds < 2 {
        return even;
    }
    let earlier = (rounds - 1) as f64;
    (-(PAGE as i32)..=PAGE as i32)
        .map(|d| even + f64::from(d))
        .filter(|&a| a >= PAGE as f64 && a <= target)
        .map(|a| (a, per_lane - earlier * a))
        .filter(|&(_, b)| b >= PAGE as f64 && b <= target + PAGE as f64)
        .max_by(|x, y| slack(x.0).min(slack(x.1)).total_cmp(&slack(y.0).min(slack(y.1))))
        .map_or(even, |(a, _)| a)
}

/// All pages of the id window `(cursor, end)`, fetched chain after chain, each chain as long as
/// the rows still expected in the window need (`density`: rows per id).
async fn window(
    transport: Transport,
    plan: Plan,
    mut cursor: Option<u64>,
    end: u64,
    density: f64,
) -> (Vec<Vec<Value>>, Option<Error>) {
    let mut pages = Vec::new();
    let mut blocked = 0;
    loop {
        let from = cursor.map_or(0, |c| c + 1);
        let length = pages_for(density * end.saturating_sub(from) as f64);
        let step = run_chain(&transport, &plan, cursor, Some(end), false, length).await;
        pages.extend(step.pages);
        cursor = step.cursor;
        blocked = if step.blocked { blocked + 1 } else { 0 };
        if blocked > MAX_BLOCKED {
            return (pages, Some(blocked_too_often(&plan.q.method)));
        }
        if step.error.is_some() || step.ended {
            return (pages, step.error);
        }
    }
}

fn windows(transport: Transport, plan: Plan) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    // The probe: the highest id and the first page, from which the windows are sized, as two
    // requests at once (neither waits for the other at the portal).
    let first = {
        let (transport, plan) = (transport.clone(), plan.clone());
        async move {
            let (top, mut first) = futures::join!(
                run_chain(&transport, &plan, plan.start, None, true, 0),
                run_chain(&transport, &plan, plan.start, None, false, 1),
            );
            first.top = top.top;
            if first.error.is_none() {
                first.error = top.error;
            }
            first
        }
    };
    stream::once(first)
        .flat_map(move |step| {
            let mut head: Vec<Result<Vec<Value>, Error>> = Vec::new();
            let delivered: u64 = step.pages.iter().map(|p| p.len() as u64).sum();
            let span = match (step.pages.first().and_then(|p| p.first()), step.cursor) {
                (Some(row), Some(last)) => plan.q.row_id(row).map(|first| (first, last)),
                _ => None,
            };
            head.extend(step.pages.into_iter().map(Ok));
            let mut tail: BoxStream<'static, Result<Vec<Value>, Error>> = stream::empty().boxed();
            match (step.error, step.top, span) {
                (Some(e), _, _) => head.push(Err(fetch_failed(e, delivered))),
                _ if step.ended => {}
                (None, Some(top), Some((first, last))) => {
                    let cursor = step.cursor.unwrap_or(last);
                    tail = window_stream(transport.clone(), plan.clone(), cursor, top, first, last, delivered);
                }
                // Held back before the windows could be sized: go on as one chain.
                (None, _, _) => {
                    let rest = Plan { start: step.cursor, ..plan.clone() };
                    tail = single_chain(transport.clone(), rest);
                }
            }
            stream::iter(head).chain(tail)
        })
        .boxed()
}

/// The windows of an export in flight and finished.
struct Windows<F> {
    running: FuturesUnordered<F>,
    /// Finished windows by index, waiting for the ones before them.
    done: BTreeMap<usize, (Vec<Vec<Value>>, Option<Error>)>,
    /// The index of the window to yield next.
    next: usize,
    /// Where the next window to start begins, and its index.
    lo: u64,
    index: usize,
    stop: bool,
    delivered: u64,
}

/// Windows after `cursor` up to `top`, `chains` at once, yielded in order.
fn window_stream(
    transport: Transport,
    plan: Plan,
    cursor: u64,
    top: u64,
    first: u64,
    last: u64,
    delivered: u64,
) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    // A window should end inside one batch (a page short of full leaves room for the data's
    // unevenness), and the windows should come in whole rounds of `chains`, so that the last
    // round keeps every worker busy. Rows per id from the first page: (n - 1) gaps over its
    // id span, the unbiased estimate.
    let target = ((PAGES_PER_BATCH - 1) * PAGE) as f64;
    let density = if delivered > 1 && last > first {
        ((delivered - 1) as f64 / (last - first) as f64).min(1.0)
    } else {
        (delivered as f64 / ((last - first + 1) as f64)).clamp(1e-9, 1.0)
    };
    let limit = plan.end.map_or(top + 1, |e| e.min(top + 1));
    let chains = plan.q.chains;
    let remaining = density * limit.saturating_sub(cursor + 1) as f64;
    let rounds = (remaining / (target * chains as f64)).ceil().max(1.0);
    let even = (remaining / (rounds * chains as f64)).clamp(PAGE as f64, target);
    // The windows of every round but the last are one size and the last round's another, chosen
    // near `even` so that each is expected to end well inside its last page (see `pages_for`);
    // a window ending near a page boundary would waste a page or need another request.
    let early = (rounds as usize - 1) * chains;
    let per_lane = even * rounds;
    let size = sizes(per_lane, rounds as usize, even, target);
    let width = ((size / density).ceil() as u64).max(1);
    let lo_last = (cursor + 1).saturating_add(width.saturating_mul(early as u64)).min(limit);
    let last_width = limit.saturating_sub(lo_last).div_ceil(chains as u64).max(1);
    let mut lo = cursor + 1;
    // A new window starts as soon as any finishes; finished windows wait in `done` until their
    // turn, so pages still come out in id order. At most `in_flight` windows run and `chains`
    // wait, which bounds memory.
    // As many windows again as `chains` wait in the portal's queue, so that a worker freed
    // while this client is still reading an answer starts the next window at once.
    let in_flight = 2 * chains;
    let mut index = 0usize;
    let mut running = FuturesUnordered::new();
    let schedule = move |lo: &mut u64, index: &mut usize, running: &mut FuturesUnordered<_>, waiting: usize| {
        while running.len() < in_flight && waiting < chains && *lo < limit {
            let end = (*lo + if *index < early { width } else { last_width }).min(limit);
            let fetch = window(transport.clone(), plan.clone(), Some(*lo - 1), end, density);
            let i = *index;
            running.push(async move { (i, fetch.await) });
            *index += 1;
            *lo = end;
        }
    };
    schedule(&mut lo, &mut index, &mut running, 0);
    let state = Windows { running, done: BTreeMap::new(), next: 0, lo, index, stop: false, delivered };
    stream::unfold((state, schedule), |(mut s, schedule)| async move {
        if s.stop {
            return None;
        }
        let (pages, error) = loop {
            if let Some(finished) = s.done.remove(&s.next) {
                s.next += 1;
                break finished;
            }
            let (i, finished) = s.running.next().await?;
            s.done.insert(i, finished);
            if s.done.values().all(|(_, e)| e.is_none()) {
                schedule(&mut s.lo, &mut s.index, &mut s.running, s.done.len());
            }
        };
        let mut items: Vec<Result<Vec<Value>, Error>> = Vec::with_capacity(pages.len() + 1);
        for page in pages {
            s.delivered += page.len() as u64;
            items.push(Ok(page));
        }
        if let Some(e) = error {
            items.push(Err(fetch_failed(e, s.delivered)));
            s.stop = true;
        } else {
            schedule(&mut s.lo, &mut s.index, &mut s.running, s.done.len());
        }
        Some((stream::iter(items), (s, schedule)))
    })
    .flatten()
    .boxed()
}
