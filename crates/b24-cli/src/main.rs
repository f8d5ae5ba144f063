//! `b24`: call a Bitrix24 portal from the shell, export lists, run a local portal, see a demo.
//!
//! ```text
//! b24 call METHOD [key=value ...] [--json JSON] [--v3]      [portal options]
//! b24 batch FILE [--halt] [--v3]                            [portal options]
//! b24 export METHOD --out FILE [--filter k=v ...] [--select F,...] [--param k=v ...] [--format jsonl|csv] [--resume]
//! b24 import METHOD --in FILE [--format jsonl|csv] [--key FIELD] [--results FILE] [--param k=v ...]
//! b24 emulator [--rows N] [--profile fast|cloud] [--time-scale F] [--port P] [--tls]
//! b24 demo [--rows N]
//! ```
//!
//! Portal options: `--webhook URL` (or `B24_WEBHOOK_URL`), `--allow-http`, `--plan`,
//! `--timeout`, `--retries`, `--retry-budget`, `--ca-cert FILE`, `--redis URL`, `-v`.
//! Errors print as one line (code, status, method, hint). Exit codes: 0 success, 1 a portal or
//! network failure, 2 a usage or configuration problem. `RUST_LOG` selects trace output.

mod commands;
mod failure;
mod kv;
mod output;
mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "Exit codes: 0 success, 1 a portal or network failure, 2 a usage or configuration problem.\n\
Logging: -v shows b24's trace on stderr; RUST_LOG (e.g. RUST_LOG=b24=trace) selects it precisely.";

/// Command-line access to a Bitrix24 portal.
#[derive(Debug, Parser)]
#[command(name = "b24", version, about = "Call a Bitrix24 portal, export lists, run a local portal.", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The portal's plan, which sets the client-side limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanArg {
    /// 50 requests at once, then 2 per second; 480 s of handler time per method per 10 minutes.
    Standard,
    /// 250 requests at once, then 5 per second.
    Enterprise,
    /// No client-side limits (a portal without limits, such as `b24 emulator`).
    Unlimited,
}

/// How to reach and pace a portal: the options of every command that calls one.
#[derive(Debug, Args)]
struct PortalArgs {
    /// The inbound webhook URL (or the environment's `B24_WEBHOOK_URL`, read by
    /// [`commands::client`] rather than by clap, so that a usage message never lists a flag the
    /// user did not type).
    #[arg(
        long,
        value_name = "URL",
        help = "The inbound webhook URL: https://<portal>/rest/<user id>/<secret>/ [env: B24_WEBHOOK_URL]"
    )]
    webhook: Option<String>,
    /// Allow plain http to a portal that is not on loopback (a self-hosted portal).
    #[arg(long)]
    allow_http: bool,
    /// The portal's plan: sets the request-rate and operating-time limits b24 keeps to.
    #[arg(long, value_enum, default_value = "standard")]
    plan: PlanArg,
    /// Each HTTP attempt's time limit, in seconds (default 70: the portal cuts requests at 60).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Retries of network failures and 5xx answers without a code (default 3).
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
    /// How long waits for the portal's rate limits may add up to per call, in seconds (default 900).
    #[arg(long, value_name = "SECS")]
    retry_budget: Option<f64>,
    /// Also trust this CA certificate (PEM file): a portal behind a company CA. The system store
    /// (and SSL_CERT_FILE / SSL_CERT_DIR) and the bundled roots are trusted already.
    #[arg(long, value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
    /// Share the rate limiter and operating budget with other processes through Redis
    /// (redis://host:port/; or the environment's `B24_REDIS_URL`).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Show the trace of every attempt on stderr (never a secret).
    #[arg(long, short)]
    verbose: bool,
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
        #[command(flatten)]
        portal: PortalArgs,
    },
    /// Run a batch from a JSON file: `{"halt": false, "cmd": {"name": {"method": "...", "params": {}}}}`
    /// or a list of `{"method", "params"}`.
    Batch {
        /// The file.
        file: PathBuf,
        /// Stop at the first failing command.
        #[arg(long)]
        halt: bool,
        /// Run as a REST v3 batch.
        #[arg(long)]
        v3: bool,
        #[command(flatten)]
        portal: PortalArgs,
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

impl Command {
    fn verbose(&self) -> bool {
        match self {
            Command::Call { portal, .. } | Command::Batch { portal, .. } => portal.verbose,
            Command::Export(args) => args.portal.verbose,
            Command::Import(args) => args.portal.verbose,
            Command::Emulator { .. } | Command::Demo { .. } => false,
        }
    }
}

/// Trace output on stderr: `RUST_LOG` when set, else b24's debug trace with `-v`; colours only
/// on a terminal.
fn init_tracing(verbose: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => tracing_subscriber::EnvFilter::new(spec),
        _ if verbose => tracing_subscriber::EnvFilter::new("b24=debug,b24_cli=debug"),
        _ => return,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.command.verbose());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.line());
            ExitCode::from(failure.exit_code())
        }
    }
}
