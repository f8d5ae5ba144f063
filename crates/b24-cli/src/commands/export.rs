//! `b24 export METHOD --format jsonl|csv --out FILE [--resume]`: the fast export to a file, with
//! a progress bar (rows, rows/s, and a percentage when `--count` asked for the total).
//!
//! Rows go to `FILE.partial` and the file is renamed to `FILE` when the export is complete, so
//! an existing `FILE` is never emptied and a half-written one never looks finished. When the
//! export fails, the rows written stay in `FILE.partial` and the tool prints the command that
//! goes on from the last id written (`--resume`, see [`crate::commands::resume`]).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use b24_sdk::{Client, Code, Error, ListQuery};
use futures::TryStreamExt;
use serde_json::Value;

use super::resume::{self, Written};
use crate::kv;
use crate::output::{RowWriter, thousands};
use crate::{Format, PortalArgs, progress};

/// The arguments of `b24 export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The list method, e.g. crm.deal.list, crm.item.list, tasks.task.list.
    pub method: String,
    /// Filter conditions as key=value, the key with its operator: `>ID=100`, `STAGE_ID=WON`,
    /// `@ID=[1,2,3]` (not the `filter[...]` form of `call`).
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Fields to select, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Other params as key=value (entityTypeId=2).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub param: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Output file (written as FILE.partial, renamed when complete).
    #[arg(long)]
    pub out: PathBuf,
    /// Go on with a failed export from the last id in FILE.partial.
    #[arg(long)]
    pub resume: bool,
    /// Fetch exactly this many id windows at once (default: as many as the portal serves,
    /// found from its answers).
    #[arg(long)]
    pub chains: Option<usize>,
    /// The most requests in flight while finding the portal's parallelism (default 16).
    #[arg(long)]
    pub max_chains: Option<usize>,
    /// Ask for the total first (one COUNT query) to show a percentage.
    #[arg(long)]
    pub count: bool,
    #[command(flatten)]
    pub portal: PortalArgs,
}

impl Args {
    /// The options these arguments give.
    pub fn options(&self) -> Options<'_> {
        Options {
            method: &self.method,
            filter: &self.filter,
            select: &self.select,
            param: &self.param,
            format: self.format,
            out: &self.out,
            resume: self.resume,
            chains: self.chains,
            max_chains: self.max_chains,
            count: self.count,
        }
    }
}

/// What to export and where.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The list method.
    pub method: &'a str,
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
    /// Go on from `out.partial`.
    pub resume: bool,
    /// Id windows at once, fixed (None: adaptive).
    pub chains: Option<usize>,
    /// The cap of adaptive concurrency.
    pub max_chains: Option<usize>,
    /// Ask for the total first.
    pub count: bool,
}

fn io(e: std::io::Error, what: &str) -> Error {
    Error::sdk(Code::JssdkIoError, format!("{what}: {e}"))
}

/// Build the query from the options.
pub fn query(o: &Options<'_>) -> Result<ListQuery, Error> {
    let mut q = ListQuery::new(o.method);
    if let Some(chains) = o.chains {
        q = q.chains(chains);
    } else if let Some(max) = o.max_chains {
        q = q.max_chains(max);
    }
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

/// Where rows go until the export is complete.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// The partial file, opened for appending after what an earlier run wrote (`--resume`), or
/// created empty.
fn open_partial(o: &Options<'_>, partial: &Path, id_field: &str) -> Result<(File, Option<Written>), Error> {
    if !o.resume {
        let file = File::create(partial).map_err(|e| io(e, &format!("cannot create {}", partial.display())))?;
        return Ok((file, None));
    }
    if !partial.exists() {
        if o.out.exists() {
            return Err(Error::sdk(
                Code::JssdkInvalidConfig,
                format!(
                    "{} is complete and there is no {} to resume from; remove --resume to export again",
                    o.out.display(),
                    partial.display()
                ),
            ));
        }
        let file = File::create(partial).map_err(|e| io(e, &format!("cannot create {}", partial.display())))?;
        return Ok((file, None));
    }
    let written = resume::scan(partial, o.format, id_field)?;
    let mut file = OpenOptions::new()
        .write(true)
        .open(partial)
        .map_err(|e| io(e, &format!("cannot open {}", partial.display())))?;
    // Anything after the last complete row (a crash mid-write) is cut off.
    file.set_len(written.end).map_err(|e| io(e, &format!("cannot truncate {}", partial.display())))?;
    file.seek(SeekFrom::End(0)).map_err(|e| io(e, &format!("cannot seek in {}", partial.display())))?;
    Ok((file, Some(written)))
}

/// Export; prints a summary line on stderr, or, when it fails, the command that resumes.
pub async fn run(client: &Client, o: &Options<'_>) -> Result<(), Error> {
    let mut q = query(o)?;
    let id_field = q.id_keys().1.to_owned();
    let partial = partial_path(o.out);
    let (file, written) = open_partial(o, &partial, &id_field)?;
    let already = written.as_ref().map_or(0, |w| w.rows);
    if let Some(last) = written.as_ref().and_then(|w| w.last_id) {
        q = q.after(last);
    }
    let total = if o.count {
        let mut params = serde_json::Map::new();
        params.insert("filter".into(), Value::Object(kv::filter(o.filter)?));
        if let Value::Object(extra) = kv::params(o.param)? {
            params.extend(extra);
        }
        client.v2().call(o.method, &Value::Object(params)).await?.total()?
    } else {
        None
    };
    let bar = progress::rows_bar(total);
    bar.set_position(already);
    let writer = BufWriter::with_capacity(1 << 20, file);
    let mut rows = match o.format {
        Format::Jsonl => RowWriter::Jsonl(writer),
        Format::Csv => {
            let header = written.as_ref().and_then(|w| w.header.clone());
            RowWriter::Csv { writer: Box::new(csv::Writer::from_writer(writer)), header }
        }
    };
    let started = Instant::now();
    let mut count = 0u64;
    let mut pages = client.v2().fetch_list::<Value>(q);
    let outcome = async {
        while let Some(page) = pages.try_next().await? {
            for row in &page {
                rows.write(row).map_err(|e| io(e, "cannot write a row"))?;
            }
            count += page.len() as u64;
            bar.set_position(already + count);
        }
        Ok::<_, Error>(())
    }
    .await;
    let flushed = rows.finish().map_err(|e| io(e, &format!("cannot flush {}", partial.display())));
    bar.finish_and_clear();
    if let Err(e) = outcome.and(flushed) {
        eprintln!("export stopped after {} rows, kept in {}", thousands(already + count), partial.display());
        // The error line shows this message beside the cause: the command that goes on.
        let code = e.code().known().unwrap_or(Code::JssdkCoreB24FetchListMethodApiV2);
        let message = format!("{}; resume with: {}", e.message(), resume::command_line());
        return Err(Error::wrap(code, message, e));
    }
    std::fs::rename(&partial, o.out)
        .map_err(|e| io(e, &format!("cannot rename {} to {}", partial.display(), o.out.display())))?;
    let elapsed = started.elapsed();
    let rate = (count as f64 / elapsed.as_secs_f64().max(1e-9)).round() as u64;
    eprintln!(
        "exported {} rows to {} in {} ({} rows/s)",
        thousands(already + count),
        o.out.display(),
        progress::clock(elapsed),
        thousands(rate)
    );
    Ok(())
}
