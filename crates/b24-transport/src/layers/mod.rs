//! One tower layer per concern, each in its own module, in the order the default stack puts
//! them (outermost first):
//!
//! | layer | module | what it does |
//! | --- | --- | --- |
//! | [`ConcurrencyCapLayer`] | `concurrency` | at most `max_concurrent` calls in flight |
//! | [`RetryLayer`] | `retry` | re-sends by the error's retry class, within budgets |
//! | [`TraceLayer`] | `trace` | one span per attempt: method, request id, attempt — never the URL or a credential |
//! | [`OperatingLayer`] | `operating` | holds a method back before it would cross its operating-time budget |
//! | [`RateLimitLayer`] | `rate_limit` | the client-side leaky bucket |
//! | [`AuthLayer`] | `auth` | attaches fresh credentials to each attempt; coalesced refresh on `expired_token` |
//! | [`TimeoutLayer`] | `timeout` | bounds each attempt |
//!
//! Every service is `Clone` (shared state sits in an `Arc`), waits inside `call` rather than in
//! `poll_ready`, and needs no `Buffer`.

mod auth;
mod concurrency;
mod operating;
mod rate_limit;
mod retry;
mod timeout;
mod trace;

pub use auth::{Auth, AuthLayer};
pub use concurrency::{ConcurrencyCap, ConcurrencyCapLayer};
pub use operating::{Operating, OperatingLayer};
pub use rate_limit::{RateLimit, RateLimitLayer};
pub use retry::{RetryConfig, RetryLayer, RetryPolicy};
pub use timeout::{Timeout, TimeoutLayer};
pub use trace::{Trace, TraceLayer};

use b24_errors::Error;
use futures::future::BoxFuture;

use crate::{B24Request, B24Response};

/// The future every layer returns.
pub type CallFuture = BoxFuture<'static, Result<B24Response, Error>>;

/// Take the ready service out of `slot`, leaving a clone behind (tower's pattern for calling
/// from an owned future).
pub(crate) fn take<S: Clone>(slot: &mut S) -> S {
    let clone = slot.clone();
    std::mem::replace(slot, clone)
}

/// The bound every inner service meets.
pub trait Inner:
    tower::Service<B24Request, Response = B24Response, Error = Error, Future: Send + 'static> + Clone + Send + 'static
{
}

impl<S> Inner for S where
    S: tower::Service<B24Request, Response = B24Response, Error = Error, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}
