//! The fast export's parallel id windows: after a probe (the highest id and the first page, two
//! requests at once), the id range is cut into windows in whole rounds of `chains`, each fetched
//! as one batch of chained pages bounded by `<ID`. `chains` windows run at once and as many again
//! wait in the portal's queue, so that a portal worker freed while this client reads an answer
//! starts the next window at once; a new window starts as soon as any finishes, and pages still
//! come out in id order (at most `3 x chains` windows in memory).
//!
//! Each window is sized to end in the middle of its last page and each chain to the rows still
//! expected: a page asked for past the short one is served at full cost (the broken reference
//! reads from the start again), and a page too few costs another request.

use std::collections::BTreeMap;

use b24_errors::Error;
use b24_transport::Transport;
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use serde_json::Value;

use crate::fetch_v2::{
    MAX_BLOCKED, PAGE, PAGES_PER_BATCH, Plan, blocked_too_often, fetch_failed, run_chain, single_chain,
};

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

/// The export with parallel windows: the probe, then [`window_stream`] (or one chain when the
/// probe could not size the windows).
pub(crate) fn windows(transport: Transport, plan: Plan) -> BoxStream<'static, Result<Vec<Value>, Error>> {
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
