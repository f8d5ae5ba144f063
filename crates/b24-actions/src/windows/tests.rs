//! How [`Cut`] plans the windows of a range: the windows `fill` would start, in order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;

/// The standard bucket's ceiling (50 less its margin of 2).
const BURST: usize = 48;

/// The windows (in ids) that `fill` starts from `cut` over `[lo, limit)`, in order.
fn windows(mut cut: Cut, mut lo: u64, limit: u64) -> Vec<u64> {
    let mut out = Vec::new();
    while lo < limit {
        let end = lo.saturating_add(cut.next()).min(limit);
        out.push(end - lo);
        lo = end;
    }
    out
}

/// When the last window ends if each goes, in order, to the lane free first and takes as long
/// as its rows (the portal's workers taking queued requests in order).
fn makespan(windows: &[u64], lanes: usize) -> u64 {
    let mut free: BinaryHeap<Reverse<u64>> = (0..lanes).map(|_| Reverse(0)).collect();
    let mut end = 0;
    for &w in windows {
        let Reverse(at) = free.pop().unwrap_or(Reverse(0));
        end = end.max(at + w);
        free.push(Reverse(at + w));
    }
    end
}

#[test]
fn two_rounds_past_the_burst_are_cut_to_the_burst() {
    // 99,950 rows, one per id, after the probe, on 32 fixed lanes: two rounds of 32 windows
    // would be 64 requests where the bucket lets 48 go at once.
    let (lo, limit) = (51, 100_001);
    let planned = windows(Cut::new(32, lo, limit, 1.0, Some(BURST)), lo, limit);
    assert!(planned.len() <= BURST, "{} windows: {planned:?}", planned.len());
    assert!(planned.len() > 32, "more than one round: {planned:?}");
    assert_eq!(planned.iter().sum::<u64>(), limit - lo);
    for &w in &planned {
        assert!(w as f64 <= TARGET && pages_for(w as f64) <= PAGES_PER_BATCH, "{w} rows is one request: {planned:?}");
    }
    // Close to the rows spread evenly over the lanes (pages cannot be split across requests).
    let even = (limit - lo) as f64 / 32.0;
    let ratio = makespan(&planned, 32) as f64 / even;
    assert!(ratio <= 1.25, "{ratio:.3} x the even spread: {planned:?}");
    // Each window but the last ends half a page into its last page.
    for &w in &planned[..planned.len() - 1] {
        assert_eq!(w % PAGE as u64, PAGE as u64 / 2, "{planned:?}");
    }
}

#[test]
fn rounds_within_the_burst_or_too_big_for_it_stay_as_they_were() {
    let (lo, limit) = (51, 100_001);
    let cases = [
        // 16 lanes: three rounds of 16 (48 requests) fit the burst.
        (16, limit, Some(BURST)),
        // No bucket: nothing to fit.
        (32, limit, None),
        // 99,950 rows do not fit in 40 windows.
        (32, limit, Some(40)),
        // Two rounds of 8 fit.
        (8, 30_001, Some(BURST)),
        // Three rounds of 32: more rows than the burst holds.
        (32, 200_001, Some(BURST)),
    ];
    for (lanes, limit, budget) in cases {
        let with = windows(Cut::new(lanes, lo, limit, 1.0, budget), lo, limit);
        let without = windows(Cut::new(lanes, lo, limit, 1.0, None), lo, limit);
        assert_eq!(with, without, "{lanes} lanes, {limit}, {budget:?}");
        assert_eq!(with.len() % lanes, 0, "whole rounds: {with:?}");
    }
}

#[test]
fn the_burst_cut_follows_the_density() {
    // Half the ids hold a row: windows twice as wide, the same count.
    let (lo, limit) = (101, 200_001);
    let planned = windows(Cut::new(32, lo, limit, 0.5, Some(BURST)), lo, limit);
    assert!(planned.len() <= BURST && planned.len() > 32, "{planned:?}");
    assert!(planned.iter().all(|&w| pages_for(w as f64 * 0.5) <= PAGES_PER_BATCH), "{planned:?}");
}
