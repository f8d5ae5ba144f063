//! The app's installation, the portal's side: `ONAPPINSTALL` posted to the app's URL with a
//! fresh token pair and the application token, and `ONAPPUNINSTALL`, after which the portal
//! forgets the app's bindings, queue and tokens.

use serde_json::{Value, json};

use super::deliver::{self, send};
use crate::oauth;
use crate::portal::{Portal, lock};

fn ts(portal: &Portal) -> Value {
    json!(portal.clock.wall(portal.clock.now()).floor() as i64)
}

/// POST `ONAPPINSTALL` to `url`; the app's HTTP status, or `None` when it was not reached.
pub(crate) async fn install(portal: &Portal, url: &str) -> Option<u16> {
    let (lifetime, user_id) = {
        let s = portal.settings();
        (s.access_token_lifetime_secs, s.webhook_user_id)
    };
    let pair = lock(&portal.tokens).issue(portal.clock.now(), lifetime);
    let body = deliver::form(&[
        ("event", json!("ONAPPINSTALL")),
        ("data", json!({"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "en"})),
        ("ts", ts(portal)),
        ("auth", oauth::auth_block(portal, &pair, user_id)),
    ]);
    send(portal, "ONAPPINSTALL", url, body).await
}

/// POST `ONAPPUNINSTALL` to `url` (the `auth` block carries no tokens), then drop the app's
/// bindings, offline queue and tokens.
pub(crate) async fn uninstall(portal: &Portal, url: &str) -> Option<u16> {
    let s = portal.settings();
    let domain = oauth::domain(portal, &s);
    let body = deliver::form(&[
        ("event", json!("ONAPPUNINSTALL")),
        ("data", json!({"CLEAN": "0"})),
        ("ts", ts(portal)),
        ("auth", json!({"domain": domain, "member_id": s.member_id, "application_token": s.application_token})),
    ]);
    let status = send(portal, "ONAPPUNINSTALL", url, body).await;
    {
        let mut data = lock(&portal.data);
        data.events = super::Events::default();
    }
    lock(&portal.tokens).expire_all();
    status
}
