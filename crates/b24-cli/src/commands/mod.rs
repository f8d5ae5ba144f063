//! One module per subcommand.

pub mod batch;
pub mod call;
pub mod demo;
pub mod emulator;
pub mod export;
pub mod import;
pub mod resume;
pub mod rows;

use b24_sdk::{Client, Code, Error};

use crate::{Cli, Command};

/// The client for `--webhook` / `B24_WEBHOOK_URL`.
pub fn client(cli: &Cli) -> Result<Client, Error> {
    let Some(url) = cli.webhook.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Err(Error::sdk(
            Code::JssdkCoreB24NotInit,
            "no credentials: pass --webhook https://<portal>/rest/<user id>/<secret>/ or set B24_WEBHOOK_URL (try `b24 demo` to see it work without a portal)",
        ));
    };
    Client::builder().allow_http(cli.allow_http).webhook(url).build()
}

/// Run the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Call { method, params, json, v3 } => {
            call::run(&client(&cli)?, method, params, json.as_deref(), *v3).await
        }
        Command::Batch { file, halt, v3 } => batch::run(&client(&cli)?, file, *halt, *v3).await,
        Command::Export(args) => export::run(&client(&cli)?, &args.options()).await.map(|_| ()),
        Command::Import(args) => import::run(&client(&cli)?, args).await,
        Command::Emulator { rows, profile, time_scale, port, tls } => {
            emulator::run(*rows, *profile, *time_scale, *port, *tls).await
        }
        Command::Demo { rows } => demo::run(*rows).await,
    }
}
