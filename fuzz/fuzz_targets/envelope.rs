//! Any bytes, any status: the envelope parser answers with a response or a coded error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (200 + u16::from(*s) % 400, rest),
        None => (200, data),
    };
    if let Err(e) = b24_transport::fuzzing::parse_envelope(status, body) {
        assert!(e.status() >= 100);
    }
});
