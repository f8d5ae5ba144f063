//! `b24 export METHOD --format jsonl|csv --out FILE`: the fast export to a file, with a
//! progress bar (rows, rows/s, and a percentage when `--count` asked for the total).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use b24_sdk::{Client, Code, Error, ListQuery};
use futures::TryStreamExt;
use serde_json::Value;

use crate::Format;
use crate::kv;
use crate::output::{RowWriter, thousands};
use crate::progress;

/// What to export and where.
pub struct Options<'a> {
    /// `key=value` filter conditions.
    pub filter: &'a [String],
    /// Fields to select.
    pub select: &'a [String],
    /// Other `key=value` params.
    pub param: &'a [String],
    /// Output format.
    pub format: Format,
    /// Output file.
    pub out: &'a PathBuf,
    /// Id windows at once.
    pub chains: usize,
    /// Ask for the total first.
    pub count: bool,
}

fn io(e: std::io::Error, what: &str) -> Error {
    Error::sdk(Code::JssdkIoError, format!("{what}: {e}"))
}

/// Build the query from the options.
pub fn query(method: &str, o: &Options<'_>) -> Result<ListQuery, Error> {
    let mut q = ListQuery::new(method).chains(o.chains);
    for (k, v) in kv::filter(o.filter)? {
        q = q.filter(&k, v);
    }
    if let Value::Object(params) = kv::params(o.param)? {
        for (k, v) in params {
            q = q.param(&k, v);
        }
    }
    if !o.select.is_empty() {
        q = q.select(o.select.iter().cloned());
    }
    Ok(q)
}

/// Export; prints a summary line on stderr.
pub async fn run(client: &Client, method: &str, o: &Options<'_>) -> Result<(), Error> {
    let q = query(method, o)?;
    let total = if o.count {
        let mut params = serde_json::Map::new();
        params.insert("filter".into(), Value::Object(kv::filter(o.filter)?));
        if let Value::Object(extra) = kv::params(o.param)? {
            params.extend(extra);
        }
        client.v2().call(method, &Value::Object(params)).await?.total()?
    } else {
        None
    };
    let bar = progress::rows_bar(total);
    let file = File::create(o.out).map_err(|e| io(e, &format!("cannot create {}", o.out.display())))?;
    let writer = BufWriter::with_capacity(1 << 20, file);
    let mut rows = match o.format {
        Format::Jsonl => RowWriter::Jsonl(writer),
        Format::Csv => RowWriter::Csv { writer: Box::new(csv::Writer::from_writer(writer)), header: None },
    };
    let started = Instant::now();
    let mut written = 0u64;
    let mut pages = client.v2().fetch_list::<Value>(q);
    while let Some(page) = pages.try_next().await? {
        for row in &page {
            rows.write(row).map_err(|e| io(e, &format!("cannot write to {}", o.out.display())))?;
        }
        written += page.len() as u64;
        bar.set_position(written);
    }
    rows.finish().map_err(|e| io(e, &format!("cannot write to {}", o.out.display())))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let rate = (written as f64 / elapsed.as_secs_f64().max(1e-9)).round() as u64;
    eprintln!(
        "exported {} rows to {} in {} ({} rows/s)",
        thousands(written),
        o.out.display(),
        progress::clock(elapsed),
        thousands(rate)
    );
    Ok(())
}
