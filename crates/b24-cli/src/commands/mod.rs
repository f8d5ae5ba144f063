//! One module per subcommand.

pub mod batch;
pub mod call;
pub mod demo;
pub mod emulator;
pub mod export;
pub mod import;
pub mod resume;
pub mod rows;

use std::sync::Arc;
use std::time::Duration;

use b24_sdk::{Client, Code, Error, Plan};

use crate::failure::Failure;
use crate::{Cli, Command, PlanArg, PortalArgs};

fn seconds(flag: &str, secs: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
        Error::sdk(Code::JssdkInvalidConfig, format!("{flag} takes a positive number of seconds, not {secs}"))
    })
}

/// A flag's value, or else the environment variable's (unset or empty: neither).
fn flag_or_env(flag: Option<&str>, variable: &str) -> Option<String> {
    flag.map(str::to_owned).or_else(|| std::env::var(variable).ok()).filter(|v| !v.trim().is_empty())
}

/// The client the portal options describe.
pub fn client(portal: &PortalArgs) -> Result<Client, Error> {
    let Some(url) = flag_or_env(portal.webhook.as_deref(), "B24_WEBHOOK_URL") else {
        return Err(Error::sdk(
            Code::JssdkInvalidConfig,
            "no webhook: pass --webhook https://<portal>/rest/<user id>/<secret>/ or set B24_WEBHOOK_URL (a portal makes one under Developer resources > Other > Inbound webhook; `b24 demo` runs without a portal)",
        ));
    };
    let mut builder = Client::builder().webhook(&url).allow_http(portal.allow_http).plan(match portal.plan {
        PlanArg::Standard => Plan::Standard,
        PlanArg::Enterprise => Plan::Enterprise,
        PlanArg::Unlimited => Plan::Unlimited,
    });
    if let Some(secs) = portal.timeout {
        builder = builder.attempt_timeout(seconds("--timeout", secs)?);
    }
    if let Some(retries) = portal.retries {
        builder = builder.max_retries(retries);
    }
    if let Some(secs) = portal.retry_budget {
        builder = builder.limit_wait_budget(seconds("--retry-budget", secs)?);
    }
    for file in &portal.ca_cert {
        builder = builder.ca_certificate_file(file);
    }
    if let Some(url) = flag_or_env(portal.redis.as_deref(), "B24_REDIS_URL") {
        let shared = b24_sdk::redis::RedisShared::open(&url, b24_sdk::redis::RedisOptions::default())?;
        builder = builder.shared_state(Arc::new(shared));
    }
    builder.build()
}

/// Run the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Call { method, params, json, v3, portal } => {
            let params = call::params(params, json.as_deref())?;
            Ok(call::run(&client(portal)?, method, &params, *v3).await?)
        }
        Command::Batch { file, halt, v3, portal } => {
            let batch = batch::read(file, *halt)?;
            Ok(batch::run(&client(portal)?, &batch, *v3).await?)
        }
        Command::Export(args) => Ok(export::run(&client(&args.portal)?, &args.options()).await?),
        Command::Import(args) => Ok(import::run(&client(&args.portal)?, args).await?),
        Command::Emulator { rows, profile, time_scale, port, tls } => {
            Ok(emulator::run(*rows, *profile, *time_scale, *port, *tls).await?)
        }
        Command::Demo { rows } => Ok(demo::run(*rows).await?),
    }
}
