//! A builder's `Debug` (what ends up in logs) never shows a credential it carries: the params of
//! a SIP line's password, an app's token.

use b24_methods::prelude::*;

mod common;

const PASSWORD: &str = "fake-sip-password-4f2a";
const TOKEN: &str = "fake-application-token-77c1";

#[tokio::test]
async fn builders_redact_credentials_in_debug() {
    let a = common::offline_actions();
    let sip = a.voximplant().sip().add("sip.example.invalid", "line-user").password(PASSWORD).title("line");
    let shown = format!("{sip:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("voximplant.sip.add") && shown.contains("line-user"), "{shown}");
    // The wire still carries it: only Debug hides it.
    assert_eq!(sip.wire_params()["PASSWORD"], PASSWORD);

    let none = Vec::<String>::new;
    let install = a.rest_v3().rest().application().local().install(
        "t",
        "https://example.invalid/",
        none(),
        false,
        none(),
        none(),
    );
    let install = install.application_token(TOKEN);
    let shown = format!("{install:?} {:?}", install.clone().into_command());
    assert!(!shown.contains(TOKEN), "{shown}");
}
