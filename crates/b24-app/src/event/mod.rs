//! Events: the portal's form POST (`event`, `event_handler_id`, `data`, `ts`, `auth[...]`) read
//! whole, typed for the common events, and checked against the app's `application_token` in
//! constant time. This is the one place b24 parses events; `b24_sdk::events` re-exports it.

mod auth;
mod kind;

use b24_errors::{Code, Error, Secret};
use b24_transport::php_query;
use serde_json::Value;

pub use auth::EventAuth;
pub use kind::{Action, CrmEntity, EventKind};

/// One event the portal sent.
///
/// `Debug` shows no secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Event {
    /// The event name, upper-case: `ONCRMDEALADD`.
    pub event: String,
    /// The id of the binding that delivered it (`event_handler_id`).
    pub event_handler_id: Option<u64>,
    /// Its data (`data[FIELDS][ID]` and so on) as PHP arrays read them: every leaf a string.
    pub data: Value,
    /// The unix time the portal sent it.
    pub ts: Option<u64>,
    /// Who sent it, with the token pair when the portal sent one.
    pub auth: EventAuth,
}

fn invalid(what: &str) -> Error {
    Error::sdk(Code::JssdkEventInvalid, format!("not a Bitrix24 event POST: {what}"))
}

impl Event {
    /// Parse a form-encoded event body (PHP bracket keys).
    ///
    /// ```
    /// use b24_app::event::{Event, EventKind};
    /// let body = "event=ONCRMDEALADD&event_handler_id=5&data%5BFIELDS%5D%5BID%5D=42&ts=1700000000\
    ///     &auth%5Bapplication_token%5D=fake-app-token&auth%5Bdomain%5D=example.bitrix24.com&auth%5Bmember_id%5D=m1";
    /// let event = Event::parse(body).unwrap();
    /// assert_eq!(event.data["FIELDS"]["ID"], "42");
    /// assert!(matches!(event.kind().unwrap(), EventKind::Crm { id: 42, .. }));
    /// assert!(event.verify(&"fake-app-token".into()).is_ok());
    /// assert!(event.verify(&"another-token".into()).is_err());
    /// ```
    pub fn parse(form_body: &str) -> Result<Event, Error> {
        let fields = php_query::decode(form_body);
        let event = fields
            .get("event")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| invalid("no `event`"))?;
        let auth = fields.get("auth").filter(|a| a.is_object()).ok_or_else(|| invalid("no `auth`"))?;
        let auth = EventAuth::from_value(auth);
        if auth.application_token.is_empty() {
            return Err(invalid("no `auth[application_token]`"));
        }
        let number = |key: &str| fields.get(key).and_then(Value::as_str).and_then(|t| t.trim().parse().ok());
        Ok(Event {
            event: event.to_ascii_uppercase(),
            event_handler_id: number("event_handler_id"),
            data: fields.get("data").cloned().unwrap_or(Value::Null),
            ts: number("ts"),
            auth,
        })
    }

    /// The event's data, typed for the common events ([`EventKind::Other`] for the rest).
    /// Fails with `JSSDK_EVENT_INVALID` when a known event lacks its id.
    pub fn kind(&self) -> Result<EventKind, Error> {
        kind::kind_of(&self.event, &self.data)
    }

    /// The portal's member id, required of every event an app accepts.
    pub fn member_id(&self) -> Result<&str, Error> {
        self.auth.member_id.as_deref().ok_or_else(|| invalid("no `auth[member_id]`"))
    }

    /// Check the event came from the portal: its application token equals `expected`
    /// (compared in constant time; an empty `expected` never matches).
    pub fn verify(&self, expected: &Secret) -> Result<(), Error> {
        if !expected.is_empty() && expected.ct_eq(self.auth.application_token.expose()) {
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
    use b24_transport::php_query::encode;
    use serde_json::json;

    fn body() -> String {
        encode(&json!({
            "event": "onCrmDealAdd",
            "event_handler_id": "17",
            "data": {"FIELDS": {"ID": "42"}},
            "ts": "1700000000",
            "auth": {
                "access_token": "fake-access-ev", "expires": "1700003600", "expires_in": "3600",
                "scope": "crm", "domain": "Example.Bitrix24.com", "server_endpoint": "https://oauth.bitrix.info/rest/",
                "status": "L", "client_endpoint": "https://example.bitrix24.com/rest/", "member_id": "m1",
                "user_id": "1", "refresh_token": "fake-refresh-ev", "application_token": "fake-app-ev"
            }
        }))
    }

    #[test]
    fn the_whole_payload() {
        let event = Event::parse(&body()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (event.event.as_str(), event.event_handler_id, event.ts),
            ("ONCRMDEALADD", Some(17), Some(1_700_000_000))
        );
        let a = &event.auth;
        assert_eq!((a.expires, a.expires_in, a.user_id), (Some(1_700_003_600), Some(3600), Some(1)));
        assert_eq!(
            (a.scope.as_deref(), a.status.as_deref(), a.domain.as_deref()),
            (Some("crm"), Some("L"), Some("example.bitrix24.com"))
        );
        let tokens = a.tokens().unwrap_or_else(|| panic!("a pair"));
        assert_eq!(
            (tokens.access_token.expose(), tokens.refresh_token.expose()),
            ("fake-access-ev", "fake-refresh-ev")
        );
        assert_eq!(tokens.server_endpoint.as_deref(), Some("https://oauth.bitrix.info/rest/"));
        assert_eq!(tokens.expires_at, Some(1_700_003_600));
        let shown = format!("{event:?}");
        for secret in ["fake-access-ev", "fake-refresh-ev", "fake-app-ev"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn malformed_and_forged_events() {
        assert_eq!(Event::parse("").err().map(|e| e.code()), Some(Code::JssdkEventInvalid.into()));
        assert_eq!(Event::parse("event=X").err().map(|e| e.code()), Some(Code::JssdkEventInvalid.into()));
        assert_eq!(
            Event::parse("event=X&auth[domain]=a").err().map(|e| e.code()),
            Some(Code::JssdkEventInvalid.into())
        );
        let forged = "event=X&auth%5Bapplication_token%5D=guess";
        let e = Event::parse_verified(forged, &Secret::new("fake-real-token")).err();
        assert_eq!(e.as_ref().map(|e| e.code()), Some(Code::JssdkEventTokenMismatch.into()));
        assert!(!format!("{e:?}").contains("fake-real-token"));
        let empty_expected = Event::parse(forged).map(|ev| ev.verify(&Secret::new("")).is_err());
        assert_eq!(empty_expected.ok(), Some(true), "an empty expected token never matches");
    }
}
