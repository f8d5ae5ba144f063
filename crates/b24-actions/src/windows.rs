//! The fast export's parallel id windows: after a probe (the highest id and the first page, two
//! requests at once), the id range is cut into windows, each fetched as one batch of chained
//! pages bounded by `<ID`, and pages still come out in id order.
//!
//! How many windows run at once is the adaptive controller's call (`crate::concurrency`): the lanes
//! the portal serves, plus a few queued ahead so that a worker freed while this client reads an
//! answer starts the next window at once. While the controller is still finding the portal's
//! parallelism, the first windows are one page each (an answer comes back in one page's time);
//! after that the rest of the range is cut in whole rounds of the lanes, so that the last round
//! keeps every worker busy, and cut again whenever the lanes change. When two such rounds would
//! be more requests than the bucket lets go at once, the range is cut into just that many
//! windows instead (see `Cut::within_burst`).
//!
//! Each window is sized to end in the middle of its last page and each chain to the rows still
//! expected: a page asked for past the short one is served at full cost (the broken reference
//! reads from the start again), and a page too few costs another request.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use b24_errors::Error;
use b24_transport::Transport;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use serde_json::Value;
use tokio::time::Instant;

use crate::concurrency::Controller;
use crate::fetch_v2::{
    MAX_BLOCKED, PAGE, PAGES_PER_BATCH, Plan, Step, blocked_too_often, fetch_failed, run_chain, single_chain,
};

type Shared = Arc<Mutex<Controller>>;
/// What a window brought: its pages, and the error that stopped it.
type Fetched = (Vec<Vec<Value>>, Option<Error>);

fn control<T>(controller: &Shared, f: impl FnOnce(&mut Controller) -> T) -> T {
    f(&mut controller.lock().unwrap_or_else(PoisonError::into_inner))
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

/// One chain (one request), counted by the controller while it is out.
async fn measured_chain(
    transport: &Transport,
    plan: &Plan,
    controller: &Shared,
    cursor: Option<u64>,
    end: Option<u64>,
    top: bool,
    pages: usize,
) -> Step {
    let ticket = control(controller, Controller::start);
    let step = run_chain(transport, plan, cursor, end, top, pages).await;
    control(controller, |c| c.finish(ticket, step.answer.as_ref(), Instant::now()));
    step
}

/// All pages of the id window `(cursor, end)`, fetched chain after chain, each chain as long as
/// the rows still expected in the window need (`density`: rows per id).
async fn window(
    transport: Transport,
    plan: Plan,
    controller: Shared,
    mut cursor: Option<u64>,
    end: u64,
    density: f64,
) -> Fetched {
    let mut pages = Vec::new();
    let mut blocked = 0;
    loop {
        let from = cursor.map_or(0, |c| c + 1);
        let length = pages_for(density * end.saturating_sub(from) as f64);
        let step = measured_chain(&transport, &plan, &controller, cursor, Some(end), false, length).await;
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

/// The export with parallel windows: the probe, then [`window_stream`] (or one chain when the
/// probe could not size the windows).
pub(crate) fn windows(transport: Transport, plan: Plan) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    let controller: Shared = Arc::new(Mutex::new(Controller::new(plan.q.concurrency)));
    // The probe: the highest id and the first page, from which the windows are sized, as two
    // requests at once (neither waits for the other at the portal).
    let first = {
        let (transport, plan, controller) = (transport.clone(), plan.clone(), controller.clone());
        async move {
            let (top, mut first) = futures::join!(
                measured_chain(&transport, &plan, &controller, plan.start, None, true, 0),
                measured_chain(&transport, &plan, &controller, plan.start, None, false, 1),
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
                (Some(e), _, _) => head.push(Err(fetch_failed(&plan.q.method, e, delivered))),
                _ if step.ended => {}
                (None, Some(top), Some((first, last))) => {
                    let range = Range { cursor: step.cursor.unwrap_or(last), top, first, last, delivered };
                    tail = window_stream(transport.clone(), plan.clone(), controller.clone(), range);
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

/// What the probe found.
struct Range {
    /// The last id delivered.
    cursor: u64,
    /// The highest id.
    top: u64,
    /// The first and last ids of the first page, and the rows delivered.
    first: u64,
    last: u64,
    delivered: u64,
}

/// Rows per id `density` over `rows`: the width of a window in ids (at least one).
fn ids(rows: f64, density: f64) -> u64 {
    ((rows / density).ceil() as u64).max(1)
}

/// How the rest of the range is cut for `lanes` lanes: the widths (in ids) of the windows to
/// start, in order.
struct Cut {
    lanes: usize,
    widths: VecDeque<u64>,
    /// The width of any window past the planned ones (the estimate came out low).
    rest: u64,
}

/// The rows a window should hold (a page short of a full batch leaves room for the data's
/// unevenness).
const TARGET: f64 = ((PAGES_PER_BATCH - 1) * PAGE) as f64;
/// The rows of a full window when windows are few (`Cut::within_burst`): half a page short of
/// [`TARGET`], so that it ends inside its last page.
const FULL: f64 = TARGET - PAGE as f64 / 2.0;

impl Cut {
    /// Cut `[lo, limit)` (`density` rows per id) in whole rounds of `lanes` windows, each
    /// expected to end well inside its last page (see `pages_for`): a window ending near a
    /// page boundary would waste a page or need another request. Over several rounds the
    /// windows of every round but the last are one size and the last round's another, chosen
    /// near the even size ([`sizes`]); a single round mixes two sizes half a page either side
    /// of a page boundary. `budget`: the requests the bucket lets go at once, if it is known.
    fn new(lanes: usize, lo: u64, limit: u64, density: f64, budget: Option<usize>) -> Cut {
        let ids = |rows: f64| ids(rows, density);
        let remaining = density * limit.saturating_sub(lo) as f64;
        let rounds = (remaining / (TARGET * lanes as f64)).ceil().max(1.0);
        if let Some(cut) =
            budget.filter(|_| rounds == 2.0).and_then(|b| Cut::within_burst(lanes, b, remaining, density))
        {
            return cut;
        }
        let even = (remaining / (rounds * lanes as f64)).clamp(PAGE as f64, TARGET);
        let mut widths = VecDeque::with_capacity(rounds as usize * lanes);
        if rounds >= 2.0 {
            let early = (rounds as usize - 1) * lanes;
            let width = ids(sizes(even * rounds, rounds as usize, even, TARGET));
            widths.extend(std::iter::repeat_n(width, early));
            let lo_last = lo.saturating_add(width.saturating_mul(early as u64)).min(limit);
            let last = limit.saturating_sub(lo_last).div_ceil(lanes as u64).max(1);
            widths.extend(std::iter::repeat_n(last, lanes));
        } else {
            let half = PAGE as f64 / 2.0;
            let small = (((even - half) / PAGE as f64).floor() * PAGE as f64 + half).max(half);
            let large = small + PAGE as f64;
            let smalls = ((lanes as f64 * large - remaining) / PAGE as f64).round().clamp(0.0, lanes as f64) as usize;
            widths.extend(std::iter::repeat_n(ids(large), lanes - smalls));
            widths.extend(std::iter::repeat_n(ids(small), smalls));
        }
        let rest = limit.saturating_sub(lo).div_ceil(lanes as u64 * rounds as u64).max(1);
        Cut { lanes, widths, rest }
    }

    /// Two rounds of `lanes` windows when `2 * lanes` requests are more than the bucket lets go
    /// at once (`budget`): the second round starts as soon as the first is answered, long before
    /// the bucket drains the rest (2 requests a second on standard plans), so the windows past
    /// the burst would wait for it. When the rows fit in `budget` windows of [`FULL`] rows, cut
    /// exactly that many: `lanes - extra` lanes get one full window and `extra` lanes two
    /// smaller ones sharing what is left (each ending half a page into its last page), the
    /// full ones first, so that the second windows go to the lanes that finish first. `None`:
    /// the two rounds fit the burst, or the rows do not fit in it.
    fn within_burst(lanes: usize, budget: usize, remaining: f64, density: f64) -> Option<Cut> {
        if budget >= 2 * lanes || remaining > budget as f64 * FULL {
            return None;
        }
        // More than a round of full windows is needed (two rounds were planned), so the rows
        // fitting in `budget` windows means `budget > lanes`.
        let extra = budget.checked_sub(lanes).filter(|&e| e > 0)?;
        let singles = lanes - extra;
        let shared = (remaining - singles as f64 * FULL) / (2 * extra) as f64;
        // Rounded up to half a page past a page boundary: the last window takes what is left,
        // so the planned ones must not leave more than it can hold.
        let half = PAGE as f64 / 2.0;
        let pair = (((shared - half) / PAGE as f64).ceil() * PAGE as f64 + half).clamp(half, FULL);
        let mut widths = VecDeque::with_capacity(budget);
        widths.extend(std::iter::repeat_n(ids(FULL, density), singles));
        widths.extend(std::iter::repeat_n(ids(pair, density), 2 * extra));
        Some(Cut { lanes, widths, rest: ids(pair, density) })
    }

    /// The next window's width; the last planned one takes whatever is left of the range (a
    /// sliver past the planned windows would cost a request of its own at the end).
    fn next(&mut self) -> u64 {
        match self.widths.pop_front() {
            Some(_) if self.widths.is_empty() => u64::MAX,
            Some(width) => width,
            None => self.rest,
        }
    }
}

/// The windows of an export in flight and finished.
struct Windows {
    transport: Transport,
    plan: Plan,
    controller: Shared,
    running: FuturesUnordered<BoxFuture<'static, (usize, Fetched)>>,
    /// Finished windows by index, waiting for the ones before them.
    done: BTreeMap<usize, Fetched>,
    /// The index of the window to yield next.
    next: usize,
    /// Where the next window to start begins, where the range ends, and the next index.
    lo: u64,
    limit: u64,
    index: usize,
    density: f64,
    /// One-page windows still to start while the controller finds the portal's parallelism,
    /// and how many there are in all (the first indexes); the rest waits until they are back.
    discovery: usize,
    probes: usize,
    probes_back: usize,
    cut: Option<Cut>,
    stop: bool,
    delivered: u64,
}

impl Windows {
    /// Start windows while the controller allows more in flight and the finished ones waiting
    /// to be yielded are few (which bounds memory).
    fn fill(&mut self) {
        if self.done.values().any(|(_, e)| e.is_some()) {
            return;
        }
        loop {
            let (limit, lanes) = control(&self.controller, |c| (c.limit(), c.lanes()));
            if self.running.len() >= limit || self.done.len() >= limit || self.lo >= self.limit {
                return;
            }
            // The first answers of a round come back before the queued ones show a wait: the
            // windows sized by the lanes start once every one-page window is back.
            if self.discovery == 0 && self.probes_back < self.probes {
                return;
            }
            let width = if self.discovery > 0 {
                self.discovery -= 1;
                // A window expected to hold most of one page: one page's time at the portal.
                ((0.8 * PAGE as f64 / self.density).ceil() as u64).max(1)
            } else {
                if self.cut.as_ref().is_none_or(|c| c.lanes != lanes) {
                    // What the bucket lets go at once: its ceiling less this export's requests
                    // in flight (answered ones drain while the first windows run).
                    let in_flight = control(&self.controller, |c| c.in_flight());
                    let budget =
                        self.transport.config().bucket.map(|b| (b.ceiling() as usize).saturating_sub(in_flight));
                    self.cut = Some(Cut::new(lanes, self.lo, self.limit, self.density, budget));
                }
                self.cut.as_mut().map_or(1, Cut::next)
            };
            let end = self.lo.saturating_add(width).min(self.limit);
            tracing::trace!(target: "b24::export", window = self.index, from = self.lo, to = end, lanes, limit, "window");
            let fetch = window(
                self.transport.clone(),
                self.plan.clone(),
                self.controller.clone(),
                Some(self.lo - 1),
                end,
                self.density,
            );
            let i = self.index;
            self.running.push(Box::pin(async move { (i, fetch.await) }));
            self.index += 1;
            self.lo = end;
        }
    }
}

/// Windows after the probe up to the highest id, as many at once as the controller allows,
/// yielded in order.
fn window_stream(
    transport: Transport,
    plan: Plan,
    controller: Shared,
    range: Range,
) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    let Range { cursor, top, first, last, delivered } = range;
    // Rows per id from the first page: (n - 1) gaps over its id span, the unbiased estimate.
    let density = if delivered > 1 && last > first {
        ((delivered - 1) as f64 / (last - first) as f64).min(1.0)
    } else {
        (delivered as f64 / ((last - first + 1) as f64)).clamp(1e-9, 1.0)
    };
    let limit = plan.end.map_or(top + 1, |e| e.min(top + 1));
    let discovery = control(&controller, |c| if c.discovering() { c.limit() } else { 0 });
    let mut state = Windows {
        transport,
        plan,
        controller,
        running: FuturesUnordered::new(),
        done: BTreeMap::new(),
        next: 0,
        lo: cursor + 1,
        limit,
        index: 0,
        density,
        discovery,
        probes: discovery,
        probes_back: 0,
        cut: None,
        stop: false,
        delivered,
    };
    state.fill();
    stream::unfold(state, |mut s| async move {
        if s.stop {
            return None;
        }
        let (pages, error) = loop {
            if let Some(finished) = s.done.remove(&s.next) {
                s.next += 1;
                break finished;
            }
            let (i, finished) = s.running.next().await?;
            if i < s.probes {
                s.probes_back += 1;
            }
            s.done.insert(i, finished);
            s.fill();
        };
        let mut items: Vec<Result<Vec<Value>, Error>> = Vec::with_capacity(pages.len() + 1);
        for page in pages {
            s.delivered += page.len() as u64;
            items.push(Ok(page));
        }
        if let Some(e) = error {
            items.push(Err(fetch_failed(&s.plan.q.method, e, s.delivered)));
            s.stop = true;
        } else {
            s.fill();
        }
        Some((stream::iter(items), s))
    })
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests;
