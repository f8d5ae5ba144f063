//! Going on after a failure: what an earlier `export` left in its partial file, and the command
//! line that resumes it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use b24_sdk::{Code, Error};

use crate::Format;

/// What an earlier run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Where the last complete row ends (anything after it is cut off).
    pub end: u64,
    /// Complete rows.
    pub rows: u64,
    /// The id of the last complete row.
    pub last_id: Option<u64>,
    /// The CSV header, when there is one.
    pub header: Option<Vec<String>>,
}

fn unreadable(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::sdk(
        Code::JssdkInvalidConfig,
        format!("cannot resume from {}: {why}; remove it to export again from the start", path.display()),
    )
}

fn id_of(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Read `path` (written as `format`): its complete rows and the id (`id_field`) of the last.
pub fn scan(path: &Path, format: Format, id_field: &str) -> Result<Written, Error> {
    let file =
        File::open(path).map_err(|e| Error::sdk(Code::JssdkIoError, format!("cannot read {}: {e}", path.display())))?;
    match format {
        Format::Jsonl => scan_jsonl(path, file, id_field),
        Format::Csv => scan_csv(path, file, id_field),
    }
}

fn scan_jsonl(path: &Path, file: File, id_field: &str) -> Result<Written, Error> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (mut end, mut rows) = (0u64, 0u64);
    let mut line = Vec::new();
    let mut last = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| unreadable(path, e))?;
        // A line without its newline was cut off mid-write: it is not a row.
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        end += n as u64;
        rows += 1;
        std::mem::swap(&mut last, &mut line);
    }
    let last_id = if rows == 0 {
        None
    } else {
        let row: serde_json::Value =
            serde_json::from_slice(&last).map_err(|e| unreadable(path, format!("its last line is not JSON ({e})")))?;
        let id = match &row[id_field] {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => id_of(s),
            _ => None,
        };
        Some(id.ok_or_else(|| unreadable(path, format!("its last row has no numeric `{id_field}`")))?)
    };
    Ok(Written { end, rows, last_id, header: None })
}

fn scan_csv(path: &Path, mut file: File, id_field: &str) -> Result<Written, Error> {
    // Whether the file ends a record: a last record without its newline was cut off mid-write.
    let len = file.metadata().map_err(|e| unreadable(path, e))?.len();
    let mut tail = [0u8; 1];
    let ends_clean = len == 0 || {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::End(-1)).and_then(|_| file.read_exact(&mut tail)).map_err(|e| unreadable(path, e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| unreadable(path, e))?;
        tail[0] == b'\n'
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    let mut column = None;
    let (mut end, mut rows, mut last_id) = (0u64, 0u64, None);
    // A record that does not parse (cut inside a quoted field) ends the complete ones.
    while let Ok(true) = reader.read_byte_record(&mut record) {
        let after = reader.position().byte();
        if after >= len && !ends_clean {
            break;
        }
        match &header {
            None => {
                let names: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                column = names.iter().position(|n| n == id_field);
                if column.is_none() {
                    return Err(unreadable(path, format!("its header has no `{id_field}` column")));
                }
                header = Some(names);
            }
            Some(_) => {
                let id = column.and_then(|c| record.get(c)).and_then(|f| id_of(&String::from_utf8_lossy(f)));
                last_id =
                    Some(id.ok_or_else(|| unreadable(path, format!("row {} has no numeric `{id_field}`", rows + 1)))?);
                rows += 1;
            }
        }
        end = after;
    }
    Ok(Written { end, rows, last_id, header })
}

/// Shell-quote one argument when it needs it.
fn quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '=' | '@' | '+'));
    if plain { arg.to_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

/// This invocation with `--resume` added, and without `--webhook` (its secret never goes into
/// a message: the resumed run reads `B24_WEBHOOK_URL` or takes `--webhook` again).
pub fn command_line() -> String {
    resumed(std::env::args().skip(1))
}

fn resumed(args: impl Iterator<Item = String>) -> String {
    let mut out = vec!["b24".to_owned()];
    let mut args = args.peekable();
    let mut resume = false;
    while let Some(arg) = args.next() {
        if arg == "--webhook" {
            args.next();
            continue;
        }
        if arg.starts_with("--webhook=") {
            continue;
        }
        resume |= arg == "--resume";
        out.push(quoted(&arg));
    }
    if !resume {
        out.push("--resume".to_owned());
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("b24-resume-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn a_jsonl_file_cut_mid_row_resumes_after_its_last_whole_row() {
        let text = b"{\"ID\":\"3\",\"TITLE\":\"a\"}\n{\"ID\":\"7\",\"TITLE\":\"b\"}\n{\"ID\":\"9\",\"TI";
        let path = file("cut.jsonl", text);
        let w = scan(&path, Format::Jsonl, "ID").expect("scan");
        assert_eq!((w.rows, w.last_id, w.end), (2, Some(7), 46));
        let empty = scan(&file("empty.jsonl", b""), Format::Jsonl, "ID").expect("empty");
        assert_eq!((empty.rows, empty.last_id, empty.end), (0, None, 0));
        let e = scan(&file("bad.jsonl", b"{\"id\":1}\nnot json\n"), Format::Jsonl, "id").expect_err("bad");
        assert_eq!(e.code(), Code::JssdkInvalidConfig);
    }

    #[test]
    fn a_csv_file_keeps_its_header_and_drops_a_cut_record() {
        let text = b"id,title\n3,\"two\nlines\"\n7,b\n9,\"cut";
        let path = file("cut.csv", text);
        let w = scan(&path, Format::Csv, "id").expect("scan");
        assert_eq!((w.rows, w.last_id), (2, Some(7)));
        assert_eq!(w.header, Some(vec!["id".to_owned(), "title".to_owned()]));
        assert_eq!(&text[..w.end as usize], b"id,title\n3,\"two\nlines\"\n7,b\n");
        let e = scan(&file("noid.csv", b"title\nx\n"), Format::Csv, "id").expect_err("no id column");
        assert!(e.message().contains("no `id` column"), "{e}");
    }

    #[test]
    fn the_resume_command_leaves_the_webhook_out() {
        let args = ["--webhook", "https://x.example.invalid/rest/1/fakesecret0/", "export", "crm.deal.list"]
            .into_iter()
            .chain(["--filter", "STAGE_ID=WON won", "--webhook=https://y/rest/1/fakesecret1/", "--out", "d.jsonl"])
            .map(str::to_owned);
        let line = resumed(args);
        assert_eq!(line, "b24 export crm.deal.list --filter 'STAGE_ID=WON won' --out d.jsonl --resume");
        assert_eq!(
            resumed(["export", "x.list", "--resume"].into_iter().map(str::to_owned)),
            "b24 export x.list --resume"
        );
    }
}
