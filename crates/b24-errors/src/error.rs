//! [`Error`]: the one error type every b24 layer returns.
//!
//! The error model of the official JavaScript SDK (b24jssdk, whose error reference is kept in
//! `docs/seed/errors-and-handling.md`) in Rust terms: an SDK-side error (code, status, message, optional source)
//! and a portal-side error ([`Error::request`] is `Some`) that is also an SDK error and adds the
//! request's method, id and redacted params. Both answer [`Error::code`] and [`Error::status`].

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use snafu::{IntoError, Location, Snafu};

use crate::request::{RequestInfo, ValidationIssue};
use crate::{Code, ErrorCode, RetryClass};

/// A boxed error from outside b24 (hyper, serde_json, io…), kept as a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a portal-side failure carries besides its source.
#[derive(Debug, Clone, PartialEq)]
pub struct PortalFailure {
    /// The portal's code verbatim, or an SDK code for a transport failure of the request.
    pub code: ErrorCode,
    /// The HTTP status the portal (or the proxy in front of it) answered with; for a failure
    /// with no answer, the code's table status.
    pub status: u16,
    /// The portal's description, or the SDK's message.
    pub message: String,
    /// The request that failed.
    pub request: RequestInfo,
    /// A v3 error's validation list (empty otherwise).
    pub validation: Vec<ValidationIssue>,
    /// How many attempts were made (1 when the first one was final).
    pub attempts: u32,
}

impl PortalFailure {
    /// A failure of `request` with `code`, `status` and `message`, after one attempt.
    pub fn new(code: ErrorCode, status: u16, message: impl Into<String>, request: RequestInfo) -> Self {
        PortalFailure { code, status, message: message.into(), request, validation: Vec::new(), attempts: 1 }
    }
}

impl fmt::Display for PortalFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (status {}) from {} [request {}]: {}",
            self.code,
            self.status,
            self.request.method(),
            self.request.request_id(),
            self.message
        )?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// Every failure b24 raises.
///
/// Match on [`Error::code`] (a [`Code`] or the portal's string), never on the message.
///
/// ```
/// use b24_errors::{Code, Error};
///
/// let error = Error::sdk(Code::JssdkBatchTooLarge, "51 commands; a batch holds at most 50");
/// assert_eq!(error.code(), Code::JssdkBatchTooLarge);
/// assert_eq!(error.status(), 400);
/// assert!(error.request().is_none());
/// assert_eq!(error.to_string(), "JSSDK_BATCH_TOO_LARGE: 51 commands; a batch holds at most 50");
/// ```
#[derive(Debug, Snafu)]
#[snafu(visibility(pub))]
#[non_exhaustive]
pub enum Error {
    /// An SDK-side failure with no underlying cause.
    #[snafu(display("{code}: {message}"))]
    Sdk {
        /// The code.
        code: Code,
        /// What went wrong, for a human.
        message: String,
        /// Where it was raised.
        #[snafu(implicit)]
        location: Location,
    },

    /// An SDK-side failure caused by another (non-b24) error.
    #[snafu(display("{code}: {message}"))]
    SdkCaused {
        /// The code.
        code: Code,
        /// What went wrong, for a human.
        message: String,
        /// The cause.
        source: BoxError,
        /// Where it was raised.
        #[snafu(implicit)]
        location: Location,
    },

    /// A portal-side failure: the portal's error envelope, or an answer that was not one.
    #[snafu(display("{failure}"))]
    Portal {
        /// Code, status, message, request.
        failure: Box<PortalFailure>,
        /// Where it was raised.
        #[snafu(implicit)]
        location: Location,
    },

    /// A failure of a request caused by another error (network, timeout, body parsing).
    #[snafu(display("{failure}"))]
    PortalCaused {
        /// Code, status, message, request.
        failure: Box<PortalFailure>,
        /// The cause.
        source: BoxError,
        /// Where it was raised.
        #[snafu(implicit)]
        location: Location,
    },

    /// An SDK error wrapping another b24 error: attempts exhausted, a failed list page, a batch
    /// sub-call.
    #[snafu(display("{code}: {message}"))]
    Wrapped {
        /// The wrapper's code.
        code: Code,
        /// What went wrong, for a human.
        message: String,
        /// How many attempts were made.
        attempts: u32,
        /// The wrapped error.
        source: Box<Error>,
        /// Where it was raised.
        #[snafu(implicit)]
        location: Location,
    },
}

impl Error {
    /// An SDK-side error.
    #[track_caller]
    pub fn sdk(code: Code, message: impl Into<String>) -> Error {
        SdkSnafu { code, message: message.into() }.build()
    }

    /// An SDK-side error with a cause.
    #[track_caller]
    pub fn sdk_caused(code: Code, message: impl Into<String>, source: impl Into<BoxError>) -> Error {
        SdkCausedSnafu { code, message: message.into() }.into_error(source.into())
    }

    /// A portal-side error.
    #[track_caller]
    pub fn portal(failure: PortalFailure) -> Error {
        PortalSnafu { failure: Box::new(failure) }.build()
    }

    /// A failure of a request with a cause.
    #[track_caller]
    pub fn portal_caused(failure: PortalFailure, source: impl Into<BoxError>) -> Error {
        PortalCausedSnafu { failure: Box::new(failure) }.into_error(source.into())
    }

    /// Wrap a b24 error under an SDK code (the JS SDK's `JSSDK_BATCH_SUB_ERROR`, fetch-list and
    /// attempts-exhausted wrappers).
    #[track_caller]
    pub fn wrap(code: Code, message: impl Into<String>, source: Error) -> Error {
        let attempts = source.attempts();
        WrappedSnafu { code, message: message.into(), attempts }.into_error(Box::new(source))
    }

    /// The JS SDK's `SdkError.fromException`: any error becomes `JSSDK_INTERNAL_ERROR`.
    #[track_caller]
    pub fn from_error(source: impl Into<BoxError>) -> Error {
        Error::sdk_caused(Code::JssdkInternalError, "unexpected error", source)
    }

    /// The JS SDK's `AjaxError.fromException`: an unknown HTTP failure of `request` becomes
    /// `JSSDK_INTERNAL_AJAX_ERROR`.
    #[track_caller]
    pub fn from_http_error(request: RequestInfo, source: impl Into<BoxError>) -> Error {
        let code = Code::JssdkInternalAjaxError;
        let failure = PortalFailure::new(code.into(), status_of(code), "unexpected HTTP failure", request);
        Error::portal_caused(failure, source)
    }

    /// The code: match on it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Sdk { code, .. } | Error::SdkCaused { code, .. } | Error::Wrapped { code, .. } => {
                ErrorCode::Known(*code)
            }
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => failure.code.clone(),
        }
    }

    /// The HTTP-like status.
    pub fn status(&self) -> u16 {
        match self {
            Error::Sdk { code, .. } | Error::SdkCaused { code, .. } | Error::Wrapped { code, .. } => status_of(*code),
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => failure.status,
        }
    }

    /// The message for a human (the portal's description for portal-side errors).
    pub fn message(&self) -> &str {
        match self {
            Error::Sdk { message, .. } | Error::SdkCaused { message, .. } | Error::Wrapped { message, .. } => message,
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => &failure.message,
        }
    }

    /// The failed request: `Some` only for portal-side errors (and wrappers around one).
    pub fn request(&self) -> Option<&RequestInfo> {
        match self {
            Error::Sdk { .. } | Error::SdkCaused { .. } => None,
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => Some(&failure.request),
            Error::Wrapped { source, .. } => source.request(),
        }
    }

    /// True for a failure of a request to the portal (the JS SDK's `AjaxError`).
    pub fn is_portal_side(&self) -> bool {
        matches!(self, Error::Portal { .. } | Error::PortalCaused { .. })
    }

    /// A v3 error's validation list.
    pub fn validation(&self) -> &[ValidationIssue] {
        match self {
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => &failure.validation,
            _ => &[],
        }
    }

    /// How many attempts were made before this error was final (1 unless retried).
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Sdk { .. } | Error::SdkCaused { .. } => 1,
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => failure.attempts,
            Error::Wrapped { attempts, .. } => *attempts,
        }
    }

    /// Record the number of attempts made (portal-side errors and wrappers keep it).
    pub fn with_attempts(mut self, n: u32) -> Error {
        match &mut self {
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => failure.attempts = n,
            Error::Wrapped { attempts, .. } => *attempts = n,
            Error::Sdk { .. } | Error::SdkCaused { .. } => {}
        }
        self
    }

    /// Whether and how the request that failed may be retried.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => {
                failure.code.retry_class(failure.status)
            }
            _ => self.code().retry_class(self.status()),
        }
    }

    /// True when the request may have reached the portal although no answer was read: a
    /// non-idempotent call must not be re-sent blindly after it. An answer that is not JSON
    /// counts: a proxy's error page (a 502 or 504 while the portal was still working) or a
    /// body cut or garbled after the portal applied the call says nothing about what it did.
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self.code().known(),
            Some(
                Code::JssdkNetworkError
                    | Code::JssdkTimeout
                    | Code::JssdkResponseTruncated
                    | Code::JssdkResponseNotJson
            )
        )
    }

    /// The innermost b24 error: the portal's own failure under wrappers.
    pub fn root(&self) -> &Error {
        match self {
            Error::Wrapped { source, .. } => source.root(),
            other => other,
        }
    }

    /// True when the portal says the thing asked for does not exist: `NOT_FOUND`,
    /// `ERROR_NOT_FOUND`, v3's entity-not-found exception, or a legacy CRM method's empty code
    /// with the text "Not found". Looks through wrappers (a batch command's failure too).
    ///
    /// Legacy methods answer other input errors with the same empty code and status 400 (`ID
    /// is not defined or invalid`), so matching on `code() == ""` alone is not enough:
    ///
    /// ```
    /// use b24_errors::{ApiVersion, Error, ErrorCode, PortalFailure, RequestInfo};
    /// let legacy = |message: &str| {
    ///     let request = RequestInfo::new("crm.deal.get", "r1", ApiVersion::V2, &serde_json::json!({}));
    ///     Error::portal(PortalFailure::new(ErrorCode::from_portal(""), 400, message, request))
    /// };
    /// assert!(legacy("Not found").is_not_found());
    /// assert!(!legacy("ID is not defined or invalid.").is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        let root = self.root();
        let code = root.code();
        match code.known() {
            Some(Code::NotFound | Code::ErrorNotFound | Code::BitrixRestV3ExceptionEntitynotfoundexception) => true,
            _ if code.as_str().is_empty() => {
                root.message().trim().trim_end_matches('.').eq_ignore_ascii_case("not found")
            }
            _ => false,
        }
    }

    /// A standalone copy of the innermost error — code, status, message, request, validation
    /// list and attempts, without the chain of causes (`Error` is not `Clone`: sources are
    /// arbitrary errors). For handing one failure to several places, such as each command of a
    /// batch chunk that failed as a whole.
    pub fn root_copy(&self) -> Error {
        let root = self.root();
        match root {
            Error::Portal { failure, .. } | Error::PortalCaused { failure, .. } => {
                Error::portal(PortalFailure::clone(failure))
            }
            _ => Error::sdk(root.code().known().unwrap_or(Code::JssdkUnknownError), root.message()),
        }
    }

    /// Where in b24 the error was raised.
    pub fn location(&self) -> &Location {
        match self {
            Error::Sdk { location, .. }
            | Error::SdkCaused { location, .. }
            | Error::Portal { location, .. }
            | Error::PortalCaused { location, .. }
            | Error::Wrapped { location, .. } => location,
        }
    }

    /// The JS SDK's `toJSON()`: code, status, message, request info (redacted), attempts and the
    /// chain of causes. Never the request URL or a credential.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn status_of(code: Code) -> u16 {
    code.status().unwrap_or(500)
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", if self.is_portal_side() { "AjaxError" } else { "SdkError" })?;
        map.serialize_entry("code", &self.code())?;
        map.serialize_entry("status", &self.status())?;
        map.serialize_entry("message", self.message())?;
        if let Some(request) = self.request() {
            map.serialize_entry("requestInfo", request)?;
        }
        if !self.validation().is_empty() {
            map.serialize_entry("validation", self.validation())?;
        }
        map.serialize_entry("attempts", &self.attempts())?;
        let mut causes = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }
        if !causes.is_empty() {
            map.serialize_entry("causes", &causes)?;
        }
        map.end()
    }
}
