//! How a failure is classified for retrying, and who raises a code.
//!
//! This is the "Decide what to retry" table of the official JavaScript SDK's error reference
//! (`docs/seed/errors-and-handling.md`) as a type. The transport's retry layer turns
//! each class into a decision; nothing else in the SDK decides what is retryable.

use serde::Serialize;

/// Whether and how a request that failed with a code may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryClass {
    /// Never retried: the same request gives the same error (auth, permission, malformed input).
    Never,
    /// The portal's request-rate bucket is full (`QUERY_LIMIT_EXCEEDED`): retry once it drains.
    RateLimit,
    /// The portal shed load (`OVERLOAD_LIMIT`): retry after a longer back-off.
    Overload,
    /// The access token expired: refresh once (coalesced), then retry once.
    Refresh,
    /// The method's operating-time budget is spent: retry once `operating_reset_at` passes.
    Operating,
    /// Network failures and 5xx without a specific code: retry within the attempt budget.
    Transient,
    /// Not an error at all: a warning that is logged, never raised.
    LogOnly,
}

impl RetryClass {
    /// True for every class the retry layer may re-send.
    pub const fn is_retryable(self) -> bool {
        !matches!(self, RetryClass::Never | RetryClass::LogOnly)
    }

    /// Classify a status for a code the table does not know: 5xx is transient, the rest never.
    pub const fn for_unknown_status(status: u16) -> RetryClass {
        if status >= 500 { RetryClass::Transient } else { RetryClass::Never }
    }
}

/// Who raises a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Side {
    /// b24 itself (`JSSDK_*`).
    Sdk,
    /// The portal's REST module.
    Rest,
    /// The OAuth server's token endpoint.
    OAuth,
}
