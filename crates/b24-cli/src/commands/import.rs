//! `b24 import METHOD --in FILE [--format jsonl|csv] [--key FIELD] [--results FILE]`: every row of
//! a file written with one call (`fields` for `*.add`, `id` + `fields` for `*.update`), 50 to a
//! batch, exactly once, with a progress bar (rows, rows/s, ETA).
//!
//! The journal `FILE.journal` records each batch before it is sent and each row's outcome after
//! (`b24_sdk::actions::journal`): running the same command again after a crash, a Ctrl-C or a
//! failure skips the rows already written and settles the batches that were in flight, by
//! looking their rows up by `--key` (v2) or by sending them again with the same
//! `Idempotency-Key` (`--v3`). Without either, a batch whose answer was lost stops the import
//! with `JSSDK_OUTCOME_UNKNOWN`, naming the input lines in doubt.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use b24_sdk::actions::journal::{FileJournal, Resume};
use b24_sdk::actions::{BulkWrite, WriteRow, Written};
use b24_sdk::{Client, Code, Error};
use futures::StreamExt;
use serde_json::Value;

use super::rows;
use crate::kv;
use crate::output::thousands;
use crate::{Format, PortalArgs, progress};

/// The arguments of `b24 import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The method each row is written with, e.g. crm.deal.add, crm.item.add, crm.deal.update.
    pub method: String,
    /// The rows: one JSON object per line (flat fields, or {"id", "fields"}), or CSV with a header.
    #[arg(long = "in")]
    pub input: PathBuf,
    /// The input format (default: csv for *.csv, jsonl otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The field that identifies a row in the portal (e.g. ORIGIN_ID, XML_ID): a batch whose
    /// answer was lost is settled by looking its rows up by it.
    #[arg(long)]
    pub key: Option<String>,
    /// Where to write each row's outcome: `line,id,error_code,error_message` (CSV, appended).
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Params every call gets, as key=value (entityTypeId=2).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub param: Vec<String>,
    /// Write through REST v3, each batch with an Idempotency-Key.
    #[arg(long)]
    pub v3: bool,
    #[command(flatten)]
    pub portal: PortalArgs,
}

/// Where the journal of an import of `input` lives.
pub fn journal_path(input: &std::path::Path) -> PathBuf {
    let mut name = input.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".journal");
    input.with_file_name(name)
}

fn io(e: impl std::fmt::Display, what: String) -> Error {
    Error::sdk(Code::JssdkIoError, format!("{what}: {e}"))
}

/// The results file: one CSV record per row outcome.
struct Results {
    writer: Option<csv::Writer<File>>,
    written: u64,
    failed: u64,
}

impl Results {
    fn open(path: Option<&PathBuf>) -> Result<Results, Error> {
        let writer = match path {
            None => None,
            Some(path) => {
                let new = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| io(e, format!("cannot open {}", path.display())))?;
                let mut w = csv::Writer::from_writer(file);
                if new {
                    w.write_record(["line", "id", "error_code", "error_message"])
                        .map_err(|e| io(e, format!("cannot write to {}", path.display())))?;
                }
                Some(w)
            }
        };
        Ok(Results { writer, written: 0, failed: 0 })
    }

    fn record(&mut self, line: u64, outcome: &Result<Value, Error>) -> Result<(), Error> {
        let (id, code, message) = match outcome {
            Ok(id) => {
                self.written += 1;
                (id.as_str().map_or_else(|| id.to_string(), str::to_owned), String::new(), String::new())
            }
            Err(e) => {
                self.failed += 1;
                (String::new(), e.root().code().as_str().to_owned(), e.root().message().to_owned())
            }
        };
        if let Some(w) = &mut self.writer {
            w.write_record([line.to_string(), id, code, message])
                .map_err(|e| io(e, "cannot write the results".into()))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        match &mut self.writer {
            Some(w) => w.flush().map_err(|e| io(e, "cannot flush the results".into())),
            None => Ok(()),
        }
    }
}

/// One pass over the input: how many rows it has, and the rows of the batches in doubt.
fn survey(a: &Args, format: Format, needs_id: bool, resume: &Resume) -> Result<(u64, Vec<Vec<WriteRow>>), Error> {
    let mut total = 0u64;
    let mut doubtful = std::collections::BTreeMap::new();
    for (line, row) in rows::read(&a.input, format, needs_id)? {
        total += 1;
        if resume.is_in_doubt(line) {
            doubtful.insert(line, row?);
        }
    }
    let batches = resume
        .in_doubt()
        .iter()
        .map(|lines| lines.iter().filter_map(|l| doubtful.remove(l)).collect::<Vec<_>>())
        .filter(|b| !b.is_empty())
        .collect();
    Ok((total, batches))
}

/// Import; prints a summary line on stderr.
pub async fn run(client: &Client, a: &Args) -> Result<(), Error> {
    let format = rows::format_of(&a.input, a.format);
    let journal_file = journal_path(&a.input);
    let (journal, resume) = FileJournal::open(&journal_file)?;
    let mut plan = BulkWrite::new(a.method.clone());
    let needs_id = plan.needs_id();
    let (total, doubtful) = survey(a, format, needs_id, &resume)?;
    if resume.written() > 0 || !doubtful.is_empty() {
        eprintln!(
            "going on from {}: {} rows written before, {} rows in doubt to settle",
            journal_file.display(),
            resume.written(),
            doubtful.iter().map(Vec::len).sum::<usize>()
        );
    }
    if let Value::Object(params) = kv::params(&a.param)? {
        for (k, v) in params {
            plan = plan.param(&k, v);
        }
    }
    if let Some(key) = &a.key {
        plan = plan.key(key.clone());
    }
    let plan = plan.journal(journal).in_doubt(doubtful);
    let results = Arc::new(Mutex::new(Results::open(a.results.as_ref())?));
    let bar = progress::rows_bar(Some(total));
    bar.set_position(resume.written());
    // Rows done before are skipped; rows that are not rows are reported and skipped.
    let input = {
        let results = results.clone();
        let bar = bar.clone();
        futures::stream::iter(rows::read(&a.input, format, needs_id)?).filter_map(move |(line, row)| {
            let keep = match row {
                Ok(_) if resume.is_done(line) || resume.is_in_doubt(line) => None,
                Ok(row) => Some(Ok(row)),
                Err(e) if e.code() == Code::JssdkInvalidParams => {
                    let recorded = results.lock().unwrap_or_else(PoisonError::into_inner).record(line, &Err(e));
                    bar.inc(1);
                    recorded.err().map(Err)
                }
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(keep)
        })
    };
    let started = Instant::now();
    let mut out = if a.v3 { client.v3().write(plan, input) } else { client.v2().write(plan, input) };
    let mut failure = None;
    while let Some(item) = out.next().await {
        match item {
            Ok(Written { line, outcome }) => {
                results.lock().unwrap_or_else(PoisonError::into_inner).record(line, &outcome)?;
                bar.inc(1);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    bar.finish_and_clear();
    let mut results = results.lock().unwrap_or_else(PoisonError::into_inner);
    results.flush()?;
    let (written, failed) = (results.written, results.failed);
    let elapsed = started.elapsed();
    if let Some(e) = failure {
        eprintln!(
            "import stopped: {written} rows written in this run, {failed} refused; the journal {} keeps what is done: run the same command again to go on",
            journal_file.display()
        );
        return Err(e);
    }
    let rate = (written as f64 / elapsed.as_secs_f64().max(1e-9)).round() as u64;
    eprintln!(
        "imported {} rows with {} in {} ({} rows/s), {} refused",
        thousands(written),
        a.method,
        progress::clock(elapsed),
        thousands(rate),
        thousands(failed)
    );
    if failed > 0 {
        let where_ = a
            .results
            .as_ref()
            .map_or_else(|| "pass --results FILE to see them".to_owned(), |p| format!("see {}", p.display()));
        return Err(Error::sdk(
            Code::JssdkBatchSubError,
            format!(
                "{failed} rows were refused by the portal ({where_}); fix them and run the same command again to write only those"
            ),
        ));
    }
    let _ = std::io::stderr().flush();
    Ok(())
}
