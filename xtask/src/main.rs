//! Project automation for the b24 workspace, run as `cargo xtask <command>`.
//!
//! - `cargo xtask codegen [--check]`: regenerate the error-code tables (Rust and `docs/errors.md`)
//!   from `crates/b24-errors/codes.toml`, the version manager's v3 method table from
//!   `crates/b24-actions/openapi-v3.json`, the emulator's table of documented methods and the
//!   method layer (`crates/b24-methods`, `docs/methods.md`) from `../shared/catalog`; with
//!   `--check`, fail when a generated file is stale.
//! - `cargo xtask bench [--quick]`: run the benchmark scenarios and write `docs/benchmarks.md`.
//! - `cargo xtask reliability`: the fault-injection suite at full size (100,000 rows).
//! - `cargo xtask build-times [--base REV]`: clean builds of `b24-sdk` before and after the method
//!   layer, and with every group of methods, in one run (into `docs/methods.md`).

mod bench;
mod build_times;
mod codegen;
mod codegen_emulator;
mod codegen_methods;
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
        Some("reliability") => reliability(&project_root()),
        Some("build-times") => {
            let base = args.iter().position(|a| a == "--base").and_then(|i| args.get(i + 1));
            build_times::run(&project_root(), base.map(String::as_str))
        }
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
    "usage: cargo xtask codegen [--check] | cargo xtask bench [--quick] | cargo xtask reliability | cargo xtask build-times [--base REV]"
        .to_owned()
}

/// The fault-injection suite at full size (100,000 rows per export), printing its figures.
fn reliability(root: &std::path::Path) -> Result<(), String> {
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .env("B24_RELIABILITY_ROWS", "100000")
        .args(["test", "--release", "-p", "b24-sdk", "--test", "reliability", "--", "--nocapture"])
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    if status.success() { Ok(()) } else { Err("the reliability suite failed".into()) }
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
