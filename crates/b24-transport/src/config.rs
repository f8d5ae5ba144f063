//! Transport settings, with presets by plan.

use std::time::Duration;

use crate::http::TlsRoots;
use crate::layers::RetryConfig;
use crate::limiter::{BucketConfig, OperatingConfig};

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
    /// Which roots TLS trusts.
    pub tls_roots: TlsRoots,
    /// Idle connections kept per host.
    pub pool_idle_per_host: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig::standard()
    }
}

impl TransportConfig {
    /// Standard plans: bucket 50 / 2 per second, operating limit 480 s per 10 minutes.
    pub fn standard() -> TransportConfig {
        TransportConfig {
            retry: RetryConfig::default(),
            bucket: Some(BucketConfig::STANDARD),
            operating: Some(OperatingConfig::default()),
            time_scale: 1.0,
            attempt_timeout: Duration::from_secs(70),
            connect_timeout: Duration::from_secs(10),
            max_request_bytes: 32 << 20,
            max_response_bytes: 256 << 20,
            max_concurrent: None,
            allow_http: false,
            tls_roots: TlsRoots::default(),
            pool_idle_per_host: 128,
            user_agent: concat!("b24-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Enterprise plans: bucket 250 / 5 per second.
    pub fn enterprise() -> TransportConfig {
        TransportConfig { bucket: Some(BucketConfig::ENTERPRISE), ..TransportConfig::standard() }
    }

    /// No client-side limits at all (a portal without limits, such as the emulator's `fast`
    /// profile).
    pub fn unlimited() -> TransportConfig {
        TransportConfig { bucket: None, operating: None, ..TransportConfig::standard() }
    }

    /// Set the time scale.
    pub fn with_time_scale(mut self, time_scale: f64) -> TransportConfig {
        self.time_scale = time_scale;
        self
    }
}
