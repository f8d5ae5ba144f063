//! The POST a portal sends when it opens the app in a frame (a placement, or the install page):
//! `AUTH_ID`, `AUTH_EXPIRES`, `REFRESH_ID`, `SERVER_ENDPOINT`, `member_id`, `status`,
//! `PLACEMENT`, `PLACEMENT_OPTIONS` in the form body and `DOMAIN`, `LANG`, `APP_SID` in the query.

use std::collections::HashMap;

use b24_errors::{Code, Error};
use b24_transport::credentials::{OAuthApp, OAuthCredentials, TokenSet, parse_form};
use serde_json::Value;

/// A placement POST, read.
///
/// `Debug` shows no secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Placement {
    /// The placement code: `DEFAULT` for the app's own page (and its installation),
    /// `CRM_DEAL_DETAIL_TAB` and so on.
    pub placement: String,
    /// `PLACEMENT_OPTIONS`, decoded from its JSON (`Null` when absent or not JSON).
    pub options: Value,
    /// The portal's member id.
    pub member_id: String,
    /// The portal's host.
    pub domain: String,
    /// The token pair of the user who opened the frame.
    pub tokens: TokenSet,
    /// The installation's status.
    pub status: Option<String>,
    /// The user's language (`LANG`).
    pub language: Option<String>,
}

fn invalid(what: String) -> Error {
    Error::sdk(Code::JssdkPlacementInvalid, format!("not a Bitrix24 placement POST: {what}"))
}

impl Placement {
    /// Read the form body and the query of the POST (the body wins where both have a field).
    ///
    /// ```
    /// use b24_app::Placement;
    /// let body = "AUTH_ID=fake-access&AUTH_EXPIRES=3600&REFRESH_ID=fake-refresh&member_id=m1\
    ///     &SERVER_ENDPOINT=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&PLACEMENT=DEFAULT&PLACEMENT_OPTIONS=%7B%7D";
    /// let placement = Placement::parse(body, "DOMAIN=example.bitrix24.com&LANG=en").unwrap();
    /// assert_eq!((placement.member_id.as_str(), placement.domain.as_str()), ("m1", "example.bitrix24.com"));
    /// assert_eq!(placement.tokens.client_endpoint, "https://example.bitrix24.com/rest/");
    /// ```
    pub fn parse(form_body: &str, query: &str) -> Result<Placement, Error> {
        let mut fields: HashMap<String, String> = parse_form(query);
        fields.extend(parse_form(form_body));
        let credentials = OAuthCredentials::from_placement(OAuthApp::new("", ""), &fields)
            .map_err(|e| invalid(e.message().to_owned()))?;
        let get = |name: &str| fields.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let member_id = get("member_id").ok_or_else(|| invalid("it has no member_id".into()))?;
        let options = get("PLACEMENT_OPTIONS").and_then(|o| serde_json::from_str(&o).ok()).unwrap_or(Value::Null);
        let mut tokens = credentials.tokens().clone();
        tokens.member_id = Some(member_id.clone());
        Ok(Placement {
            placement: get("PLACEMENT").unwrap_or_else(|| "DEFAULT".to_owned()),
            options,
            member_id,
            domain: crate::normalize_domain(&tokens.client_endpoint),
            tokens,
            status: get("status"),
            language: get("LANG"),
        })
    }
}
