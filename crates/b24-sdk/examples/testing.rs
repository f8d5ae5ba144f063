//! Test your own code against the emulator: start it on a free port inside the test, point the
//! client at it, and check what the portal saw through its counters.
//!
//! `cargo run -p b24-sdk --example testing` (or copy `won_deals` and `main` into a test of your crate
//! with `b24-sdk = { features = ["emulator"] }` under `[dev-dependencies]`).

use b24_sdk::prelude::*;

/// Your code under test: count the WON deals.
async fn won_deals(client: &Client) -> Result<usize, Error> {
    let rows: Vec<serde_json::Value> =
        client.v2().call_list(ListQuery::new("crm.deal.list").filter("STAGE_ID", "WON").select(["ID"])).await?;
    Ok(rows.len())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    use b24_sdk::emulator::{Emulator, Settings};
    // Deterministic data: the same seed and row count give the same deals every run.
    let portal = Emulator::start(Settings::fast().with_rows(10_000)).await.map_err(Error::from_error)?;
    let client = Client::from_webhook_url(&portal.webhook_url())?;
    let won = won_deals(&client).await?;
    let counters = portal.counters();
    assert!(won > 0);
    assert_eq!(counters.count_queries, 0, "the export never counted");
    println!("{won} WON deals in {} HTTP requests", counters.requests);
    portal.shutdown().await;
    Ok(())
}
