//! Reading the rows of `b24 import`: one JSON object per line, or CSV with a header row, each
//! row named by its input line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use b24_sdk::actions::WriteRow;
use b24_sdk::{Code, Error};
use serde_json::{Map, Value};

use crate::Format;

fn unreadable(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::sdk(Code::JssdkIoError, format!("cannot read {}: {e}", path.display()))
}

/// Rows with their input lines.
pub type Rows = Box<dyn Iterator<Item = (u64, Result<WriteRow, Error>)> + Send>;

/// The rows of `path`, read as they are needed: `Err` for a line that is not a row (the import
/// reports it and goes on) and for a file that cannot be read (which ends the import).
pub fn read(path: &Path, format: Format, needs_id: bool) -> Result<Rows, Error> {
    let file = File::open(path).map_err(|e| unreadable(path, e))?;
    let shown = path.to_owned();
    Ok(match format {
        Format::Jsonl => {
            Box::new(BufReader::with_capacity(1 << 16, file).lines().enumerate().filter_map(move |(i, line)| {
                let line_no = i as u64 + 1;
                let row = match line {
                    Err(e) => Err(unreadable(&shown, e)),
                    Ok(text) if text.trim().is_empty() => return None,
                    Ok(text) => serde_json::from_str::<Value>(&text)
                        .map_err(|e| {
                            Error::sdk(Code::JssdkInvalidParams, format!("line {line_no}: not a JSON object ({e})"))
                        })
                        .and_then(|v| WriteRow::from_json(line_no, v, needs_id)),
                };
                Some((line_no, row))
            }))
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(BufReader::with_capacity(1 << 16, file));
            let header: Vec<String> =
                reader.headers().map_err(|e| unreadable(path, e))?.iter().map(str::to_owned).collect();
            Box::new(reader.into_records().map(move |record| match record {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let fields: Map<String, Value> =
                        header.iter().cloned().zip(record.iter().map(|v| Value::String(v.to_owned()))).collect();
                    (line, WriteRow::from_json(line, Value::Object(fields), needs_id))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    (line, Err(Error::sdk(Code::JssdkInvalidParams, format!("line {line}: not a CSV record ({e})"))))
                }
            }))
        }
    })
}

/// The format of `path` when none is given: CSV for `*.csv`, JSON lines otherwise.
pub fn format_of(path: &Path, given: Option<Format>) -> Format {
    given.unwrap_or_else(|| {
        let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if csv { Format::Csv } else { Format::Jsonl }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_and_csv_rows_carry_their_input_lines() {
        let dir = std::env::temp_dir().join(format!("b24-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let jsonl = dir.join("in.jsonl");
        std::fs::write(&jsonl, "{\"TITLE\":\"a\"}\n\nnot json\n{\"TITLE\":\"b\"}\n").expect("write");
        let rows: Vec<(u64, Result<WriteRow, Error>)> = read(&jsonl, Format::Jsonl, false).expect("open").collect();
        let lines: Vec<(u64, bool)> = rows.iter().map(|(l, r)| (*l, r.is_ok())).collect();
        assert_eq!(lines, vec![(1, true), (3, false), (4, true)], "blank lines skipped, bad ones reported");
        let csv = dir.join("in.csv");
        std::fs::write(&csv, "ID,TITLE\n7,\"two\nlines\"\n8,b\n").expect("write");
        let rows: Vec<(u64, Result<WriteRow, Error>)> = read(&csv, Format::Csv, true).expect("open").collect();
        let ok: Vec<(u64, Option<Value>)> = rows.into_iter().map(|(l, r)| (l, r.ok().and_then(|r| r.id))).collect();
        assert_eq!(ok, vec![(2, Some(Value::from("7"))), (4, Some(Value::from("8")))]);
        assert_eq!(format_of(&csv, None), Format::Csv);
        assert_eq!(format_of(&jsonl, Some(Format::Csv)), Format::Csv);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
