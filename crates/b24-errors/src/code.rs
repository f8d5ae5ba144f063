//! [`ErrorCode`]: a code from the table, or a portal code kept verbatim.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::{Code, RetryClass};

/// The code of an error: one of b24's table ([`Code`]), or a code the portal sent that the table
/// does not know, kept verbatim (it may be empty: legacy CRM methods send `""`).
///
/// Compare it with a [`Code`] or a string:
///
/// ```
/// use b24_errors::{Code, ErrorCode};
/// let code = ErrorCode::from_portal("QUERY_LIMIT_EXCEEDED");
/// assert_eq!(code, Code::QueryLimitExceeded);
/// assert_eq!(code, "QUERY_LIMIT_EXCEEDED");
/// assert_eq!(ErrorCode::from_portal("CRM_SOMETHING_NEW").as_str(), "CRM_SOMETHING_NEW");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A code of b24's table.
    Known(Code),
    /// A code the table does not know, verbatim.
    Other(Arc<str>),
}

impl ErrorCode {
    /// Lift a code string sent by the portal or the OAuth server.
    pub fn from_portal(code: &str) -> ErrorCode {
        match Code::from_code(code) {
            Some(known) => ErrorCode::Known(known),
            None => ErrorCode::Other(Arc::from(code)),
        }
    }

    /// The code string, verbatim.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Known(code) => code.as_str(),
            ErrorCode::Other(code) => code,
        }
    }

    /// The table's code, if it is one.
    pub fn known(&self) -> Option<Code> {
        match self {
            ErrorCode::Known(code) => Some(*code),
            ErrorCode::Other(_) => None,
        }
    }

    /// The retry class: the table's for a known code, by `status` otherwise.
    pub fn retry_class(&self, status: u16) -> RetryClass {
        match self {
            ErrorCode::Known(code) => code.retry_class(),
            ErrorCode::Other(_) => RetryClass::for_unknown_status(status),
        }
    }
}

impl From<Code> for ErrorCode {
    fn from(code: Code) -> Self {
        ErrorCode::Known(code)
    }
}

impl PartialEq<Code> for ErrorCode {
    fn eq(&self, other: &Code) -> bool {
        self.known() == Some(*other)
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            "" => f.write_str("(empty code)"),
            code => f.write_str(code),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
