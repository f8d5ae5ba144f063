//! Transport settings, as plain data: built from a [`Plan`], adjusted field by field, consumed
//! once by [`TransportBuilder::build`](crate::TransportBuilder::build).

use std::time::Duration;

use crate::http::TlsConfig;
use crate::layers::RetryConfig;
use crate::limiter::{BucketConfig, OperatingConfig};

/// The portal's plan: it sets the client-side limits (the request-rate bucket and the
/// operating-time limiter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Plan {
    /// Standard plans: 50 requests at once, 2 per second after that; 480 s of handler time per
    /// method per 10 minutes.
    #[default]
    Standard,
    /// Enterprise plans: 250 at once, 5 per second.
    Enterprise,
    /// No client-side limits (a portal without limits, such as the emulator's `fast` profile).
    Unlimited,
}

impl Plan {
    /// The bucket this plan's portals have (`None`: no limit).
    pub fn bucket(self) -> Option<BucketConfig> {
        match self {
            Plan::Standard => Some(BucketConfig::STANDARD),
            Plan::Enterprise => Some(BucketConfig::ENTERPRISE),
            Plan::Unlimited => None,
        }
    }

    /// The operating-time limiter this plan's portals need (`None`: off).
    pub fn operating(self) -> Option<OperatingConfig> {
        match self {
            Plan::Standard | Plan::Enterprise => Some(OperatingConfig::default()),
            Plan::Unlimited => None,
        }
    }
}

/// Everything the default stack is built from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Retry settings.
    pub retry: RetryConfig,
    /// The client-side bucket (None: no rate limiting).
    pub bucket: Option<BucketConfig>,
    /// The operating-time limiter (None: off).
    pub operating: Option<OperatingConfig>,
    /// Real seconds per portal second, applied to the bucket, the operating limiter and limit
    /// waits (1; set it to the emulator's time scale when it runs faster than real time).
    pub time_scale: f64,
    /// Each attempt's time limit (default 70 s: the portal cuts requests at 60 s).
    pub attempt_timeout: Duration,
    /// Connecting's time limit (default 10 s).
    pub connect_timeout: Duration,
    /// The largest request body (default 32 MiB).
    pub max_request_bytes: usize,
    /// The largest response body (default 256 MiB).
    pub max_response_bytes: usize,
    /// At most this many calls in flight (None: no cap).
    pub max_concurrent: Option<usize>,
    /// Allow plain http to a portal that is not on loopback (a self-hosted portal).
    pub allow_http: bool,
    /// Which certificates TLS trusts.
    pub tls: TlsConfig,
    /// Idle connections kept per host.
    pub pool_idle_per_host: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig::for_plan(Plan::Standard)
    }
}

impl TransportConfig {
    /// The settings for a plan's portals; everything else at its default.
    pub fn for_plan(plan: Plan) -> TransportConfig {
        TransportConfig {
            retry: RetryConfig::default(),
            bucket: plan.bucket(),
            operating: plan.operating(),
            time_scale: 1.0,
            attempt_timeout: Duration::from_secs(70),
            connect_timeout: Duration::from_secs(10),
            max_request_bytes: 32 << 20,
            max_response_bytes: 256 << 20,
            max_concurrent: None,
            allow_http: false,
            tls: TlsConfig::default(),
            pool_idle_per_host: 128,
            user_agent: concat!("b24-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Shorthand for [`TransportConfig::for_plan`]`(Plan::Standard)`.
    pub fn standard() -> TransportConfig {
        TransportConfig::for_plan(Plan::Standard)
    }

    /// Shorthand for [`TransportConfig::for_plan`]`(Plan::Enterprise)`.
    pub fn enterprise() -> TransportConfig {
        TransportConfig::for_plan(Plan::Enterprise)
    }

    /// Shorthand for [`TransportConfig::for_plan`]`(Plan::Unlimited)`.
    pub fn unlimited() -> TransportConfig {
        TransportConfig::for_plan(Plan::Unlimited)
    }

    /// Set the limits of `plan`, keeping every other setting.
    pub fn set_plan(&mut self, plan: Plan) {
        self.bucket = plan.bucket();
        self.operating = plan.operating();
    }

    /// Set the time scale.
    pub fn with_time_scale(mut self, time_scale: f64) -> TransportConfig {
        self.time_scale = time_scale;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_sets_only_the_limits() {
        let mut config = TransportConfig::unlimited();
        config.attempt_timeout = Duration::from_secs(5);
        config.set_plan(Plan::Enterprise);
        assert_eq!(config.bucket, Some(BucketConfig::ENTERPRISE));
        assert!(config.operating.is_some());
        assert_eq!(config.attempt_timeout, Duration::from_secs(5), "other settings are kept");
        config.set_plan(Plan::Unlimited);
        assert_eq!((config.bucket, config.operating), (None, None));
    }
}
