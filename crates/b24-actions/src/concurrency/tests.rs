//! The controller's decisions against a simulated portal in paused time: `workers` permits,
//! each request holding one for its handler time, the `time` block reported as the emulator
//! and the portal report it.

use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;
use tokio::time::sleep;

use super::*;

const NETWORK: Duration = Duration::from_millis(2);

#[derive(Clone)]
struct Portal {
    workers: Arc<Semaphore>,
    epoch: Instant,
}

impl Portal {
    fn new(workers: usize) -> Portal {
        Portal { workers: Arc::new(Semaphore::new(workers)), epoch: Instant::now() }
    }

    /// One request: half the network, a worker for `processing`, the other half, and
    /// `client_delay` the client takes to read the answer (inside the round trip).
    async fn serve(self, processing: Duration, client_delay: Duration, refused: bool) -> Answer {
        let sent = Instant::now();
        sleep(NETWORK / 2).await;
        let finish = {
            let _worker = self.workers.acquire().await.expect("open");
            sleep(processing).await;
            self.epoch.elapsed().as_secs_f64()
        };
        sleep(NETWORK / 2 + client_delay).await;
        Answer {
            finish: Some(finish),
            processing: Some(processing.as_secs_f64()),
            round_trip: Some(sent.elapsed()),
            load_refusals: u32::from(refused),
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
struct Trace {
    elapsed: Duration,
    most_in_flight: usize,
    /// `lanes()` after each answer.
    lanes: Vec<usize>,
}

/// `requests` requests of `processing` each, keeping `limit()` in flight.
async fn run(
    controller: &mut Controller,
    portal: &Portal,
    requests: usize,
    processing: Duration,
    client_delay: impl Fn(usize) -> Duration,
) -> Trace {
    let started = Instant::now();
    let mut trace = Trace::default();
    let mut running = FuturesUnordered::new();
    let mut sent = 0;
    loop {
        while sent < requests && running.len() < controller.limit() {
            let ticket = controller.start();
            let answer = portal.clone().serve(processing, client_delay(sent), false);
            running.push(async move { (ticket, answer.await) });
            sent += 1;
            trace.most_in_flight = trace.most_in_flight.max(running.len());
        }
        let Some((ticket, answer)) = running.next().await else { break };
        controller.finish(ticket, Some(&answer), Instant::now());
        trace.lanes.push(controller.lanes());
    }
    trace.elapsed = started.elapsed();
    trace
}

fn adaptive() -> Controller {
    Controller::new(Concurrency::default())
}

const P: Duration = Duration::from_millis(100);

#[tokio::test(start_paused = true)]
async fn finds_the_workers_of_a_portal_below_the_cap() {
    for workers in [1usize, 2, 3, 5, 8, 12] {
        let portal = Portal::new(workers);
        let mut c = adaptive();
        let trace = run(&mut c, &portal, 240, P, |_| Duration::ZERO).await;
        assert_eq!(c.lanes(), workers, "{workers} workers: {:?}", trace.lanes);
        assert!(c.limit() <= workers + workers.div_ceil(4), "{workers}: limit {}", c.limit());
        // The portal was kept busy: within 10 % of its own bound (the ramp and 2 % of network per request included).
        let bound = P * 240 / workers as u32;
        assert!(
            trace.elapsed <= bound.mul_f64(1.10),
            "{workers} workers: {:?} for a bound of {bound:?}",
            trace.elapsed
        );
        assert!(trace.most_in_flight <= DEFAULT_MAX);
    }
}

#[tokio::test(start_paused = true)]
async fn a_bigger_portal_gets_the_cap_and_never_more() {
    let portal = Portal::new(32);
    let mut c = adaptive();
    let trace = run(&mut c, &portal, 320, P, |_| Duration::ZERO).await;
    assert_eq!(c.lanes(), DEFAULT_MAX);
    assert_eq!(trace.most_in_flight, DEFAULT_MAX);
    let bound = P * 320 / DEFAULT_MAX as u32;
    assert!(trace.elapsed <= bound.mul_f64(1.10), "{:?} for {bound:?}", trace.elapsed);
    let mut capped = Controller::new(Concurrency::adaptive(4));
    let trace = run(&mut capped, &portal, 40, P, |_| Duration::ZERO).await;
    assert_eq!((capped.lanes(), trace.most_in_flight), (4, 4), "a lower cap holds too");
}

#[tokio::test(start_paused = true)]
async fn slow_start_doubles_each_round_trip_then_the_first_limit_holds() {
    let portal = Portal::new(48);
    let mut c = Controller::new(Concurrency::adaptive(64));
    assert_eq!((c.lanes(), c.limit()), (INITIAL_LANES, INITIAL_LANES), "starts at the portal's default");
    let trace = run(&mut c, &portal, 8, P, |_| Duration::ZERO).await;
    assert_eq!(trace.lanes.last(), Some(&16), "one round without queueing doubles: {:?}", trace.lanes);
    let trace = run(&mut c, &portal, 16, P, |_| Duration::ZERO).await;
    assert_eq!(trace.lanes.last(), Some(&32));
    // The next round asks for 64 at once: the portal runs 48 and queues 16.
    run(&mut c, &portal, 64 + 32, P, |_| Duration::ZERO).await;
    assert!(!c.discovering());
    assert_eq!(c.lanes(), 48, "the parallelism the portal showed");
    assert_eq!(c.limit(), 60, "and a quarter more queued ahead");
}

#[tokio::test(start_paused = true)]
async fn a_single_worker_portal_is_no_slower_than_one_request_at_a_time() {
    let portal = Portal::new(1);
    let mut c = adaptive();
    let trace = run(&mut c, &portal, 100, P, |_| Duration::ZERO).await;
    let sequential = (P + NETWORK) * 100;
    assert!(trace.elapsed <= sequential.mul_f64(1.05), "{:?} against {sequential:?}", trace.elapsed);
    assert_eq!((c.lanes(), c.limit()), (1, 2), "one at the portal, one queued ahead");
}

#[tokio::test(start_paused = true)]
async fn the_clients_own_delays_are_not_taken_for_queueing() {
    // The client reads some answers late (a busy machine): up to 20 % of the handler time.
    let portal = Portal::new(32);
    let mut c = adaptive();
    let delay = |i: usize| Duration::from_millis((i * 7919 % 21) as u64);
    let trace = run(&mut c, &portal, 400, P, delay).await;
    assert_eq!(c.lanes(), DEFAULT_MAX, "{:?}", trace.lanes);
    assert!(trace.lanes.iter().skip(16).all(|&l| l >= DEFAULT_MAX - 1), "{:?}", trace.lanes);
}

#[tokio::test(start_paused = true)]
async fn fewer_workers_mid_run_are_found_again() {
    let portal = Portal::new(8);
    let mut c = adaptive();
    run(&mut c, &portal, 80, P, |_| Duration::ZERO).await;
    assert_eq!(c.lanes(), 8);
    // Another client takes four workers for good.
    let taken = portal.workers.clone().acquire_many_owned(4).await.expect("open");
    run(&mut c, &portal, 80, P, |_| Duration::ZERO).await;
    assert_eq!(c.lanes(), 4);
    drop(taken);
    // And given back, they are found again (one lane per round trip: 40 rounds).
    run(&mut c, &portal, 400, P, |_| Duration::ZERO).await;
    assert_eq!(c.lanes(), 8);
}

#[tokio::test(start_paused = true)]
async fn refusals_halve_the_lanes_once_per_round_trip() {
    let portal = Portal::new(32);
    let mut c = adaptive();
    run(&mut c, &portal, 64, P, |_| Duration::ZERO).await;
    assert_eq!(c.lanes(), 16);
    // A whole round refused together: one halving, not one per answer.
    let answers: Vec<Answer> =
        futures::future::join_all((0..16).map(|_| portal.clone().serve(P, Duration::ZERO, true))).await;
    for answer in &answers {
        let ticket = c.start();
        c.finish(ticket, Some(answer), Instant::now());
    }
    assert_eq!(c.lanes(), 8);
    assert!(!c.discovering());
    sleep(P * 2).await;
    let answer = portal.clone().serve(P, Duration::ZERO, true).await;
    let ticket = c.start();
    c.finish(ticket, Some(&answer), Instant::now());
    assert_eq!(c.lanes(), 4, "a round trip later, another refusal halves again");
    for _ in 0..10 {
        sleep(P * 2).await;
        let ticket = c.start();
        c.finish(ticket, Some(&answer), Instant::now());
    }
    assert_eq!((c.lanes(), c.limit()), (1, 2), "never below one lane");
}

#[tokio::test(start_paused = true)]
async fn fixed_lanes_do_not_move() {
    let portal = Portal::new(2);
    let mut c = Controller::new(Concurrency::fixed(4));
    let trace = run(&mut c, &portal, 40, P, |_| Duration::ZERO).await;
    assert_eq!((c.lanes(), c.limit(), trace.most_in_flight), (4, 8, 8));
    assert!(!c.discovering());
}

#[tokio::test(start_paused = true)]
async fn answers_without_timing_change_nothing() {
    let mut c = adaptive();
    for _ in 0..20 {
        let ticket = c.start();
        c.finish(ticket, Some(&Answer::default()), Instant::now());
        let ticket = c.start();
        c.finish(ticket, None, Instant::now());
    }
    assert_eq!((c.lanes(), c.limit()), (INITIAL_LANES, INITIAL_LANES));
}

#[test]
fn overlaps() {
    let v = |x: &[(f64, f64)]| max_overlap(&x.iter().copied().collect());
    assert_eq!(v(&[]), 0);
    assert_eq!(v(&[(0.0, 1.0), (1.0, 2.0)]), 1, "touching is not overlapping");
    assert_eq!(v(&[(0.0, 2.0), (1.0, 3.0), (1.5, 1.7), (2.5, 4.0)]), 3);
}
