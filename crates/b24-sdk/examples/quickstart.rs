//! Quickstart: call a portal through a webhook.
//!
//! `B24_WEBHOOK_URL=https://<portal>/rest/<user>/<secret>/ cargo run -p b24-sdk --example quickstart`
//! (without the variable it starts a local emulator).

use b24_sdk::prelude::*;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_portal, url) = portal_url().await?;
    let client = Client::from_webhook_url(&url)?;

    println!("portal time: {}", client.server_time().await?);
    let me = client.user_current().await?;
    println!("acting as user #{}", me.id);

    let deals: Vec<serde_json::Value> =
        client.call("crm.deal.list", &json!({"select": ["ID", "TITLE"], "start": -1})).await?;
    println!("first page: {} deals", deals.len());

    // Errors carry stable codes: match on them, not on messages.
    match client.call::<serde_json::Value>("crm.deal.get", &json!({"id": 999_999_999})).await {
        Err(e) if e.code() == "" && e.status() == 400 => println!("not found, as expected ({})", e.message()),
        Err(e) => return Err(e),
        Ok(v) => println!("found: {v}"),
    }
    Ok(())
}

/// The webhook from `B24_WEBHOOK_URL`, or a local emulator's.
async fn portal_url() -> Result<(Option<b24_sdk::emulator::EmulatorHandle>, String), Error> {
    if let Ok(url) = std::env::var("B24_WEBHOOK_URL") {
        return Ok((None, url));
    }
    let portal = b24_sdk::emulator::Emulator::start(b24_sdk::emulator::Settings::fast().with_rows(500))
        .await
        .map_err(Error::from_error)?;
    let url = portal.webhook_url();
    Ok((Some(portal), url))
}
