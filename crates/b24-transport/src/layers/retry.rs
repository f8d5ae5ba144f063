//! Retrying by the error's retry class (`b24_errors::RetryClass`), as a `tower::retry::Policy`:
//!
//! - rate limits (`QUERY_LIMIT_EXCEEDED`) and overload wait, then retry, within a time budget
//!   for limit waits (`limit_wait_budget`), not the attempt budget; each further refusal of the
//!   same call waits longer, drawn at random between the first wait and five times the last
//!   ("decorrelated jitter"), so that many processes refused together spread out instead of
//!   retrying in lockstep;
//! - `OPERATION_TIME_LIMIT` retries at once: the operating layer below holds the call until the
//!   method's budget frees;
//! - a refused OAuth token (class `Refresh`: `expired_token`) retries once per refresh the auth
//!   layer made (at most three in a row, or for the time budget of long-running work) when the
//!   client refreshes tokens; otherwise it is final;
//! - network failures and 5xx without a code retry `max_retries` times with exponential backoff
//!   and full jitter, or, for a request marked with [`B24Request::retry_within`] (the pages of an
//!   export, the batches of a bulk write), for as long as its time budget lasts; a
//!   non-idempotent call is not re-sent after an ambiguous failure unless the user opts in (it
//!   fails with `JSSDK_OUTCOME_UNKNOWN`);
//! - everything else is final.
//!
//! A final portal error keeps the portal's code and records the attempts; exhausted transient
//! failures become `JSSDK_CALL_ALL_ATTEMPTS_EXHAUSTED` with the last error as the source. A
//! successful answer records how many earlier attempts were refused for load
//! ([`B24Response::load_refusals`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use b24_errors::{Code, Error, RetryClass};
use tokio::time::Instant;
use tower::Layer;
use tower::retry::{Policy, Retry};

use crate::request::B24Request;
use crate::response::B24Response;
use crate::stats::{Stats, bump};

/// Retry settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Retries of network failures and 5xx without a code (default 3).
    pub max_retries: u32,
    /// The first backoff (doubles each retry, with full jitter; default 250 ms).
    pub backoff_base: Duration,
    /// The longest backoff (default 10 s).
    pub backoff_max: Duration,
    /// How long rate-limit and overload waits may add up to before the error surfaces
    /// (default 15 minutes: longer than the portal's 10-minute operating window).
    pub limit_wait_budget: Duration,
    /// The first wait after `QUERY_LIMIT_EXCEEDED` (default 0.5 s: one unit of the bucket's
    /// drain); each further refusal of the same call waits between this and five times the
    /// last wait, at random, up to `limit_wait_max`.
    pub rate_limit_wait: Duration,
    /// The first wait after `OVERLOAD_LIMIT` (default 5 s), growing the same way.
    pub overload_wait: Duration,
    /// The longest single wait after a limit answer (default 60 s).
    pub limit_wait_max: Duration,
    /// How long the transient failures of long-running work (the requests of `fetch_list`, of
    /// an export, of a bulk write: [`B24Request::retry_within`]) are retried, counted from the
    /// first failure, instead of `max_retries` times (default 5 minutes).
    pub work_retry_budget: Duration,
    /// How many `OPERATION_TIME_LIMIT` answers one call may retry (default 10).
    pub max_operating_retries: u32,
    /// Re-send non-idempotent calls (`*.add`, uploads) after ambiguous failures (default off).
    pub retry_non_idempotent: bool,
    /// Real seconds per portal second: scales the rate-limit and overload waits.
    pub time_scale: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            limit_wait_budget: Duration::from_secs(15 * 60),
            rate_limit_wait: Duration::from_millis(500),
            overload_wait: Duration::from_secs(5),
            limit_wait_max: Duration::from_secs(60),
            work_retry_budget: Duration::from_secs(5 * 60),
            max_operating_retries: 10,
            retry_non_idempotent: false,
            time_scale: 1.0,
        }
    }
}

/// The policy: one per call (tower clones it), counting that call's attempts.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    config: Arc<RetryConfig>,
    stats: Arc<Stats>,
    attempts: u32,
    transient: u32,
    operating: u32,
    refreshes: u32,
    refreshing: bool,
    waited: Duration,
    /// The last limit wait (the next one grows from it).
    last_limit_wait: Duration,
    /// Earlier attempts refused for load or timed out.
    load_refusals: u32,
    /// When the first transient failure happened (for a time-budgeted request).
    first_failure: Option<Instant>,
}

impl RetryPolicy {
    /// A fresh policy.
    pub fn new(config: Arc<RetryConfig>, stats: Arc<Stats>) -> RetryPolicy {
        RetryPolicy {
            config,
            stats,
            attempts: 0,
            transient: 0,
            operating: 0,
            refreshes: 0,
            refreshing: false,
            waited: Duration::ZERO,
            last_limit_wait: Duration::ZERO,
            load_refusals: 0,
            first_failure: None,
        }
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.config.time_scale.max(0.0))
    }

    fn backoff(&self) -> Duration {
        let exp = self.config.backoff_base.saturating_mul(1u32 << self.transient.min(16));
        let cap = exp.min(self.config.backoff_max);
        cap.mul_f64(fastrand::f64())
    }

    /// Whether a request with a time budget ([`B24Request::retry_within`]) may still wait
    /// `wait` and retry: the budget counts from its first failure.
    fn within_budget(&mut self, request: &B24Request, wait: Duration) -> bool {
        let Some(budget) = request.retry_budget() else { return false };
        let first = *self.first_failure.get_or_insert_with(Instant::now);
        first.elapsed() + wait <= budget
    }

    /// The decision for a failed attempt: `Ok(wait)` to retry after `wait`, or the final error.
    fn decide(&mut self, request: &B24Request, error: Error) -> Result<Duration, Error> {
        let n = self.attempts;
        let class = error.retry_class();
        match class {
            RetryClass::Refresh
                if self.refreshing
                    && (self.refreshes < MAX_REFRESHES || self.within_budget(request, Duration::ZERO)) =>
            {
                // Each refusal was answered by one refresh in the auth layer; retry once per
                // refresh, and give up when even fresh tokens keep being refused (long-running
                // work, whose many requests in flight each see the token another one expired,
                // keeps going for its time budget).
                self.refreshes += 1;
                Ok(Duration::ZERO)
            }
            RetryClass::RateLimit | RetryClass::Overload => {
                let first = if class == RetryClass::RateLimit {
                    self.config.rate_limit_wait
                } else {
                    self.config.overload_wait
                };
                let unscaled = decorrelated(first, self.last_limit_wait, self.config.limit_wait_max);
                let wait = self.scaled(unscaled);
                if self.waited + wait > self.config.limit_wait_budget {
                    return Err(error.with_attempts(n));
                }
                self.last_limit_wait = unscaled;
                self.waited += wait;
                Ok(wait)
            }
            RetryClass::Operating if self.operating < self.config.max_operating_retries => {
                self.operating += 1;
                Ok(Duration::ZERO)
            }
            RetryClass::Transient => {
                if error.is_ambiguous() && !request.is_idempotent() && !self.config.retry_non_idempotent {
                    let message = format!(
                        "{} may have been applied: the connection failed after it was sent, and a non-idempotent call is not re-sent",
                        request.method()
                    );
                    return Err(Error::wrap(Code::JssdkOutcomeUnknown, message, error.with_attempts(n)));
                }
                let wait = self.backoff();
                let exhausted = match request.retry_budget() {
                    Some(_) => !self.within_budget(request, wait),
                    None => self.transient >= self.config.max_retries,
                };
                if exhausted {
                    let message = format!("{} failed {n} times; the last error is the source", request.method());
                    return Err(Error::wrap(Code::JssdkCallAllAttemptsExhausted, message, error.with_attempts(n)));
                }
                self.transient += 1;
                Ok(wait)
            }
            _ => Err(error.with_attempts(n)),
        }
    }
}

/// The next wait after a limit answer: `first` the first time, then at random between `first`
/// and five times the last wait, never above `max` ("decorrelated jitter": the waits of calls
/// refused together drift apart instead of retrying in lockstep).
fn decorrelated(first: Duration, last: Duration, max: Duration) -> Duration {
    if last.is_zero() {
        return first.min(max).mul_f64(0.75 + 0.5 * fastrand::f64());
    }
    let high = last.saturating_mul(5).max(first);
    let wait = first + (high - first).mul_f64(fastrand::f64());
    wait.min(max)
}

/// An attempt that the portal refused for load, or that took too long: what adaptive
/// concurrency backs off from.
fn load_refusal(error: &Error) -> bool {
    matches!(error.code().known(), Some(Code::QueryLimitExceeded | Code::OverloadLimit | Code::JssdkTimeout))
        || error.status() == 503
}

type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Fresh tokens refused in a row before a refused token is final.
const MAX_REFRESHES: u32 = 3;

impl Policy<B24Request, B24Response, Error> for RetryPolicy {
    type Future = Sleep;

    fn retry(&mut self, request: &mut B24Request, result: &mut Result<B24Response, Error>) -> Option<Self::Future> {
        self.attempts += 1;
        bump(&self.stats.attempts);
        let error = match result {
            Ok(response) => {
                response.load_refusals = self.load_refusals;
                return None;
            }
            Err(error) => error,
        };
        if load_refusal(error) {
            self.load_refusals += 1;
        }
        match error.code().known() {
            Some(Code::QueryLimitExceeded | Code::OverloadLimit) => bump(&self.stats.seen_503),
            Some(Code::OperationTimeLimit) => bump(&self.stats.seen_429),
            _ => {}
        }
        let taken = std::mem::replace(error, Error::sdk(Code::JssdkUnknownError, "placeholder"));
        match self.decide(request, taken) {
            Ok(wait) => {
                bump(&self.stats.retries);
                tracing::debug!(target: "b24::retry", method = request.method(), attempt = self.attempts, wait_ms = wait.as_millis() as u64, "retrying");
                Some(Box::pin(tokio::time::sleep(wait)))
            }
            Err(final_error) => {
                *result = Err(final_error);
                None
            }
        }
    }

    fn clone_request(&mut self, request: &B24Request) -> Option<B24Request> {
        Some(request.clone())
    }
}

/// Wraps a service with [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct RetryLayer {
    config: Arc<RetryConfig>,
    stats: Arc<Stats>,
    refreshing: bool,
}

impl RetryLayer {
    /// Retry with `config`, counting in `stats`.
    pub fn new(config: RetryConfig, stats: Arc<Stats>) -> RetryLayer {
        RetryLayer { config: Arc::new(config), stats, refreshing: false }
    }

    /// The stack refreshes OAuth tokens (its auth layer does): a refused token is retried once.
    pub fn refreshing_tokens(mut self, refreshing: bool) -> RetryLayer {
        self.refreshing = refreshing;
        self
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<RetryPolicy, S>;

    fn layer(&self, inner: S) -> Self::Service {
        let mut policy = RetryPolicy::new(self.config.clone(), self.stats.clone());
        policy.refreshing = self.refreshing;
        Retry::new(policy, inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MockService, network_error, ok_response, portal_error, request};
    use tokio::time::Instant;
    use tower::ServiceExt;

    fn layer() -> RetryLayer {
        RetryLayer::new(RetryConfig::default(), Arc::new(Stats::default()))
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_back_off_then_exhaust() {
        let mock = MockService::new(|_req, _n| async { Err(portal_error("INTERNAL_SERVER_ERROR", 500)) });
        let start = Instant::now();
        let e = layer().layer(mock.clone()).oneshot(request("crm.deal.list")).await.expect_err("exhausted");
        assert_eq!(e.code(), Code::JssdkCallAllAttemptsExhausted);
        assert_eq!(e.attempts(), 4);
        assert_eq!(e.root().code(), Code::InternalServerError, "the portal's code is kept in the source");
        assert_eq!(mock.calls(), 4);
        assert!(
            start.elapsed() <= Duration::from_millis(250 + 500 + 1000),
            "backoff stays within the exponential caps"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_class_is_final_at_once() {
        let mock = MockService::new(|_req, _n| async { Err(portal_error("INVALID_CREDENTIALS", 401)) });
        let e = layer().layer(mock.clone()).oneshot(request("server.time")).await.expect_err("final");
        assert_eq!((e.code(), e.attempts(), mock.calls()), (Code::InvalidCredentials.into(), 1, 1));
    }

    /// The code table decides: `expired_token` (class `refresh`) is retried after the auth
    /// layer's refresh; `invalid_token` (class `never`) is final, even at 401.
    #[tokio::test(start_paused = true)]
    async fn token_refusals_follow_the_code_table() {
        let refreshing = || layer().refreshing_tokens(true);
        let mock = MockService::new(|_req, n| async move {
            if n == 0 { Err(portal_error("expired_token", 401)) } else { Ok(ok_response()) }
        });
        refreshing().layer(mock.clone()).oneshot(request("crm.deal.get")).await.expect("retried after a refresh");
        assert_eq!(mock.calls(), 2);
        let mock = MockService::new(|_req, _n| async { Err(portal_error("invalid_token", 401)) });
        let e = refreshing().layer(mock.clone()).oneshot(request("crm.deal.get")).await.expect_err("final");
        assert_eq!((e.code(), mock.calls()), (Code::InvalidToken.into(), 1));
        let mock = MockService::new(|_req, _n| async { Err(portal_error("expired_token", 401)) });
        layer().layer(mock.clone()).oneshot(request("crm.deal.get")).await.expect_err("no refresher: final");
        assert_eq!(mock.calls(), 1, "a client that cannot refresh does not retry");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_wait_and_recover_beyond_the_attempt_budget() {
        let mock = MockService::new(|_req, n| async move {
            if n < 8 { Err(portal_error("QUERY_LIMIT_EXCEEDED", 503)) } else { Ok(ok_response()) }
        });
        layer().layer(mock.clone()).oneshot(request("crm.deal.list")).await.expect("recovered after 8 refusals");
        assert_eq!(mock.calls(), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn limit_waits_have_a_time_budget() {
        let config = RetryConfig { limit_wait_budget: Duration::from_secs(3), ..RetryConfig::default() };
        let mock = MockService::new(|_req, _n| async { Err(portal_error("OVERLOAD_LIMIT", 503)) });
        let e = RetryLayer::new(config, Arc::new(Stats::default()))
            .layer(mock)
            .oneshot(request("x.y"))
            .await
            .expect_err("gave up");
        assert_eq!(e.code(), Code::OverloadLimit);
        assert_eq!(e.attempts(), 1, "the first overload wait (5 s) already passes the 3 s budget");
    }

    #[tokio::test(start_paused = true)]
    async fn ambiguous_failure_of_an_add_is_not_resent() {
        let mock = MockService::new(|_req, _n| async { Err(network_error()) });
        let e = layer().layer(mock.clone()).oneshot(request("crm.item.add")).await.expect_err("unknown");
        assert_eq!(e.code(), Code::JssdkOutcomeUnknown);
        assert_eq!(mock.calls(), 1);
        let keyed = crate::testing::request_v3("crm.item.add").idempotency_key("k1");
        let mock =
            MockService::new(|_req, n| async move { if n == 0 { Err(network_error()) } else { Ok(ok_response()) } });
        layer().layer(mock.clone()).oneshot(keyed).await.expect("re-sent with an idempotency key");
        assert_eq!(mock.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn long_running_work_retries_within_its_time_budget_not_a_count() {
        // Eight 500s in a row: past `max_retries` (3), well inside a one-minute budget.
        let mock = MockService::new(|_req, n| async move {
            if n < 8 { Err(portal_error("INTERNAL_SERVER_ERROR", 500)) } else { Ok(ok_response()) }
        });
        let budgeted = request("crm.deal.list").retry_within(Duration::from_secs(60));
        let answer = layer().layer(mock.clone()).oneshot(budgeted).await.expect("recovered within the budget");
        assert_eq!(mock.calls(), 9);
        assert_eq!(answer.load_refusals(), 0, "500s are failures, not load refusals");

        // Failing for good: it gives up once the next wait would pass the budget.
        let mock = MockService::new(|_req, _n| async { Err(portal_error("INTERNAL_SERVER_ERROR", 500)) });
        let start = Instant::now();
        let budgeted = request("crm.deal.list").retry_within(Duration::from_secs(30));
        let e = layer().layer(mock.clone()).oneshot(budgeted).await.expect_err("the budget ran out");
        assert_eq!(e.code(), Code::JssdkCallAllAttemptsExhausted);
        assert!(start.elapsed() <= Duration::from_secs(30), "{:?}", start.elapsed());
        assert!(mock.calls() > 4, "more attempts than the count allows: {}", mock.calls());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_counts_the_load_refusals_before_it() {
        let mock = MockService::new(|_req, n| async move {
            match n {
                0 => Err(portal_error("QUERY_LIMIT_EXCEEDED", 503)),
                1 => Err(portal_error("OVERLOAD_LIMIT", 503)),
                2 => Err(portal_error("INTERNAL_SERVER_ERROR", 500)),
                _ => Ok(ok_response()),
            }
        });
        let answer = layer().layer(mock).oneshot(request("crm.deal.list")).await.expect("answered");
        assert_eq!(answer.load_refusals(), 2);
    }

    #[test]
    fn limit_waits_grow_at_random_between_the_first_and_five_times_the_last() {
        let (first, max) = (Duration::from_millis(500), Duration::from_secs(60));
        let mut last = Duration::ZERO;
        let mut waits = Vec::new();
        for _ in 0..12 {
            let wait = decorrelated(first, last, max);
            assert!(wait >= first.mul_f64(0.75) && wait <= max, "{wait:?}");
            if !last.is_zero() {
                assert!(wait <= (last * 5).max(first), "{wait:?} after {last:?}");
            }
            waits.push(wait);
            last = wait;
        }
        // Two calls refused together draw different waits.
        let a: Vec<Duration> = (0..5).map(|_| decorrelated(first, Duration::from_secs(2), max)).collect();
        assert!(a.windows(2).any(|w| w[0] != w[1]), "jittered: {a:?}");
        assert!(waits.iter().sum::<Duration>() > first * 12, "the waits grow: {waits:?}");
    }

    /// 40 processes each send 5 requests at once to a portal whose bucket holds 50 and drains 2
    /// per second: growing, jittered waits spread the retries out, so few are refused again.
    #[tokio::test(start_paused = true)]
    async fn many_processes_refused_together_do_not_retry_in_lockstep() {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicU32, Ordering};
        struct Bucket {
            level: f64,
            at: Instant,
        }
        let bucket = Arc::new(Mutex::new(Bucket { level: 0.0, at: Instant::now() }));
        let refused = Arc::new(AtomicU32::new(0));
        let portal = {
            let (bucket, refused) = (bucket.clone(), refused.clone());
            MockService::new(move |_req, _n| {
                let (bucket, refused) = (bucket.clone(), refused.clone());
                async move {
                    let admitted = {
                        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
                        let now = Instant::now();
                        b.level = (b.level - 2.0 * (now - b.at).as_secs_f64()).max(0.0);
                        b.at = now;
                        let admitted = b.level < 50.0;
                        if admitted {
                            b.level += 1.0;
                        }
                        admitted
                    };
                    if admitted {
                        Ok(ok_response())
                    } else {
                        refused.fetch_add(1, Ordering::SeqCst);
                        Err(portal_error("QUERY_LIMIT_EXCEEDED", 503))
                    }
                }
            })
        };
        let started = Instant::now();
        let mut calls = Vec::new();
        for _process in 0..40 {
            // Each process has its own client (its own retry state), as separate processes do.
            let service = layer().layer(portal.clone());
            for _ in 0..5 {
                calls.push(tokio::spawn(service.clone().oneshot(request("crm.deal.list"))));
            }
        }
        for call in calls {
            call.await.expect("join").expect("every request is answered in the end");
        }
        let refusals = f64::from(refused.load(Ordering::SeqCst)) / 200.0;
        eprintln!("{refusals:.1} refusals per request; all answered after {:?}", started.elapsed());
        // A fixed wait (0.5 s +- 25 %) lets one of 150 waiting requests in per round: tens of refusals each.
        assert!(refusals < 5.0, "{refusals:.1} refusals per accepted request");
    }
}
