//! The bulk writer's journal: each batch recorded before it is sent and each row's outcome after,
//! so that a run after a crash or Ctrl-C skips the rows already written and settles the batches
//! that were in flight, never writing a row twice.
//!
//! [`FileJournal`] appends one JSON object per line to a file:
//!
//! ```text
//! {"sending":[101,102,...,150]}          a batch is about to go out (flushed to disk first)
//! {"line":101,"id":4711}                 written
//! {"line":102,"error":{"code":"...","message":"..."}}   refused by the portal (tried again next run)
//! {"not_sent":[151,...,200]}             the batch failed before the portal applied anything
//! ```
//!
//! A batch recorded as sending whose rows have no outcome was in flight when the run stopped:
//! [`Resume::in_doubt`] gives its lines, for [`crate::writer::BulkWrite::in_doubt`].

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use b24_errors::{Code, Error};
use serde_json::{Value, json};

use crate::writer::Written;

/// Where the bulk writer records what it does.
pub trait Journal: Send {
    /// A batch of these input lines is about to be sent.
    fn sending(&mut self, lines: &[u64]) -> Result<(), Error>;
    /// The batch of these lines failed before the portal applied any of it.
    fn not_sent(&mut self, lines: &[u64]) -> Result<(), Error>;
    /// A row's outcome.
    fn written(&mut self, written: &Written) -> Result<(), Error>;
}

/// No journal: nothing survives the process.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJournal;

impl Journal for NoJournal {
    fn sending(&mut self, _: &[u64]) -> Result<(), Error> {
        Ok(())
    }
    fn not_sent(&mut self, _: &[u64]) -> Result<(), Error> {
        Ok(())
    }
    fn written(&mut self, _: &Written) -> Result<(), Error> {
        Ok(())
    }
}

/// What an earlier run left: the lines done and the batches in doubt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resume {
    /// Lines written, as sorted, disjoint, inclusive ranges.
    done: Vec<(u64, u64)>,
    /// Batches sent without an outcome for every row, as they were sent.
    in_doubt: Vec<Vec<u64>>,
    /// Rows written.
    written: u64,
}

impl Resume {
    /// Whether line `line` was written.
    pub fn is_done(&self, line: u64) -> bool {
        let i = self.done.partition_point(|&(_, hi)| hi < line);
        self.done.get(i).is_some_and(|&(lo, _)| lo <= line)
    }

    /// Batches that were in flight when the earlier run stopped.
    pub fn in_doubt(&self) -> &[Vec<u64>] {
        &self.in_doubt
    }

    /// Whether line `line` belongs to a batch in doubt.
    pub fn is_in_doubt(&self, line: u64) -> bool {
        self.in_doubt.iter().any(|b| b.contains(&line))
    }

    /// Rows written by earlier runs.
    pub fn written(&self) -> u64 {
        self.written
    }
}

/// A journal in a file (see the module docs).
#[derive(Debug)]
pub struct FileJournal {
    file: File,
    path: PathBuf,
}

fn journal_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::sdk(Code::JssdkIoError, format!("the journal {}: {what}: {e}", path.display()))
}

fn lines_of(v: &Value) -> Vec<u64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}

impl FileJournal {
    /// Open (or create) the journal at `path` and read what earlier runs recorded in it.
    pub fn open(path: impl Into<PathBuf>) -> Result<(FileJournal, Resume), Error> {
        let path = path.into();
        let resume = if path.exists() { read(&path)? } else { Resume::default() };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| journal_error(&path, "cannot open it", e))?;
        Ok((FileJournal { file, path }, resume))
    }

    fn append(&mut self, entry: &Value, sync: bool) -> Result<(), Error> {
        let mut line = entry.to_string().into_bytes();
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| journal_error(&self.path, "cannot write to it", e))?;
        if sync {
            self.file.sync_data().map_err(|e| journal_error(&self.path, "cannot sync it", e))?;
        }
        Ok(())
    }
}

impl Journal for FileJournal {
    fn sending(&mut self, lines: &[u64]) -> Result<(), Error> {
        // On disk before the batch leaves: a crash after sending must find it.
        self.append(&json!({ "sending": lines }), true)
    }

    fn not_sent(&mut self, lines: &[u64]) -> Result<(), Error> {
        self.append(&json!({ "not_sent": lines }), false)
    }

    fn written(&mut self, written: &Written) -> Result<(), Error> {
        let entry = match &written.outcome {
            Ok(id) => json!({"line": written.line, "id": id}),
            Err(e) => {
                json!({"line": written.line, "error": {"code": e.root().code().as_str(), "message": e.root().message()}})
            }
        };
        self.append(&entry, false)
    }
}

/// A line got its outcome: one fewer open in its batch.
fn settle(sent: &mut BTreeMap<u64, (Vec<u64>, usize)>, open: &mut BTreeMap<u64, u64>, line: u64) {
    if let Some(first) = open.remove(&line) {
        if let Some((_, left)) = sent.get_mut(&first) {
            *left = left.saturating_sub(1);
        }
    }
}

/// Read a journal: a line cut off by a crash is ignored.
fn read(path: &Path) -> Result<Resume, Error> {
    let file = File::open(path).map_err(|e| journal_error(path, "cannot read it", e))?;
    let mut done: Vec<u64> = Vec::new();
    // Batches sent, by first line, with the lines still without an outcome.
    let mut sent: BTreeMap<u64, (Vec<u64>, usize)> = BTreeMap::new();
    let mut open: BTreeMap<u64, u64> = BTreeMap::new();
    for text in BufReader::new(file).lines() {
        let text = text.map_err(|e| journal_error(path, "cannot read it", e))?;
        let Ok(entry) = serde_json::from_str::<Value>(&text) else { continue };
        if let Some(lines) = entry.get("sending").map(lines_of) {
            let Some(&first) = lines.first() else { continue };
            for &l in &lines {
                open.insert(l, first);
            }
            let n = lines.len();
            sent.insert(first, (lines, n));
        } else if let Some(lines) = entry.get("not_sent").map(lines_of) {
            for l in lines {
                settle(&mut sent, &mut open, l);
            }
        } else if let Some(line) = entry.get("line").and_then(Value::as_u64) {
            settle(&mut sent, &mut open, line);
            if entry.get("id").is_some() {
                done.push(line);
            }
        }
    }
    done.sort_unstable();
    done.dedup();
    let written = done.len() as u64;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for line in done {
        match ranges.last_mut() {
            Some((_, hi)) if *hi + 1 == line => *hi = line,
            _ => ranges.push((line, line)),
        }
    }
    let in_doubt = sent.into_values().filter(|(_, left)| *left > 0).map(|(lines, _)| lines).collect();
    Ok(Resume { done: ranges, in_doubt, written })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_cut_by_a_crash_tells_what_is_done_and_what_is_in_doubt() {
        let path = std::env::temp_dir().join(format!("b24-journal-test-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let (mut j, resume) = FileJournal::open(&path).expect("open");
            assert_eq!(resume, Resume::default());
            j.sending(&[1, 2, 3]).expect("sending");
            for line in [1, 2] {
                j.written(&Written { line, outcome: Ok(json!(100 + line)) }).expect("written");
            }
            let refused = Error::sdk(Code::JssdkInvalidParams, "no title");
            j.written(&Written { line: 3, outcome: Err(refused) }).expect("written");
            j.sending(&[4, 5]).expect("sending");
            j.written(&Written { line: 4, outcome: Ok(json!(104)) }).expect("written");
            j.sending(&[6, 7]).expect("sending");
            j.not_sent(&[6, 7]).expect("not sent");
            j.sending(&[8, 9]).expect("sending");
        }
        // A crash in the middle of a line.
        let mut f = OpenOptions::new().append(true).open(&path).expect("append");
        f.write_all(b"{\"line\":9,\"i").expect("cut");
        let (_, resume) = FileJournal::open(&path).expect("reopen");
        assert!(resume.is_done(1) && resume.is_done(2) && resume.is_done(4));
        assert!(!resume.is_done(3), "a refused row is tried again");
        assert!(!resume.is_done(6) && !resume.is_done(9));
        assert_eq!(resume.in_doubt(), &[vec![4, 5], vec![8, 9]], "whole batches, as sent");
        assert!(resume.is_in_doubt(5) && !resume.is_in_doubt(6));
        assert_eq!(resume.written(), 3);
        let _ = std::fs::remove_file(&path);
    }
}
