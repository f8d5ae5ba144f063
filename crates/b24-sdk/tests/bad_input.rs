//! A clear, coded error for every kind of bad input — never a panic. One table.

use b24_emulator::{Emulator, Settings};
use b24_sdk::prelude::*;
use b24_sdk::transport::B24Request;
use serde_json::json;

#[derive(Debug)]
struct Case {
    what: &'static str,
    got: Result<(), Error>,
    want: Code,
}

fn case(what: &'static str, got: Result<(), Error>, want: Code) -> Case {
    Case { what, got, want }
}

#[tokio::test]
async fn every_bad_input_gets_its_code() {
    let portal = Emulator::start(Settings::fast().with_rows(3_000)).await.expect("emulator");
    let client = Client::builder().webhook(&portal.webhook_url()).plan(Plan::Unlimited).build().expect("client");
    let mut small = b24_sdk::transport::TransportConfig::unlimited();
    small.max_response_bytes = 4096;
    let capped = Client::builder()
        .webhook(&portal.webhook_url())
        .transport_config(small)
        .plan(Plan::Unlimited)
        .build()
        .expect("client");
    let unit = |r: Result<Client, Error>| r.map(|_| ());
    let mut non_string_keys = std::collections::HashMap::new();
    non_string_keys.insert((1, 2), "x");

    let cases = vec![
        case("empty webhook URL", unit(Client::from_webhook_url("")), Code::JssdkInvalidWebhookUrl),
        case("not a URL", unit(Client::from_webhook_url("portal/rest/1/x")), Code::JssdkInvalidWebhookUrl),
        case(
            "no /rest/ path",
            unit(Client::from_webhook_url("https://p.example.invalid/api/1/fakesecret0/")),
            Code::JssdkInvalidWebhookUrl,
        ),
        case(
            "user id not a number",
            unit(Client::from_webhook_url("https://p.example.invalid/rest/me/fakesecret0/")),
            Code::JssdkInvalidWebhookUrl,
        ),
        case(
            "secret missing",
            unit(Client::from_webhook_url("https://p.example.invalid/rest/1/")),
            Code::JssdkInvalidWebhookUrl,
        ),
        case(
            "user info in the URL",
            unit(Client::from_webhook_url("https://a:b@p.example.invalid/rest/1/fakesecret0/")),
            Code::JssdkInvalidWebhookUrl,
        ),
        case(
            "plain http to a cloud portal",
            unit(Client::from_webhook_url("http://p.bitrix24.com/rest/1/fakesecret0/")),
            Code::JssdkInsecureUrl,
        ),
        case("no credentials", unit(Client::builder().build()), Code::JssdkCoreB24NotInit),
        case("empty method", B24Request::v2("", &json!({})).map(|_| ()), Code::JssdkInvalidMethod),
        case("method with spaces", B24Request::v2("crm deal list", &json!({})).map(|_| ()), Code::JssdkInvalidMethod),
        case("method with a slash", B24Request::v2("crm/deal.list", &json!({})).map(|_| ()), Code::JssdkInvalidMethod),
        case(
            "params not an object",
            B24Request::v2("crm.deal.list", &json!([1, 2])).map(|_| ()),
            Code::JssdkInvalidParams,
        ),
        case(
            "params that cannot be serialized",
            B24Request::v2("crm.deal.list", &non_string_keys).map(|_| ()),
            Code::JssdkInvalidParams,
        ),
        case("a batch of 0", Batch::list(vec![]).map(|_| ()), Code::JssdkBatchEmpty),
        case(
            "a batch of 51",
            Batch::list((0..51).map(|_| Command::new("server.time", json!({}))).collect()).map(|_| ()),
            Code::JssdkBatchTooLarge,
        ),
        case(
            "a response over the size cap",
            capped.v2().call("crm.deal.list", &json!({"start": -1})).await.map(|_| ()),
            Code::JssdkResponseTooLarge,
        ),
        case(
            "a result that does not fit the type",
            client.call::<Vec<u64>>("server.time", &()).await.map(|_| ()),
            Code::JssdkResponseUnexpectedShape,
        ),
        case(
            "a v3 call of a v2-only method",
            client.v3().call("crm.deal.list", &json!({})).await.map(|_| ()),
            Code::JssdkCoreMethodNotSupportInApiV3,
        ),
        case(
            "an unknown method (the portal's code)",
            client.v2().call("no.such.method", &json!({})).await.map(|_| ()),
            Code::ErrorMethodNotFound,
        ),
        case("an event without auth", b24_sdk::events::Event::parse("event=X").map(|_| ()), Code::JssdkEventInvalid),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        match &c.got {
            Err(e) if e.code() == c.want || e.root().code() == c.want => {
                assert!(!e.message().is_empty(), "{}: an empty message", c.what);
            }
            other => failures.push(format!("{}: wanted {}, got {other:?}", c.what, c.want)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} bad inputs, each with its code", cases.len());
}

#[test]
fn invalid_utf8_truncated_html_and_deep_bodies_never_panic() {
    // The envelope parser is reached through the transport's fuzzing entry point.
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"result\":\"\xff\xfe\"}".to_vec(),
        b"{\"result\":[1,2".to_vec(),
        b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        format!("{{\"result\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        b"".to_vec(),
        b"null".to_vec(),
        b"{\"error\":{\"validation\":\"not a list\"}}".to_vec(),
    ];
    for body in bodies {
        for status in [200, 400, 500, 503] {
            let e = b24_sdk::transport::fuzzing::parse_envelope(status, &body).expect_err("not a success");
            assert!(!e.code().as_str().is_empty() || e.status() >= 400);
        }
    }
}
