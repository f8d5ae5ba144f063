//! The progress bar of `export` (and of any command that moves rows): rows so far, rows per
//! second as a whole number, and — when the total is known — a percentage and an ETA taken from
//! the average rate since the start (indicatif's own estimate swings wildly over the first
//! pages, which arrive in bursts of 2,500 rows).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::output::thousands;

/// Rows per second since the start, or `None` before there is a meaningful figure.
fn rate(state: &ProgressState) -> Option<f64> {
    let elapsed = state.elapsed().as_secs_f64();
    (elapsed >= 0.5 && state.pos() > 0).then(|| state.pos() as f64 / elapsed)
}

fn write_rate(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = match rate(state) {
        Some(r) => write!(w, "{}/s", thousands(r.round() as u64)),
        None => write!(w, "…/s"),
    };
}

fn write_eta(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let remaining = state.len().map(|len| len.saturating_sub(state.pos()));
    let _ = match (rate(state), remaining) {
        (Some(r), Some(left)) if r > 0.0 => write!(w, "{}", clock(Duration::from_secs_f64(left as f64 / r))),
        _ => write!(w, "…"),
    };
}

fn write_pos(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{}", thousands(state.pos()));
}

fn write_len(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{}", thousands(state.len().unwrap_or(0)));
}

/// `1h02m`, `3m05s`, `12s`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A bar for `total` rows, or a spinner when the total is unknown.
pub fn rows_bar(total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(len) => (ProgressBar::new(len), "{bar:40} {rows}/{total} rows {percent}% ({rate}, eta {eta_avg})"),
        None => (ProgressBar::new_spinner(), "{spinner} {rows} rows ({rate}) {elapsed}"),
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rows", |s: &ProgressState, w: &mut dyn std::fmt::Write| write_pos(s, w))
        .with_key("total", |s: &ProgressState, w: &mut dyn std::fmt::Write| write_len(s, w))
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| write_rate(s, w))
        .with_key("eta_avg", |s: &ProgressState, w: &mut dyn std::fmt::Write| write_eta(s, w));
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_short_and_whole() {
        assert_eq!(clock(Duration::from_secs(12)), "12s");
        assert_eq!(clock(Duration::from_secs(185)), "3m05s");
        assert_eq!(clock(Duration::from_secs(3720)), "1h02m");
    }
}
