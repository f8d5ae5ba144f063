//! Redaction: keeping credentials out of errors, logs and serialized output.
//!
//! Two tools:
//! - [`Secret`], a string that never prints itself (`Debug` and `Display` show [`REDACTED`]) and
//!   cannot be serialized; every credential in b24 is held in one.
//! - [`redact_params`], which copies request params with every credential-bearing value replaced
//!   by [`REDACTED`]: keys named like a credential (case-insensitive, at any depth, also as a
//!   PHP-bracket segment such as `auth[access_token]`) and the same keys inside query strings
//!   held in string values (batch `cmd` rows such as `crm.deal.list?auth=…&filter[ID]=1`).

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// The fixed placeholder that replaces every redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Parameter names whose values are credentials (compared case-insensitively).
pub const SENSITIVE_KEYS: &[&str] = &[
    "auth",
    "access_token",
    "refresh_token",
    "client_secret",
    "password",
    "secret",
    "token",
    "application_token",
    "sessid",
    "key",
    "signature",
    "auth_id",
    "refresh_id",
];

/// True when `key` names a credential: the key itself, or any PHP-bracket segment of it
/// (`auth[application_token]`, `data[FIELDS][password]`), case-insensitively and in camelCase
/// too (`applicationToken`, `clientSecret`: REST v3 spells params so), and also after
/// percent-decoding (`auth%5Baccess_token%5D`).
pub fn is_sensitive_key(key: &str) -> bool {
    let decoded: Cow<'_, str> =
        if key.contains('%') { percent_decode_str(key).decode_utf8_lossy() } else { Cow::Borrowed(key) };
    decoded.split(['[', ']']).filter(|segment| !segment.is_empty()).any(|segment| {
        let segment = segment.trim();
        SENSITIVE_KEYS.iter().any(|k| k.eq_ignore_ascii_case(segment) || same_words(k, segment))
    })
}

/// `application_token` and `applicationToken`: equal once underscores are dropped, ignoring case.
fn same_words(snake: &str, other: &str) -> bool {
    let mut a = snake.bytes().filter(|b| *b != b'_');
    let mut b = other.bytes().filter(|b| *b != b'_');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

/// A copy of `params` with every credential replaced by [`REDACTED`], at any depth.
///
/// ```
/// use serde_json::json;
/// let params = json!({"auth": "abc", "cmd": {"a": "crm.deal.get?id=1&auth=abc"}, "filter": {"ID": 1}});
/// let redacted = b24_errors::redact_params(&params);
/// assert_eq!(redacted, json!({"auth": "[REDACTED]", "cmd": {"a": "crm.deal.get?id=1&auth=[REDACTED]"}, "filter": {"ID": 1}}));
/// ```
pub fn redact_params(params: &Value) -> Value {
    match params {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                let value =
                    if is_sensitive_key(key) { Value::String(REDACTED.to_owned()) } else { redact_params(value) };
                out.insert(key.clone(), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(redact_params).collect()),
        Value::String(text) => Value::String(redact_query(text).into_owned()),
        other => other.clone(),
    }
}

/// Redact credential values inside a query string, or a `method?query` batch row.
///
/// Strings without `=` come back unchanged and unallocated.
pub fn redact_query(text: &str) -> Cow<'_, str> {
    if !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let (prefix, query) = match text.split_once('?') {
        Some((head, tail)) => (Some(head), tail),
        None => (None, text),
    };
    let mut changed = false;
    let mut pieces = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((key, _)) if is_sensitive_key(key) => {
                changed = true;
                pieces.push(format!("{key}={REDACTED}"));
            }
            _ => pieces.push(pair.to_owned()),
        }
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    let joined = pieces.join("&");
    Cow::Owned(match prefix {
        Some(head) => format!("{head}?{joined}"),
        None => joined,
    })
}

/// Replace every occurrence of any of `secrets` in `text` by [`REDACTED`].
///
/// The last line of defence for text b24 did not write itself (a source error's message); empty
/// secrets and secrets shorter than four characters are ignored, so a placeholder never
/// shreds ordinary words.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

/// A foreign error's text with known secrets scrubbed out, for keeping as a source.
///
/// The chain of `source()` messages is flattened into one string (`outer: inner: innermost`) and
/// every secret in it is replaced by [`REDACTED`]; the original error is dropped, so nothing
/// unscrubbed can be reached through `source()` or `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    message: String,
}

impl Scrubbed {
    /// Flatten and scrub `error`.
    pub fn new(error: &(dyn std::error::Error + 'static), secrets: &[&str]) -> Scrubbed {
        let mut text = error.to_string();
        let mut next = error.source();
        while let Some(cause) = next {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            next = cause.source();
        }
        Scrubbed { message: scrub(&text, secrets) }
    }

    /// A scrubbed message made by hand.
    pub fn message(message: impl Into<String>) -> Scrubbed {
        Scrubbed { message: message.into() }
    }
}

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Scrubbed {}

/// A credential: a webhook secret, an access or refresh token, a client secret, an
/// application token.
///
/// `Debug` and `Display` print [`REDACTED`]; it has no `Serialize`. Read it with
/// [`Secret::expose`] at the one place that puts it on the wire.
///
/// ```
/// let secret = b24_errors::Secret::new("s3cr3t-not-real");
/// assert_eq!(format!("{secret:?} {secret}"), "[REDACTED] [REDACTED]");
/// assert_eq!(secret.expose(), "s3cr3t-not-real");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wrap a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into().into_boxed_str())
    }

    /// The credential itself, for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no credential is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compare with another credential in time that does not depend on where they differ.
    pub fn ct_eq(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        let mut diff = a.len() ^ b.len();
        for i in 0..a.len().max(b.len()) {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            diff |= usize::from(x ^ y);
        }
        diff == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_at_any_depth_and_case() {
        let params = json!({
            "AUTH": "x1x1x1",
            "fields": {"Password": "p4ss", "TITLE": "deal", "nested": [{"client_secret": "cs"}]},
            "auth[access_token]": "tok",
            "SIGNATURE": 5,
        });
        let out = redact_params(&params);
        assert_eq!(
            out,
            json!({
                "AUTH": REDACTED,
                "fields": {"Password": REDACTED, "TITLE": "deal", "nested": [{"client_secret": REDACTED}]},
                "auth[access_token]": REDACTED,
                "SIGNATURE": REDACTED,
            })
        );
    }

    #[test]
    fn batch_rows_and_encoded_keys() {
        let params = json!({"halt": 0, "cmd": [
            "crm.deal.list?filter[>ID]=5&auth=tok123",
            "user.current?auth%5Baccess_token%5D=tok456",
            "server.time",
        ]});
        let text = redact_params(&params).to_string();
        assert!(!text.contains("tok123") && !text.contains("tok456"), "{text}");
        assert!(text.contains("filter[>ID]=5"));
        assert!(text.contains("server.time"));
    }

    #[test]
    fn ordinary_words_are_kept() {
        assert!(!is_sensitive_key("TITLE"));
        assert!(!is_sensitive_key("monkey"));
        assert!(is_sensitive_key("data[auth][application_token]"));
        assert_eq!(redact_query("a=1&b=2"), Cow::Borrowed("a=1&b=2"));
    }

    #[test]
    fn camel_case_credentials_are_caught() {
        for key in ["applicationToken", "clientSecret", "accessToken", "refreshToken", "authId", "APPLICATION_TOKEN"] {
            assert!(is_sensitive_key(key), "{key}");
        }
        for key in ["tokenType", "keyword", "authorId", "secretary"] {
            assert!(!is_sensitive_key(key), "{key}");
        }
    }

    #[test]
    fn scrub_replaces_known_secrets() {
        assert_eq!(scrub("GET /rest/1/abcdef/x failed", &["abcdef", ""]), "GET /rest/1/[REDACTED]/x failed");
    }

    #[test]
    fn constant_time_equality() {
        let s = Secret::new("fake-app-token");
        assert!(s.ct_eq("fake-app-token"));
        assert!(!s.ct_eq("fake-app-tokeN"));
        assert!(!s.ct_eq("fake-app-token-longer"));
        assert!(!s.ct_eq(""));
    }
}
