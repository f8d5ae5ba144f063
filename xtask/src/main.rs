//! Project automation for the b24 workspace, run as `cargo xtask <command>`.
//!
//! - `cargo xtask codegen [--check]`: regenerate the error-code tables (Rust and `docs/errors.md`)
//!   from `crates/b24-errors/codes.toml`, and the version manager's v3 method table from
//!   `crates/b24-actions/openapi-v3.json`; with `--check`, fail when a generated file is stale.
//! - `cargo xtask bench [--quick]`: run the benchmark scenarios and write `docs/benchmarks.md`.

mod bench;
mod codegen;
mod v3_table;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => {
            let mode = if args.iter().any(|a| a == "--check") { codegen::Mode::Check } else { codegen::Mode::Write };
            codegen::run(&project_root(), mode)
        }
        Some("bench") => bench::run(&project_root(), args.iter().any(|a| a == "--quick")),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask codegen [--check] | cargo xtask bench [--quick]".to_owned()
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
