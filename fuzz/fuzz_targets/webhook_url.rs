//! Any text as a webhook URL: parsed or refused with a coded error that never repeats the part
//! that would be the secret (the segment after the user id).
#![no_main]

use b24_transport::credentials::Webhook;
use libfuzzer_sys::fuzz_target;

/// The fixed text of the parser's messages: a "secret" that is a word of it proves nothing.
const FIXED: &str = "JSSDK_INVALID_WEBHOOK_URL JSSDK_INSECURE_URL a webhook URL looks like https://<portal>/rest/<user id>/<secret>/: the scheme must be https it is not a URL the scheme is missing the host is missing user info before the host is not allowed the host is missing the path must start with /rest/ the user id or the secret is missing the path has too many parts the user id is not a positive number the secret must be letters and digits is addressed over plain http: credentials would travel in clear text (allow http only for a self-hosted portal)";

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    match Webhook::parse(url, false) {
        Ok(hook) => assert!(hook.user_id() > 0),
        Err(e) => {
            let segments: Vec<&str> = url.split('/').collect();
            if let Some(i) = segments.iter().position(|s| *s == "rest") {
                let secret = segments.iter().skip(i + 1).find(|s| s.parse::<u64>().is_err() && **s != "api");
                if let Some(secret) = secret.filter(|s| s.len() >= 6 && !FIXED.contains(**s)) {
                    assert!(!format!("{e}{e:?}").contains(secret));
                }
            }
        }
    }
});
