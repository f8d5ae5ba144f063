//! Export a whole list to a file as a stream of pages: memory stays flat, no COUNT query, up to
//! 2,500 rows per HTTP request.
//!
//! `cargo run --release -p b24-sdk --example export` (against a local emulator unless
//! `B24_WEBHOOK_URL` is set).

use std::io::Write;

use b24_sdk::prelude::*;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let portal = match std::env::var("B24_WEBHOOK_URL") {
        Ok(_) => None,
        Err(_) => Some(
            b24_sdk::emulator::Emulator::start(b24_sdk::emulator::Settings::fast().with_rows(50_000))
                .await
                .map_err(Error::from_error)?,
        ),
    };
    let url = match &portal {
        Some(p) => p.webhook_url(),
        None => std::env::var("B24_WEBHOOK_URL").unwrap_or_default(),
    };
    let client = Client::from_webhook_url(&url)?;
    let path = std::env::temp_dir().join("b24-example-deals.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(Error::from_error)?);

    let query = ListQuery::new("crm.deal.list").select(["ID", "TITLE", "STAGE_ID"]);
    let mut pages = client.v2().fetch_list::<serde_json::Value>(query);
    let mut rows = 0usize;
    let mut last_id = None;
    loop {
        match pages.try_next().await {
            Ok(Some(page)) => {
                for row in &page {
                    serde_json::to_writer(&mut out, row).map_err(Error::from_error)?;
                    out.write_all(b"\n").map_err(Error::from_error)?;
                }
                rows += page.len();
                last_id = page.last().and_then(|r| r["ID"].as_str().map(str::to_owned));
            }
            Ok(None) => break,
            // Pages written before the failure are valid: resume with `ListQuery::after(last_id)`.
            Err(e) if e.code() == Code::JssdkCoreB24FetchListMethodApiV2 => {
                eprintln!("stopped after {rows} rows (last id {last_id:?}): {e}");
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    out.flush().map_err(Error::from_error)?;
    println!("{rows} rows written to {}", path.display());
    let _ = std::fs::remove_file(&path);
    Ok(())
}
