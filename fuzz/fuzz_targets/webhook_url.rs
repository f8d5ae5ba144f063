//! Any text as a webhook URL: parsed or refused with a coded error that never repeats it.
#![no_main]

use b24_transport::credentials::Webhook;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    match Webhook::parse(url, false) {
        Ok(hook) => assert!(hook.user_id() > 0),
        Err(e) => {
            if url.len() >= 12 {
                assert!(!format!("{e}{e:?}").contains(url));
            }
        }
    }
});
