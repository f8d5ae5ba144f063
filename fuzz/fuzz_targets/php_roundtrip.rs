//! Any JSON object: the PHP-bracket encoder's output decodes back to what PHP would see.
#![no_main]

use b24_transport::php_query::{decode, encode, php_view};
use libfuzzer_sys::fuzz_target;

fn brackets_free(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m.iter().all(|(k, v)| {
            !k.is_empty() && !k.contains(['[', ']']) && k.parse::<u64>().is_err() && !k.contains(|c: char| c.is_whitespace() || c == '.') && brackets_free(v)
        }),
        serde_json::Value::Array(a) => a.iter().all(brackets_free),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if !value.is_object() || !brackets_free(&value) {
        // Decoding arbitrary query strings must still never panic.
        let _ = decode(&String::from_utf8_lossy(data));
        return;
    }
    assert_eq!(decode(&encode(&value)), php_view(&value));
});
