//! How the tool speaks: one line per error (code, status, method, hint), exit codes, and the
//! row writers of `export`.

use std::io::Write;

use b24_sdk::Error;
use serde_json::Value;

/// `error: CODE (status S) in METHOD [request ID]: message — hint: FIX`
pub fn error_line(e: &Error) -> String {
    let root = e.root();
    let code = root.code();
    let mut line =
        format!("error: {} (status {})", if code.as_str().is_empty() { "\"\"" } else { code.as_str() }, root.status());
    if e.code() != root.code() {
        line.push_str(&format!(" via {}", e.code()));
    }
    if let Some(r) = e.request() {
        line.push_str(&format!(" in {} [request {}]", r.method(), r.request_id()));
    }
    line.push_str(&format!(": {}", if root.message().is_empty() { e.message() } else { root.message() }));
    if e.attempts() > 1 {
        line.push_str(&format!(" (after {} attempts)", e.attempts()));
    }
    if let Some(fix) = code.known().map(|c| c.fix()).or_else(|| e.code().known().map(|c| c.fix())) {
        line.push_str(&format!(" — hint: {fix}"));
    }
    line.replace('\n', " ")
}

/// 2 for usage and configuration problems, 1 for everything else.
pub fn exit_code(e: &Error) -> u8 {
    match e.status() {
        400 if !e.is_portal_side() => 2,
        _ => 1,
    }
}

/// Writes rows as JSON lines or CSV.
pub enum RowWriter<W: Write> {
    /// One JSON object per line.
    Jsonl(W),
    /// CSV with a header taken from the first row.
    Csv { writer: Box<csv::Writer<W>>, header: Option<Vec<String>> },
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl<W: Write> RowWriter<W> {
    /// Write one row.
    pub fn write(&mut self, row: &Value) -> std::io::Result<()> {
        match self {
            RowWriter::Jsonl(w) => {
                serde_json::to_writer(&mut *w, row)?;
                w.write_all(b"\n")
            }
            RowWriter::Csv { writer, header } => {
                if header.is_none() {
                    let keys: Vec<String> = row.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
                    writer.write_record(&keys)?;
                    *header = Some(keys);
                }
                let keys = header.as_deref().unwrap_or_default();
                writer.write_record(keys.iter().map(|k| cell(row.get(k))))?;
                Ok(())
            }
        }
    }

    /// Flush everything.
    pub fn finish(self) -> std::io::Result<()> {
        match self {
            RowWriter::Jsonl(mut w) => w.flush(),
            RowWriter::Csv { mut writer, .. } => writer.flush(),
        }
    }
}
