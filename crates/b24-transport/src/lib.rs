//! # b24-transport
//!
//! The layer every b24 call goes through: a pooled hyper client over rustls, wrapped as a tower
//! stack that makes a Bitrix24 portal feel unlimited — calls are paced to the portal's request
//! bucket and operating-time budget, limits and transient failures are retried by the error's
//! retry class, OAuth tokens are refreshed (once, however many calls notice at once), and no
//! credential reaches an error, a `Debug` or a log line.
//!
//! ```text
//! call ─► user layers ─► concurrency cap ─► retry ─► user attempt layers ─► trace
//!      ─► operating limiter ─► rate limiter ─► auth ─► timeout ─► wire (encode, HTTP, parse)
//! ```
//!
//! ```
//! use b24_transport::{B24Request, TransportBuilder, TransportConfig, credentials::Webhook};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let portal = b24_emulator::Emulator::start(b24_emulator::Settings::fast()).await?;
//! # let webhook_url = portal.webhook_url();
//! let hook = Webhook::parse(&webhook_url, false)?;
//! let transport = TransportBuilder::new(hook).config(TransportConfig::standard()).build()?;
//! let answer = transport.call(B24Request::v2("server.time", &json!({}))?).await?;
//! let time: String = answer.json()?;
//! assert!(time.contains('T'));
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod credentials;
mod envelope;
pub mod http;
pub mod layers;
pub mod limiter;
mod oauth_http;
pub mod php_query;
mod request;
mod response;
pub mod shared;
mod stack;
mod stats;
#[cfg(test)]
mod testing;
mod wire;

pub use config::TransportConfig;
pub use request::{B24Request, RequestId, creates, validate_method};
pub use response::{B24Response, Time};
pub use stack::{BoxService, Transport, TransportBuilder};
pub use stats::{Stats, StatsSnapshot};
pub use wire::Wire;

pub use b24_errors::{ApiVersion, Code, Error, ErrorCode};

/// Entry points for fuzzing and property tests of the parsers (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use b24_errors::Error;

    use crate::{B24Request, B24Response};

    /// Parse `body` as an answer of `status` to a `crm.deal.list` call; the result is read into
    /// a `serde_json::Value` and the `time` block is read too, as a caller would.
    pub fn parse_envelope(status: u16, body: &[u8]) -> Result<B24Response, Error> {
        let response = parse_raw(status, bytes::Bytes::copy_from_slice(body))?;
        let _ = response.time();
        response.value()?;
        Ok(response)
    }

    /// Parse the envelope only (the result stays raw JSON).
    pub fn parse_raw(status: u16, body: bytes::Bytes) -> Result<B24Response, Error> {
        let request = B24Request::v2("crm.deal.list", &serde_json::json!({}))?;
        crate::envelope::parse(&request, status, body)
    }
}
