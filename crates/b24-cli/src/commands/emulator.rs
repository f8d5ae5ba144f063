//! `b24 emulator`: a local portal until Ctrl-C.

use b24_emulator::{Emulator, Listen, Settings};
use b24_sdk::{Code, Error};
use clap::ValueEnum;

/// The emulator's profile on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// No costs, no limits.
    Fast,
    /// The cost model and the cloud limits.
    Cloud,
}

/// Run until Ctrl-C, printing the addresses and a token pair to try.
pub async fn run(rows: u64, profile: ProfileArg, time_scale: f64, port: u16, tls: bool) -> Result<(), Error> {
    let settings = match profile {
        ProfileArg::Fast => Settings::fast(),
        ProfileArg::Cloud => Settings::cloud(),
    }
    .with_rows(rows)
    .with_time_scale(time_scale);
    let listen = Listen { addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)), tls };
    let portal = Emulator::start_with(settings, listen).await.map_err(Error::from_error)?;
    let profile_name = profile.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
    println!("b24 emulator: {rows} rows, profile {profile_name}, time scale {time_scale}");
    println!("  webhook:         {}", portal.webhook_url());
    println!("  v3 webhook:      {}", portal.webhook_url().replace("/rest/", "/rest/api/"));
    println!("  OAuth endpoint:  {}", portal.client_endpoint());
    println!("  OAuth token URL: {}", portal.oauth_token_url());
    println!("  counters:        {}/_emulator/counters", portal.base_url());
    let s = portal.settings();
    let pair = portal.issue_tokens();
    println!("  app (fake):      client_id={} client_secret={}", s.client_id, s.client_secret);
    println!("  tokens (fake):   access={} refresh={}", pair.access_token, pair.refresh_token);
    if let Some(pem) = portal.certificate_pem() {
        let path = std::env::temp_dir().join(format!("b24-emulator-{}.pem", portal.addr().port()));
        std::fs::write(&path, pem).map_err(|e| {
            Error::sdk(Code::JssdkIoError, format!("cannot write the certificate to {}: {e}", path.display()))
        })?;
        println!(
            "  certificate:     {} (trust it: b24 --ca-cert FILE, curl --cacert FILE, NODE_EXTRA_CA_CERTS=FILE)",
            path.display()
        );
    }
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    portal.shutdown().await;
    Ok(())
}
