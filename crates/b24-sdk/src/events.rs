//! Event handlers for apps: parse the portal's event POST (`event`, `data`, `ts`, `auth[...]`)
//! and check its `application_token` in constant time, so a forged POST is refused.

use b24_errors::{Code, Error, Secret};
use b24_transport::php_query;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// The `auth` block of an event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventAuth {
    /// The application token (compare with [`Event::verify`]).
    pub application_token: Secret,
    /// An access token, when the app asked for one.
    pub access_token: Option<Secret>,
    /// The portal's domain.
    pub domain: Option<String>,
    /// The portal's member id.
    pub member_id: Option<String>,
    /// The portal's REST endpoint.
    pub client_endpoint: Option<String>,
}

/// One event the portal sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Event {
    /// The event name, e.g. `ONCRMDEALADD`.
    pub event: String,
    /// Its data (`data[FIELDS][ID]` and so on), as PHP arrays read them.
    pub data: Value,
    /// The unix time the portal sent it.
    pub ts: Option<u64>,
    /// Who sent it.
    pub auth: EventAuth,
}

fn invalid(what: &str) -> Error {
    Error::sdk(Code::JssdkEventInvalid, format!("not a Bitrix24 event POST: {what}"))
}

impl Event {
    /// Parse a form-encoded event body.
    ///
    /// ```
    /// use b24_sdk::events::Event;
    /// let body = "event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=42&ts=1700000000&auth%5Bapplication_token%5D=fake-app-token&auth%5Bdomain%5D=example.bitrix24.com";
    /// let event = Event::parse(body).unwrap();
    /// assert_eq!(event.data["FIELDS"]["ID"], "42");
    /// assert!(event.verify(&"fake-app-token".into()).is_ok());
    /// assert!(event.verify(&"another-token".into()).is_err());
    /// ```
    pub fn parse(form_body: &str) -> Result<Event, Error> {
        let fields = php_query::decode(form_body);
        let event = fields
            .get("event")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| invalid("no `event`"))?;
        let auth = fields.get("auth").filter(|a| a.is_object()).ok_or_else(|| invalid("no `auth`"))?;
        let text = |key: &str| auth.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let application_token = text("application_token").ok_or_else(|| invalid("no `auth[application_token]`"))?;
        Ok(Event {
            event: event.to_owned(),
            data: fields.get("data").cloned().unwrap_or(Value::Null),
            ts: fields.get("ts").and_then(Value::as_str).and_then(|t| t.parse().ok()),
            auth: EventAuth {
                application_token: Secret::new(application_token),
                access_token: text("access_token").map(Secret::new),
                domain: text("domain"),
                member_id: text("member_id"),
                client_endpoint: text("client_endpoint"),
            },
        })
    }

    /// Check the event came from your app's portal: its application token equals `expected`
    /// (compared in constant time).
    pub fn verify(&self, expected: &Secret) -> Result<(), Error> {
        let a = self.auth.application_token.expose().as_bytes();
        let b = expected.expose().as_bytes();
        if !expected.is_empty() && bool::from(a.ct_eq(b)) {
            Ok(())
        } else {
            Err(Error::sdk(Code::JssdkEventTokenMismatch, "the event's application_token does not match this app's"))
        }
    }

    /// Parse and verify in one step.
    pub fn parse_verified(form_body: &str, expected: &Secret) -> Result<Event, Error> {
        let event = Event::parse(form_body)?;
        event.verify(expected)?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_and_forged_events() {
        assert_eq!(Event::parse("").err().map(|e| e.code()), Some(Code::JssdkEventInvalid.into()));
        assert_eq!(Event::parse("event=X").err().map(|e| e.code()), Some(Code::JssdkEventInvalid.into()));
        let forged = "event=X&auth%5Bapplication_token%5D=guess";
        let e = Event::parse_verified(forged, &Secret::new("fake-real-token")).err();
        assert_eq!(e.as_ref().map(|e| e.code()), Some(Code::JssdkEventTokenMismatch.into()));
        assert!(!format!("{e:?}").contains("fake-real-token"));
        let empty_expected = Event::parse(forged).map(|ev| ev.verify(&Secret::new("")).is_err());
        assert_eq!(empty_expected.ok(), Some(true), "an empty expected token never matches");
    }
}
