//! `b24`: call a Bitrix24 portal from the shell, export lists, run a local portal, see a demo.
//!
//! ```text
//! b24 call METHOD [key=value ...] [--json JSON] [--v3]
//! b24 batch FILE [--halt] [--v3]
//! b24 export METHOD [--filter k=v ...] [--select F,...] [--param k=v ...] --format jsonl|csv --out FILE [--resume]
//! b24 import METHOD --in FILE [--format jsonl|csv] [--key FIELD] [--results FILE] [--param k=v ...]
//! b24 emulator [--rows N] [--profile fast|cloud] [--time-scale F] [--port P] [--tls]
//! b24 demo
//! ```
//!
//! Credentials come from `--webhook` or `B24_WEBHOOK_URL`. Errors print as one line (code,
//! status, method, hint) and exit non-zero; `--verbose` shows the (secret-free) trace.

mod commands;
mod kv;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Command-line access to a Bitrix24 portal.
#[derive(Debug, Parser)]
#[command(name = "b24", version, about = "Call a Bitrix24 portal, export lists, run a local portal.")]
struct Cli {
    /// The webhook URL (`https://<portal>/rest/<user id>/<secret>/`).
    #[arg(long, env = "B24_WEBHOOK_URL", global = true, hide_env_values = true)]
    webhook: Option<String>,
    /// Allow plain http to a portal that is not on loopback (self-hosted).
    #[arg(long, global = true)]
    allow_http: bool,
    /// Show the trace of every attempt on stderr (never a secret).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One JSON object per line.
    Jsonl,
    /// A header row, then one row per record.
    Csv,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call one method and print its result as JSON.
    Call {
        /// The method, e.g. server.time or crm.deal.list.
        method: String,
        /// Params as key=value (PHP brackets allowed: `filter[>ID]=5`, `select[]=ID`).
        params: Vec<String>,
        /// Params as one JSON object instead.
        #[arg(long)]
        json: Option<String>,
        /// Call REST v3.
        #[arg(long)]
        v3: bool,
    },
    /// Run a batch from a JSON file: `{"halt": false, "cmd": {"name": {"method": "...", "params": {}}}}`
    /// or a list of `{"method", "params"}`.
    Batch {
        /// The file.
        file: std::path::PathBuf,
        /// Stop at the first failing command.
        #[arg(long)]
        halt: bool,
        /// Run as a REST v3 batch.
        #[arg(long)]
        v3: bool,
    },
    /// Export every row of a list to a file, with a progress bar.
    Export(commands::export::Args),
    /// Write every row of a file (one call each, 50 to a batch, exactly once), with a progress bar.
    Import(commands::import::Args),
    /// Run a local Bitrix24 portal until Ctrl-C.
    Emulator {
        /// Rows in each seeded data set.
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        /// fast (no costs, no limits) or cloud (the cost model and the cloud limits).
        #[arg(long, value_enum, default_value = "fast")]
        profile: commands::emulator::ProfileArg,
        /// Multiplies every duration (0.1 runs ten times faster than real time).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// The port (0: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Serve HTTPS with a generated self-signed certificate.
        #[arg(long)]
        tls: bool,
    },
    /// Start a local portal and show what b24 does, step by step.
    Demo {
        /// Rows to export in the demo.
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("b24=debug,b24_cli=debug"))
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", output::error_line(&e));
            ExitCode::from(output::exit_code(&e))
        }
    }
}
