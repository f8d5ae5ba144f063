//! `cargo xtask codegen`: the error-code table in `crates/b24-errors/codes.toml` is the one
//! source of truth; this module renders it as Rust (`crates/b24-errors/src/generated.rs`) and as
//! Markdown (`docs/errors.md`), and runs the other generators (the v3 method table, the method
//! layer of `codegen_methods`). In check mode a stale file is an error, and the ordinary test at
//! the bottom of this file fails in `cargo test` the same way.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

/// Where the table lives, relative to the workspace root.
pub(crate) const TABLE: &str = "crates/b24-errors/codes.toml";
const RUST_OUT: &str = "crates/b24-errors/src/generated.rs";
const DOCS_OUT: &str = "docs/errors.md";

/// Write the generated files, or only check that they are fresh.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Write,
    Check,
}

/// The whole table.
#[derive(Deserialize)]
pub(crate) struct Table {
    pub(crate) code: Vec<Entry>,
}

/// One row of the table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) code: String,
    pub(crate) status: Option<u16>,
    pub(crate) side: String,
    pub(crate) raised: String,
    pub(crate) meaning: String,
    pub(crate) fix: String,
    pub(crate) retry: String,
}

const SIDES: &[(&str, &str)] = &[("sdk", "Sdk"), ("rest", "Rest"), ("oauth", "OAuth")];
const RETRY: &[(&str, &str, &str)] = &[
    ("never", "Never", "No: the same request gives the same error; it needs a fix or a human."),
    ("rate_limit", "RateLimit", "Yes, after the request-rate bucket drains: the built-in limiter waits."),
    ("overload", "Overload", "Yes, after a longer back-off (seconds): the portal shed load."),
    ("refresh", "Refresh", "Yes, once, after one coalesced token refresh: automatic for OAuth clients."),
    ("operating", "Operating", "Yes, once the method's operating-time budget frees (`operating_reset_at`)."),
    (
        "transient",
        "Transient",
        "Yes, within the attempt budget (`max_retries`), with backoff; then `JSSDK_CALL_ALL_ATTEMPTS_EXHAUSTED`.",
    ),
    ("log_only", "LogOnly", "Not an error: logged as a warning, never raised."),
];

/// Read and validate the table.
pub(crate) fn load(root: &Path) -> Result<Table, String> {
    let path = root.join(TABLE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: Table = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seen = std::collections::BTreeSet::new();
    let mut variants = std::collections::BTreeSet::new();
    for entry in &table.code {
        if !seen.insert(entry.code.as_str()) {
            return Err(format!("{TABLE}: code {} is listed twice", entry.code));
        }
        if !variants.insert(entry_variant(entry)) {
            return Err(format!("{TABLE}: code {} gives a Rust name another code has", entry.code));
        }
        if entry.code.is_empty() || !entry.code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("{TABLE}: code {:?} is not a valid code string", entry.code));
        }
        if !SIDES.iter().any(|(s, _)| *s == entry.side) {
            return Err(format!("{TABLE}: {}: unknown side {:?}", entry.code, entry.side));
        }
        if !RETRY.iter().any(|(r, _, _)| *r == entry.retry) {
            return Err(format!("{TABLE}: {}: unknown retry class {:?}", entry.code, entry.retry));
        }
        if (entry.retry == "log_only") != entry.status.is_none() {
            return Err(format!("{TABLE}: {}: log-only codes, and only they, have no status", entry.code));
        }
    }
    Ok(table)
}

/// Regenerate (or check) every generated file.
pub(crate) fn run(root: &Path, mode: Mode) -> Result<(), String> {
    let table = load(root)?;
    let rust = format_rust(&render_rust(&table))?;
    let docs = render_docs(&table);
    let v3 = format_rust(&crate::v3_table::render(root)?)?;
    let mut files =
        vec![(RUST_OUT.to_owned(), rust), (DOCS_OUT.to_owned(), docs), (crate::v3_table::OUT.to_owned(), v3)];
    match crate::codegen_emulator::render(root)? {
        Some(source) => files.push((crate::codegen_emulator::OUT.to_owned(), format_rust(&source)?)),
        None => eprintln!("skipped {}: ../shared/catalog is absent", crate::codegen_emulator::OUT),
    }
    let mut stale = crate::codegen_methods::add_files(root, &mut files, mode)?;
    for (rel, contents) in files {
        let path = root.join(&rel);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == contents {
            continue;
        }
        match mode {
            Mode::Check => stale.push(rel),
            Mode::Write => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
                eprintln!("updated {rel}");
            }
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!("generated files are stale: {}; run `cargo xtask codegen` and commit the result", stale.join(", ")))
    }
}

/// The Rust variant of an entry: OAuth server codes get an `OAuth` prefix, since their lower-case
/// names would collide with REST codes (`invalid_request` and `INVALID_REQUEST`).
fn entry_variant(entry: &Entry) -> String {
    let base = variant_name(&entry.code);
    if entry.side == "oauth" { format!("OAuth{base}") } else { base }
}

/// `JSSDK_CORE_B24_NOT_INIT` → `JssdkCoreB24NotInit`; `expired_token` → `ExpiredToken`.
fn variant_name(code: &str) -> String {
    code.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn lookup<'a>(pairs: &'a [(&str, &str)], key: &str) -> &'a str {
    pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or("")
}

fn retry_variant(key: &str) -> &'static str {
    RETRY.iter().find(|(k, _, _)| *k == key).map(|(_, v, _)| *v).unwrap_or("")
}

fn render_rust(table: &Table) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "//! Every error code b24 knows, with its status, side and retry class.");
    let _ = writeln!(w, "//!");
    let _ = writeln!(w, "//! Generated by `cargo xtask codegen` from `codes.toml`. Do not edit by hand.");
    let _ = writeln!(w);
    let _ = writeln!(w, "use crate::{{RetryClass, Side}};");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "/// A code from b24's table: SDK codes (`JSSDK_*`), the portal's REST codes and the OAuth server's codes."
    );
    let _ = writeln!(w, "///");
    let _ = writeln!(
        w,
        "/// Codes the portal sends that are not in the table are kept verbatim as [`crate::ErrorCode::Other`]."
    );
    let _ = writeln!(w, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]");
    let _ = writeln!(w, "#[non_exhaustive]");
    let _ = writeln!(w, "pub enum Code {{");
    for e in &table.code {
        let _ = writeln!(w, "    /// `{}`: {}", e.code, e.meaning);
        let _ = writeln!(w, "    {},", entry_variant(e));
    }
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(w, "impl Code {{");
    let _ = writeln!(w, "    /// Every code, in table order.");
    let _ = writeln!(w, "    pub const ALL: &'static [Code] = &[");
    for e in &table.code {
        let _ = writeln!(w, "        Code::{},", entry_variant(e));
    }
    let _ = writeln!(w, "    ];");
    let _ = writeln!(w);
    render_match(w, table, "The stable code string, verbatim.", "as_str", "&'static str", |e| format!("{:?}", e.code));
    render_match(w, table, "The HTTP-like status; `None` for log-only codes.", "status", "Option<u16>", |e| {
        match e.status {
            Some(s) => format!("Some({s})"),
            None => "None".to_owned(),
        }
    });
    render_match(w, table, "Who raises it: the SDK, the portal or the OAuth server.", "side", "Side", |e| {
        format!("Side::{}", lookup(SIDES, &e.side))
    });
    render_match(
        w,
        table,
        "Whether and how a request that failed with this code is retried.",
        "retry_class",
        "RetryClass",
        |e| format!("RetryClass::{}", retry_variant(&e.retry)),
    );
    render_match(w, table, "Where it is raised.", "raised", "&'static str", |e| format!("{:?}", e.raised));
    render_match(w, table, "What it means.", "meaning", "&'static str", |e| format!("{:?}", e.meaning));
    render_match(w, table, "The typical fix.", "fix", "&'static str", |e| format!("{:?}", e.fix));
    let _ = writeln!(w, "    /// The code for a string, if the table has it (exact, case-sensitive match).");
    let _ = writeln!(w, "    pub fn from_code(code: &str) -> Option<Code> {{");
    let _ = writeln!(w, "        Some(match code {{");
    for e in &table.code {
        let _ = writeln!(w, "            {:?} => Code::{},", e.code, entry_variant(e));
    }
    let _ = writeln!(w, "            _ => return None,");
    let _ = writeln!(w, "        }})");
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w, "}}");
    out
}

fn render_match(w: &mut String, table: &Table, doc: &str, name: &str, ty: &str, arm: impl Fn(&Entry) -> String) {
    let _ = writeln!(w, "    /// {doc}");
    let _ = writeln!(w, "    pub const fn {name}(self) -> {ty} {{");
    let _ = writeln!(w, "        match self {{");
    for e in &table.code {
        let _ = writeln!(w, "            Code::{} => {},", entry_variant(e), arm(e));
    }
    let _ = writeln!(w, "        }}");
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w);
}

/// Run the generated Rust through rustfmt so the file is what `cargo fmt` would leave.
pub(crate) fn format_rust(source: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(source.as_bytes()).map_err(|e| format!("rustfmt stdin: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("rustfmt: {e}"))?;
    if !output.status.success() {
        return Err(format!("rustfmt failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt output: {e}"))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn status_cell(e: &Entry) -> String {
    e.status.map_or_else(|| "—".to_owned(), |s| s.to_string())
}

fn render_docs(table: &Table) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "<!-- Generated by `cargo xtask codegen` from crates/b24-errors/codes.toml. Do not edit by hand. -->"
    );
    let _ = writeln!(w, "# Error codes and handling");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Every failure b24 can raise carries a stable string code, an HTTP-like status and a clear message; \
         failures of a request to the portal also carry the request's method and id (never its URL or a credential). \
         Match on `error.code()`, never on the message. Codes the portal sends that are not listed here \
         pass through verbatim as `ErrorCode::Other`."
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "```rust");
    let _ = writeln!(w, "use b24_errors::{{Code, Error}};");
    let _ = writeln!(w);
    let _ = writeln!(w, "fn explain(error: &Error) -> &'static str {{");
    let _ = writeln!(w, "    if error.code() == Code::InvalidCredentials {{");
    let _ = writeln!(w, "        return \"copy the webhook URL again\";");
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w, "    match error.request() {{");
    let _ = writeln!(w, "        Some(_portal_side) => \"the portal refused the call\",");
    let _ = writeln!(w, "        None => \"the SDK refused before sending\",");
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w, "```");
    let _ = writeln!(w);
    let sections = [
        (
            "sdk",
            "SDK codes",
            "Raised by b24 itself: validation, configuration, the transport, batch and list processing. Log-only codes (status —) are warnings, never raised.",
        ),
        (
            "rest",
            "REST-side codes",
            "Sent by the portal in the `error` field; b24 lifts them into the error's code verbatim.",
        ),
        (
            "oauth",
            "OAuth server codes",
            "Sent by the OAuth server's token endpoint during a refresh; they reach you as the source of `JSSDK_TOKEN_REFRESH_FAILED`.",
        ),
    ];
    for (side, title, intro) in sections {
        let _ = writeln!(w, "## {title}");
        let _ = writeln!(w);
        let _ = writeln!(w, "{intro}");
        let _ = writeln!(w);
        let _ = writeln!(w, "| Code | Status | Where it's raised | What it means | Typical fix | Retried |");
        let _ = writeln!(w, "| --- | --- | --- | --- | --- | --- |");
        for e in table.code.iter().filter(|e| e.side == side) {
            let _ = writeln!(
                w,
                "| `{}` | {} | {} | {} | {} | {} |",
                e.code,
                status_cell(e),
                cell(&e.raised),
                cell(&e.meaning),
                cell(&e.fix),
                retry_variant(&e.retry)
            );
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "## Decide what to retry");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "The transport's retry layer applies this classification (`Error::retry_class()`); the attempt budget is `max_retries` (default 3)."
    );
    let _ = writeln!(
        w,
        "Portal codes that are not in the table are classified by status: 5xx is `Transient`, anything else `Never`."
    );
    let _ = writeln!(
        w,
        "Non-idempotent methods (`*.add`, uploads) are never re-sent after an ambiguous failure (`JSSDK_NETWORK_ERROR`, `JSSDK_TIMEOUT`, `JSSDK_RESPONSE_TRUNCATED`) unless you opt in; they fail with `JSSDK_OUTCOME_UNKNOWN`."
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "| Retry class | Safe to retry? | Codes |");
    let _ = writeln!(w, "| --- | --- | --- |");
    for (key, variant, text) in RETRY {
        let codes: Vec<String> =
            table.code.iter().filter(|e| e.retry == *key).map(|e| format!("`{}`", e.code)).collect();
        let _ = writeln!(w, "| `{variant}` | {text} | {} |", codes.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Editing `codes.toml` without running `cargo xtask codegen` makes `cargo test` fail here.
    #[test]
    fn generated_files_are_fresh() {
        if let Err(message) = run(&crate::project_root(), Mode::Check) {
            panic!("{message}");
        }
    }

    #[test]
    fn variant_names() {
        assert_eq!(variant_name("JSSDK_CORE_B24_NOT_INIT"), "JssdkCoreB24NotInit");
        assert_eq!(variant_name("expired_token"), "ExpiredToken");
        assert_eq!(variant_name("PAYMENT_REQUIRED"), "PaymentRequired");
    }

    /// Codes named in the first column of a table on the JS SDK's error reference or in the wire spec.
    fn documented_codes(text: &str) -> Vec<String> {
        let mut codes = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("| `") || l.starts_with("| v3: `")) {
            let first_cell = line.trim_start_matches('|').split(" | ").next().unwrap_or("");
            for (i, piece) in first_cell.split('`').enumerate() {
                // `""` is the empty code of legacy CRM methods: kept verbatim, not a table row.
                if i % 2 == 1 && !piece.is_empty() && piece != "\"\"" {
                    let code = piece.replace("..._", "BITRIX_REST_V3_EXCEPTION_");
                    codes.push(code.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        }
        codes
    }

    #[test]
    fn table_holds_every_code_of_the_seed_and_the_spec() {
        let root = crate::project_root();
        let table = load(&root).expect("table loads");
        let known: std::collections::BTreeSet<&str> = table.code.iter().map(|e| e.code.as_str()).collect();
        let seed = std::fs::read_to_string(root.join("docs/seed/errors-and-handling.md")).expect("seed page");
        let spec = std::fs::read_to_string(root.join("docs/seed/bitrix24-wire.md")).expect("wire spec");
        let seed_codes = documented_codes(&seed);
        assert!(seed_codes.len() >= 30, "the seed parser found too few codes: {seed_codes:?}");
        let spec_codes = documented_codes(&spec);
        let missing: Vec<&String> = seed_codes
            .iter()
            .chain(spec_codes.iter())
            .filter(|c| !c.is_empty() && !known.contains(c.as_str()))
            .collect();
        assert!(missing.is_empty(), "codes documented but missing from {TABLE}: {missing:?}");
        let docs = std::fs::read_to_string(root.join(DOCS_OUT)).expect("docs/errors.md");
        for code in &seed_codes {
            assert!(docs.contains(&format!("`{code}`")), "docs/errors.md lacks {code}");
        }
    }
}
