//! Webhook credentials: `https://<portal>/rest/<user id>/<secret>/`.

use std::fmt;
use std::fmt::Write as _;

use b24_errors::{Code, Error, Secret};
use http::Uri;

/// A parsed, validated webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    scheme: String,
    authority: String,
    user_id: u64,
    secret: Secret,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("portal", &format_args!("{}://{}", self.scheme, self.authority))
            .field("user_id", &self.user_id)
            .field("secret", &self.secret)
            .finish()
    }
}

fn invalid(why: &str) -> Error {
    Error::sdk(
        Code::JssdkInvalidWebhookUrl,
        format!("a webhook URL looks like https://<portal>/rest/<user id>/<secret>/: {why}"),
    )
}

/// True for `localhost`, `127.0.0.0/8` and `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Check that `scheme://host` may carry credentials: https, or http for loopback or when
/// explicitly allowed (a self-hosted portal).
pub fn check_scheme(scheme: &str, host: &str, allow_http: bool) -> Result<(), Error> {
    match scheme {
        "https" => Ok(()),
        "http" if allow_http || is_loopback_host(host) => Ok(()),
        "http" => Err(Error::sdk(
            Code::JssdkInsecureUrl,
            format!(
                "{host} is addressed over plain http: credentials would travel in clear text (allow http only for a self-hosted portal you reach over a trusted network)"
            ),
        )),
        other => Err(invalid(&format!("the scheme `{other}` is neither https nor http"))),
    }
}

impl Webhook {
    /// Parse a webhook URL, with or without a trailing method (`.../crm.deal.list.json`).
    ///
    /// Error messages never repeat the URL (it holds the secret).
    ///
    /// ```
    /// use b24_transport::credentials::Webhook;
    /// let hook = Webhook::parse("https://example.bitrix24.com/rest/1/fakesecret123/", false).unwrap();
    /// assert_eq!(hook.user_id(), 1);
    /// assert_eq!(hook.portal(), "https://example.bitrix24.com");
    /// assert!(Webhook::parse("http://example.bitrix24.com/rest/1/fakesecret123/", false).is_err());
    /// assert!(Webhook::parse("https://example.bitrix24.com/rest/one/fakesecret123/", false).is_err());
    /// ```
    pub fn parse(url: &str, allow_http: bool) -> Result<Webhook, Error> {
        let uri: Uri = url.trim().parse().map_err(|_| invalid("it is not a URL"))?;
        let scheme = uri.scheme_str().ok_or_else(|| invalid("the scheme is missing"))?.to_ascii_lowercase();
        let authority = uri.authority().ok_or_else(|| invalid("the host is missing"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user info before the host is not allowed"));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        check_scheme(&scheme, host, allow_http)?;
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        let rest = match segments.as_slice() {
            ["rest", "api", rest @ ..] | ["rest", rest @ ..] => rest,
            _ => return Err(invalid("the path must start with /rest/")),
        };
        let (uid, secret) = match rest {
            [uid, secret] | [uid, secret, _] => (*uid, *secret),
            [] | [_] => return Err(invalid("the user id or the secret is missing")),
            _ => return Err(invalid("the path has too many parts")),
        };
        let user_id = uid
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| invalid("the user id is not a positive number"))?;
        if !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(invalid("the secret holds characters other than letters, digits, `_` and `-`"));
        }
        if secret.len() < 4 {
            return Err(invalid(&format!(
                "the secret is {} character(s) long; a webhook's secret is longer (copy the whole URL again)",
                secret.len()
            )));
        }
        Ok(Webhook { scheme, authority: authority.as_str().to_ascii_lowercase(), user_id, secret: Secret::new(secret) })
    }

    /// The webhook's user id.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// `scheme://host[:port]`.
    pub fn portal(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The URL of a v2 method (holds the secret: never log it).
    pub(crate) fn v2_url(&self, method: &str) -> String {
        self.url("/rest/", method)
    }

    /// The URL of a v3 method (holds the secret: never log it).
    pub(crate) fn v3_url(&self, method: &str) -> String {
        self.url("/rest/api/", method)
    }

    /// `scheme://authority<rest>user/secret/method`, built in one allocation (once per call).
    fn url(&self, rest: &str, method: &str) -> String {
        let secret = self.secret.expose();
        let mut url = String::with_capacity(
            self.scheme.len() + 3 + self.authority.len() + rest.len() + 21 + secret.len() + method.len() + 1,
        );
        for part in [&self.scheme, "://", &self.authority, rest] {
            url.push_str(part);
        }
        let _ = write!(url, "{}", self.user_id);
        for part in ["/", secret, "/", method] {
            url.push_str(part);
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_v3() {
        for url in [
            "https://portal.example.invalid/rest/7/fakesecret0/",
            "https://portal.example.invalid/rest/7/fakesecret0",
            "https://portal.example.invalid/rest/7/fakesecret0/crm.deal.list.json",
            "https://PORTAL.example.invalid/rest/api/7/fakesecret0/crm.item.list",
        ] {
            let hook = Webhook::parse(url, false).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(hook.user_id(), 7);
            assert_eq!(hook.v2_url("server.time"), "https://portal.example.invalid/rest/7/fakesecret0/server.time");
        }
    }

    #[test]
    fn malformed_urls_are_refused_without_echoing_the_secret() {
        let cases = [
            ("", Code::JssdkInvalidWebhookUrl),
            ("not a url", Code::JssdkInvalidWebhookUrl),
            ("https:///rest/1/fakesecret0/", Code::JssdkInvalidWebhookUrl),
            ("ftp://portal.example.invalid/rest/1/fakesecret0/", Code::JssdkInvalidWebhookUrl),
            ("https://portal.example.invalid/1/fakesecret0/", Code::JssdkInvalidWebhookUrl),
            ("https://portal.example.invalid/rest/abc/fakesecret0/", Code::JssdkInvalidWebhookUrl),
            ("https://portal.example.invalid/rest/0/fakesecret0/", Code::JssdkInvalidWebhookUrl),
            ("https://portal.example.invalid/rest/1/", Code::JssdkInvalidWebhookUrl),
            ("https://portal.example.invalid/rest/1/fake$ecret0/", Code::JssdkInvalidWebhookUrl),
            ("https://u:p@portal.example.invalid/rest/1/fakesecret0/", Code::JssdkInvalidWebhookUrl),
            ("https://portal.example.invalid/rest/1/fakesecret0/a/b", Code::JssdkInvalidWebhookUrl),
            ("http://portal.example.invalid/rest/1/fakesecret0/", Code::JssdkInsecureUrl),
        ];
        for (url, code) in cases {
            let e = Webhook::parse(url, false).expect_err(url);
            assert_eq!(e.code(), code, "{url}");
            assert!(!format!("{e} {e:?}").contains("fakesecret0"), "{url}");
        }
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let message = |url: &str| Webhook::parse(url, false).map(|_| ()).expect_err("refused").message().to_owned();
        assert!(message("htp://example.invalid/rest/1/fakesecret0/").contains("`htp` is neither https nor http"));
        let short = message("https://example.invalid/rest/1/x/");
        assert!(short.contains("1 character(s) long") && !short.contains("letters and digits"), "{short}");
        assert!(message("https://example.invalid/rest/1/fake$ecret0/").contains("other than letters"));
    }

    #[test]
    fn http_for_loopback_or_when_allowed() {
        assert!(Webhook::parse("http://127.0.0.1:8080/rest/1/fakesecret0/", false).is_ok());
        assert!(Webhook::parse("http://localhost/rest/1/fakesecret0/", false).is_ok());
        assert!(Webhook::parse("http://crm.intranet.invalid/rest/1/fakesecret0/", true).is_ok());
        let hook = Webhook::parse("http://127.0.0.1:8080/rest/1/fakesecret0/", false).map(|h| format!("{h:?}"));
        assert!(hook.is_ok_and(|d| !d.contains("fakesecret0")));
    }
}
