//! How the tool speaks: one line per error (code, status, method, hint), exit codes, and the
//! row writers of `export`.

use std::io::Write;

use b24_sdk::Error;

use crate::failure::hint;
use serde_json::Value;

/// `error: CODE (status S) in METHOD [request ID]: message (what b24 was doing) — hint: WHAT TO DO`
///
/// The code and status are the innermost failure's: the portal's own code for a failed batch
/// command or list page, not the wrapper b24 put around it.
pub fn error_line(e: &Error) -> String {
    let root = e.root();
    let code = root.code();
    let mut line = if code.as_str().is_empty() {
        format!("error: \"\" (status {}; legacy methods send their errors without a code)", root.status())
    } else {
        format!("error: {} (status {})", code.as_str(), root.status())
    };
    if let Some(r) = root.request().or_else(|| e.request()) {
        line.push_str(&format!(" in {} [request {}]", r.method(), r.request_id()));
    }
    line.push_str(&format!(": {}", if root.message().is_empty() { e.message() } else { root.message() }));
    if e.code() != code && !e.message().is_empty() && e.message() != root.message() {
        line.push_str(&format!(" ({})", e.message()));
    }
    if e.attempts() > 1 {
        line.push_str(&format!(" (after {} attempts)", e.attempts()));
    }
    if let Some(hint) = code.known().and_then(hint).or_else(|| e.code().known().and_then(hint)) {
        line.push_str(&format!(" — hint: {hint}"));
    }
    line.replace('\n', " ")
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use b24_sdk::Code;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(
            (thousands(0), thousands(999), thousands(1000), thousands(1234567)),
            ("0".into(), "999".into(), "1,000".into(), "1,234,567".into())
        );
    }

    #[test]
    fn the_line_shows_the_innermost_code_and_a_shell_hint() {
        let request =
            b24_sdk::errors::RequestInfo::new("crm.deal.get", "r-1#b", b24_sdk::ApiVersion::V2, &serde_json::json!({}));
        let portal =
            b24_sdk::errors::PortalFailure::new(b24_sdk::ErrorCode::from_portal(""), 400, "Not found", request);
        let e = Error::wrap(Code::JssdkBatchSubError, "1 of 2 commands failed", Error::portal(portal));
        let line = error_line(&e);
        assert!(line.starts_with("error: \"\" (status 400;"), "{line}");
        assert!(line.contains("in crm.deal.get [request r-1#b]: Not found (1 of 2 commands failed)"), "{line}");
        assert!(!line.contains("JSSDK_BATCH_SUB_ERROR") && !line.contains("status 500"), "{line}");
        let timeout = error_line(&Error::sdk(Code::JssdkTimeout, "no answer in 70 s"));
        assert!(timeout.contains("--timeout"), "{timeout}");
    }
}
