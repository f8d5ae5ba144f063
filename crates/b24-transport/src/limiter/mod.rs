//! The state behind the two client-side limiters, behind small traits so that a shared store
//! (Redis, for several processes) can replace the in-process default.
//!
//! - [`BucketStore`]: the request-rate leaky bucket, mirroring the portal's (per source IP, v2
//!   and v3 counted together).
//! - [`OperatingStore`]: each method's operating time, from the `time` block of answers.

mod bucket;
mod operating;
mod operating_limiter;

use std::time::Duration;

use b24_errors::Error;
use futures::future::BoxFuture;

pub use bucket::{BucketConfig, LocalBucket};
pub use operating::{LocalOperating, OperatingConfig};
pub use operating_limiter::{OperatingLimiter, OperatingPermit, method_key};

/// The request-rate bucket's state.
///
/// The portal counts a request when it *arrives* and drains its counter only while it is not
/// empty, so a client cannot know the portal's level exactly. A store keeps a provable upper
/// bound instead: every request sent and not yet answered counts in full, and an answered one
/// counts from its answer (it arrived no later than that) and drains from there.
pub trait BucketStore: Send + Sync + 'static {
    /// Wait until one more request may be sent, and count it as in flight; how long it waited
    /// for the bucket (zero when the slot was free).
    fn acquire(&self) -> BoxFuture<'_, Result<Duration, Error>>;
    /// The request counted by [`BucketStore::acquire`] finished: answered (`refused` when the
    /// answer was `QUERY_LIMIT_EXCEEDED`), failed, or abandoned.
    fn on_answer(&self, refused: bool);
}

/// What one answer said about its method's operating time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingReport {
    /// Seconds of the method's budget used in the window (portal seconds).
    pub operating: f64,
    /// Real time until the oldest basket drops out, if the portal said.
    pub reset_in: Option<Duration>,
    /// This call's handler time (portal seconds).
    pub processing: Option<f64>,
}

/// Whether a call of a method may go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it (it now counts as in flight until [`OperatingStore::finish`]).
    Go,
    /// Ask again after this long.
    Wait(Duration),
}

/// Each method's operating-time state.
pub trait OperatingStore: Send + Sync + 'static {
    /// May a call of `method` go now?
    fn admit<'a>(&'a self, method: &'a str) -> BoxFuture<'a, Result<Admission, Error>>;
    /// An admitted call of `method` finished, with what its answer reported.
    fn finish(&self, method: &str, report: Option<OperatingReport>);
    /// An answer reported `method`'s operating time without a call of it having been admitted
    /// (a batch's `result_time` for one of its commands).
    fn observe(&self, method: &str, report: OperatingReport);
    /// The portal answered `OPERATION_TIME_LIMIT` for `method`.
    fn on_blocked(&self, method: &str);
    /// The last reported operating time per method (portal seconds), for statistics.
    fn snapshot(&self) -> Vec<(String, f64)>;
}
