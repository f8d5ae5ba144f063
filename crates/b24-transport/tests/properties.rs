//! Properties of the parsers: arbitrary input never panics and always gets a coded answer;
//! well-formed input reads back what was written.

use b24_transport::credentials::Webhook;
use b24_transport::fuzzing::parse_envelope;
use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn envelope_arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        if let Err(e) = parse_envelope(status, &body) {
            prop_assert!(!e.message().is_empty() || !e.code().as_str().is_empty());
        }
    }

    #[test]
    fn envelope_reads_back_any_result(result in json_value(), next in proptest::option::of(0u64..1_000_000), total in proptest::option::of(0u64..1_000_000)) {
        let mut envelope = json!({"result": result.clone(), "time": {"start": 1.5, "finish": 2}});
        if let Some(n) = next { envelope["next"] = json!(n); }
        if let Some(t) = total { envelope["total"] = json!(t); }
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        let response = parse_envelope(200, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(response.value().ok(), Some(result));
        prop_assert_eq!((response.next(), response.total()), (next, total));
        let time = response.time().cloned().unwrap_or_default();
        prop_assert_eq!((time.start, time.finish), (Some(1.5), Some(2.0)));
    }

    #[test]
    fn any_time_block_leaves_the_result_readable(time in json_value(), result in json_value()) {
        let body = serde_json::to_vec(&json!({"result": result.clone(), "time": time})).unwrap_or_default();
        let response = parse_envelope(200, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let _ = response.time();
        prop_assert_eq!(response.value().ok(), Some(result));
    }

    #[test]
    fn envelope_lifts_any_error_code(code in "[A-Za-z_]{0,40}", text in "\\PC{0,40}", status in 400u16..600) {
        let body = serde_json::to_vec(&json!({"error": code, "error_description": text})).unwrap_or_default();
        let e = parse_envelope(status, &body).err().ok_or_else(|| TestCaseError::fail("an error body was accepted"))?;
        prop_assert_eq!(e.code().as_str().to_owned(), code);
        prop_assert_eq!(e.status(), status);
    }

    #[test]
    fn webhook_parser_never_panics(url in "\\PC{0,80}") {
        let _ = Webhook::parse(&url, false);
    }

    #[test]
    fn a_refused_webhook_never_echoes_its_secret(prefix in "(https?|ftp)://[a-z.]{0,12}(:[0-9]{1,5})?/(rest/)?[a-z0-9]{0,4}/", secret in "[a-zA-Z0-9$%]{6,20}", suffix in "(/[a-z.]{0,10}){0,3}") {
        let url = format!("{prefix}{secret}{suffix}");
        if let Err(e) = Webhook::parse(&url, false) {
            let fixed = ["portal", "secret", "letters", "digits", "number", "missing"];
            if !fixed.iter().any(|w| secret.to_ascii_lowercase().contains(w)) {
                prop_assert!(!format!("{e} {e:?}").contains(&secret), "{} echoed", url);
            }
        }
    }

    #[test]
    fn webhook_parser_accepts_every_well_formed_url(host in "[a-z]{1,12}\\.bitrix24\\.(com|de|ru)", uid in 1u64..100_000, secret in "[a-z0-9]{8,24}") {
        let url = format!("https://{host}/rest/{uid}/{secret}/");
        let hook = Webhook::parse(&url, false).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(hook.user_id(), uid);
        prop_assert_eq!(hook.portal(), format!("https://{host}"));
        prop_assert_eq!(hook.secret().expose(), secret.as_str());
    }
}
