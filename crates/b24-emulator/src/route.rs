//! The REST paths: `/rest/<uid>/<secret>/<method>[.json|.xml]` and `/rest/<method>` (v2),
//! `/rest/api/...` (v3).

use crate::portal::Api;

/// How the answer is written: JSON (the default and `.json`) or XML (`.xml`, v2 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Xml,
}

/// The parts of a REST path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RestRoute {
    pub(crate) api: Api,
    /// `(user id, secret)` for a webhook, `None` for OAuth.
    pub(crate) webhook: Option<(String, String)>,
    pub(crate) method: String,
    pub(crate) format: Format,
}

/// Split a REST path, or `None` when it is not one.
pub(crate) fn parse_rest_path(path: &str) -> Option<RestRoute> {
    let rest = path.strip_prefix("/rest/")?;
    let (api, rest) = match rest.strip_prefix("api/") {
        Some(r) => (Api::V3, r),
        None => (Api::V2, rest),
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (webhook, method) = match segments.as_slice() {
        [uid, secret, method] if uid.chars().all(|c| c.is_ascii_digit()) && !uid.is_empty() => {
            (Some(((*uid).to_owned(), (*secret).to_owned())), *method)
        }
        [method] => (None, *method),
        _ => return None,
    };
    let lower = method.to_ascii_lowercase();
    let (method, format) = if lower.ends_with(".json") {
        (&method[..method.len() - 5], Format::Json)
    } else if lower.ends_with(".xml") && api == Api::V2 {
        (&method[..method.len() - 4], Format::Xml)
    } else {
        (method, Format::Json)
    };
    Some(RestRoute { api, webhook, method: method.to_owned(), format })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_paths() {
        let r = parse_rest_path("/rest/1/abc/crm.deal.list.json").expect("webhook v2");
        assert_eq!(
            r,
            RestRoute {
                api: Api::V2,
                webhook: Some(("1".into(), "abc".into())),
                method: "crm.deal.list".into(),
                format: Format::Json
            }
        );
        let r = parse_rest_path("/rest/1/abc/server.time.XML").expect("xml");
        assert_eq!((r.method.as_str(), r.format), ("server.time", Format::Xml));
        let r = parse_rest_path("/rest/api/7/abc/crm.item.list").expect("webhook v3");
        assert_eq!(r.api, Api::V3);
        assert_eq!(r.webhook, Some(("7".into(), "abc".into())));
        let r = parse_rest_path("/rest/crm.deal.list").expect("oauth v2");
        assert_eq!((r.api, r.webhook, r.method.as_str()), (Api::V2, None, "crm.deal.list"));
        let r = parse_rest_path("/rest/api/crm.item.list").expect("oauth v3");
        assert_eq!((r.api, r.webhook), (Api::V3, None));
        assert!(parse_rest_path("/rest/x/y/z/w").is_none());
        assert!(parse_rest_path("/other").is_none());
    }
}
