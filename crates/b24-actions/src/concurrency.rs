//! Adaptive concurrency: how many requests an export or a bulk write keeps in flight, found from
//! the portal's own answers.
//!
//! A portal runs a fixed number of requests at once (its workers) and queues the rest. The
//! controller finds that number the way TCP Vegas finds a path's capacity, from timing rather
//! than from losses:
//!
//! - each answer's `time` block says when the portal finished the request (`finish`) and how long
//!   its handler ran (`processing`); the handler intervals `[finish - processing, finish]` of the
//!   recent answers show how many of this client's requests the portal *ran* at once;
//! - the wire's round trip less `processing` is the time the portal did not spend working on the
//!   request; beyond the least such time seen (the network and the client), the request *waited*
//!   in the portal's queue;
//! - an answer that waited while the portal ran fewer requests at once than the client had in
//!   flight means the portal is full: its parallelism (`lanes`) is what it ran, and the client
//!   keeps that many plus a quarter more queued ahead (`limit`), so that a worker freed while the
//!   client still reads an answer starts the next request at once;
//! - an answer that did not wait lets `lanes` grow by one until the first sign of a limit (slow
//!   start: doubling each round trip); after it, the lanes grow by one per round trip while the
//!   portal runs more of this client's requests at once than the lanes (the queue kept ahead
//!   did not queue), and hold otherwise;
//! - a refusal for load (`QUERY_LIMIT_EXCEEDED`, `OVERLOAD_LIMIT`, a 503, an attempt timeout)
//!   halves `lanes`, at most once per round trip.
//!
//! It starts at [`INITIAL_LANES`] (the portal's documented default worker count) and never goes
//! above the cap of [`Concurrency::Adaptive`] ([`DEFAULT_MAX`] unless set). The bucket and the
//! operating-time limiter below it stay in charge of the request rate: the controller only
//! decides how many requests are in flight. [`Concurrency::Fixed`] turns it off.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The default cap on requests in flight for adaptive concurrency.
pub const DEFAULT_MAX: usize = 16;
/// Where adaptive concurrency starts: the portal's documented default worker count.
pub const INITIAL_LANES: usize = 8;
/// The largest value `chains` and the cap accept.
pub const LIMIT: usize = 64;

/// An answer that waited longer than this share of its own handler time, beyond the least idle
/// time seen, waited in the portal's queue.
const WAIT_SHARE: f64 = 0.5;
/// An answer that waited longer than this share queued a little (behind the queue kept ahead
/// on purpose): the lanes hold rather than grow.
const HOLD_SHARE: f64 = 0.1;
/// Real time the client's own scheduling may add to a round trip without counting as a wait.
const CLIENT_NOISE: Duration = Duration::from_millis(2);
/// The start of each handler interval is trimmed by this share when intervals are overlapped:
/// a worker taking the next request the moment it finished one is not running two at once.
const TRIM: f64 = 0.1;
/// Handler times below this (seconds) say nothing about the portal's workers.
const MIN_PROCESSING: f64 = 0.000_5;

/// How many requests an operation keeps in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Found from the portal's answers (see the module docs), never above `max` in flight.
    Adaptive {
        /// The cap on requests in flight.
        max: usize,
    },
    /// Exactly this many lanes, and as many requests again queued ahead of them.
    Fixed(usize),
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency::Adaptive { max: DEFAULT_MAX }
    }
}

impl Concurrency {
    /// Adaptive, never above `max` requests in flight (1 to [`LIMIT`]).
    pub fn adaptive(max: usize) -> Concurrency {
        Concurrency::Adaptive { max: max.clamp(1, LIMIT) }
    }

    /// Exactly `lanes` lanes (1 to [`LIMIT`]).
    pub fn fixed(lanes: usize) -> Concurrency {
        Concurrency::Fixed(lanes.clamp(1, LIMIT))
    }
}

/// What the controller reads from one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Answer {
    /// `time.finish` (unix seconds).
    pub(crate) finish: Option<f64>,
    /// `time.processing` (seconds).
    pub(crate) processing: Option<f64>,
    /// The wire's round trip (real time).
    pub(crate) round_trip: Option<Duration>,
    /// Earlier attempts refused for load.
    pub(crate) load_refusals: u32,
}

impl Answer {
    /// What `response` says.
    pub(crate) fn of(response: &b24_transport::B24Response) -> Answer {
        let time = response.time();
        Answer {
            finish: time.and_then(|t| t.finish),
            processing: time.and_then(|t| t.processing),
            round_trip: response.round_trip(),
            load_refusals: response.load_refusals(),
        }
    }
}

/// A request the controller counts as in flight.
#[derive(Debug)]
#[must_use = "hand the ticket back with `Controller::finish`"]
pub(crate) struct Ticket {
    in_flight: usize,
    sent: u64,
    /// The lanes when it went out.
    lanes: usize,
}

/// The controller of one operation (see the module docs).
#[derive(Debug)]
pub(crate) struct Controller {
    mode: Concurrency,
    lanes: f64,
    slow_start: bool,
    in_flight: usize,
    /// Requests sent so far.
    sent: u64,
    /// Handler intervals of the recent answers (unix seconds).
    recent: VecDeque<(f64, f64)>,
    /// The least time the portal did not spend working on a request (seconds).
    idle_floor: Option<f64>,
    last_cut: Option<Instant>,
    last_round_trip: Duration,
}

impl Controller {
    /// A controller for `mode`.
    pub(crate) fn new(mode: Concurrency) -> Controller {
        let lanes = match mode {
            Concurrency::Adaptive { max } => INITIAL_LANES.min(max),
            Concurrency::Fixed(n) => n,
        };
        Controller {
            mode,
            lanes: lanes.max(1) as f64,
            slow_start: matches!(mode, Concurrency::Adaptive { .. }),
            in_flight: 0,
            sent: 0,
            recent: VecDeque::new(),
            idle_floor: None,
            last_cut: None,
            last_round_trip: Duration::ZERO,
        }
    }

    fn max(&self) -> usize {
        match self.mode {
            Concurrency::Adaptive { max } => max.max(1),
            Concurrency::Fixed(n) => 2 * n.max(1),
        }
    }

    /// The portal's parallelism as far as known: how many lanes to plan work for.
    pub(crate) fn lanes(&self) -> usize {
        (self.lanes.floor() as usize).clamp(1, self.max())
    }

    /// Requests to keep in flight: the lanes and a queue ahead of them (none while still
    /// growing from the start, where growing is the queue).
    pub(crate) fn limit(&self) -> usize {
        let lanes = self.lanes();
        match self.mode {
            Concurrency::Fixed(n) => 2 * n.max(1),
            Concurrency::Adaptive { .. } if self.slow_start => lanes,
            Concurrency::Adaptive { max } => (lanes + lanes.div_ceil(4)).min(max.max(1)),
        }
    }

    /// Whether the controller is still growing from its start, with no limit seen yet.
    pub(crate) fn discovering(&self) -> bool {
        self.slow_start
    }

    /// Requests of this operation in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// A request goes out.
    pub(crate) fn start(&mut self) -> Ticket {
        self.in_flight += 1;
        self.sent += 1;
        Ticket { in_flight: self.in_flight, sent: self.sent, lanes: self.lanes() }
    }

    /// A request came back: `answer` when it succeeded.
    pub(crate) fn finish(&mut self, ticket: Ticket, answer: Option<&Answer>, now: Instant) {
        // The most requests of ours in flight while this one was (at most): those in flight when
        // it went out and every one sent after it.
        let sent_after = usize::try_from(self.sent - ticket.sent).unwrap_or(usize::MAX);
        let peak = ticket.in_flight.saturating_add(sent_after);
        self.in_flight = self.in_flight.saturating_sub(1);
        let (Concurrency::Adaptive { max }, Some(answer)) = (self.mode, answer) else { return };
        if let Some(rt) = answer.round_trip {
            self.last_round_trip = rt;
        }
        if answer.load_refusals > 0 {
            self.cut(now);
            return;
        }
        let Some(round_trip) = answer.round_trip else { return };
        let processing = answer.processing.unwrap_or(0.0).max(0.0);
        if processing < MIN_PROCESSING {
            return;
        }
        if let Some(finish) = answer.finish {
            self.recent.push_back((finish - (1.0 - TRIM) * processing, finish));
            while self.recent.len() > 2 * max.max(4) {
                self.recent.pop_front();
            }
        }
        // The portal reports its times in real seconds (under a time scale too): the round trip
        // compares with them directly.
        let idle = (round_trip.as_secs_f64() - processing).max(0.0);
        let floor = *self.idle_floor.get_or_insert(idle);
        self.idle_floor = Some(floor.min(idle));
        let wait = idle - floor - CLIENT_NOISE.as_secs_f64();
        let waited = wait > WAIT_SHARE * processing;
        let ran = max_overlap(&self.recent);
        tracing::trace!(target: "b24::concurrency", wait, processing, ran, peak, lanes = self.lanes, "answer");
        if waited && ran > 0 && ran < peak {
            // The portal is full: it ran `ran` of ours at once and queued the rest.
            self.lanes = ran as f64;
            self.slow_start = false;
        } else if wait <= HOLD_SHARE * processing && peak >= ticket.lanes {
            // Before any limit, every answer that did not wait grows the lanes; after one, only
            // the portal running more of ours at once than the lanes (the queue kept ahead did
            // not queue) is a reason to grow.
            if self.slow_start {
                self.lanes = (self.lanes + 1.0).min(max as f64);
            } else if ran as f64 > self.lanes {
                self.lanes = (self.lanes + 1.0 / self.lanes).min(max as f64);
            }
        }
    }

    /// A refusal for load: halve the lanes, at most once per round trip.
    fn cut(&mut self, now: Instant) {
        if self.last_cut.is_some_and(|at| now.duration_since(at) < self.last_round_trip) {
            return;
        }
        self.lanes = (self.lanes / 2.0).max(1.0);
        self.slow_start = false;
        self.last_cut = Some(now);
    }
}

/// The most intervals that overlap at any moment.
fn max_overlap(intervals: &VecDeque<(f64, f64)>) -> usize {
    let mut edges: Vec<(f64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(start, end) in intervals {
        if end > start {
            edges.push((start, 1));
            edges.push((end, -1));
        }
    }
    // Ends before starts at the same moment: touching intervals do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most.max(0) as usize
}

#[cfg(test)]
mod tests;
