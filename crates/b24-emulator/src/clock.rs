//! The emulator's two clocks: the model's virtual time (real time divided by the time scale),
//! in which the limits and the cost model run, and the wall clock every reported time is in.
//!
//! With a time scale of 0.1, one real second is ten virtual seconds: handler times sleep a
//! tenth as long, the bucket drains ten times as fast and the operating window is a tenth as
//! long. What the portal reports (`server.time`, `time.*`, `operating`, `operating_reset_at`,
//! token `expires`/`expires_in`) is real wall-clock seconds (spec section 9), so that a client
//! whose limits are scaled the same way reads consistent figures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Virtual time.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    start: Instant,
    start_unix: f64,
    scale: f64,
}

impl Clock {
    pub(crate) fn new(scale: f64) -> Clock {
        let start_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        Clock { start: Instant::now(), start_unix, scale }
    }

    /// Virtual unix seconds now (the model's time; equal to the wall clock at start).
    pub(crate) fn now(&self) -> f64 {
        self.start_unix + self.start.elapsed().as_secs_f64() / self.scale
    }

    /// The wall-clock unix seconds of a virtual instant.
    pub(crate) fn wall(&self, virtual_unix: f64) -> f64 {
        self.start_unix + (virtual_unix - self.start_unix) * self.scale
    }

    /// A virtual span in real seconds.
    pub(crate) fn real_secs(&self, virtual_secs: f64) -> f64 {
        virtual_secs * self.scale
    }

    /// The real duration of `virtual_secs` virtual seconds.
    pub(crate) fn real(&self, virtual_secs: f64) -> Duration {
        Duration::from_secs_f64((virtual_secs * self.scale).max(0.0))
    }
}

/// ISO 8601 with offset (UTC) for unix seconds, as the portal's `date_start`.
pub(crate) fn iso8601(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_700_000_000.5), "2023-11-14T22:13:20+00:00");
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_time() {
        let clock = Clock::new(0.1);
        let t0 = clock.now();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((clock.now() - t0 - 10.0).abs() < 1e-6);
        assert_eq!(clock.real(10.0), Duration::from_secs(1));
        let wall = clock.wall(clock.now());
        assert!((wall - clock.wall(t0) - 1.0).abs() < 1e-6, "the wall clock ran one second");
        assert!((clock.real_secs(480.0) - 48.0).abs() < 1e-9);
    }
}
