//! Helpers for testing your app against the local portal (feature `emulator`).

use b24_transport::credentials::{OAuthApp, OAuthCredentials, TokenSet};

use crate::emulator::EmulatorHandle;

/// OAuth credentials of the app the emulator plays, holding a fresh token pair it issued: build
/// a client with `Client::from_oauth`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use b24_sdk::emulator::{Emulator, Settings};
///
/// let portal = Emulator::start(Settings::fast()).await?;
/// let client = b24_sdk::Client::from_oauth(b24_sdk::testing::oauth_credentials(&portal))?;
/// portal.expire_access_tokens();
/// client.server_time().await?; // refreshed once, transparently
/// assert_eq!(portal.counters().oauth_refreshes, 1);
/// # Ok(())
/// # }
/// ```
pub fn oauth_credentials(portal: &EmulatorHandle) -> OAuthCredentials {
    let settings = portal.settings();
    let pair = portal.issue_tokens();
    let tokens = TokenSet::new(
        pair.access_token,
        pair.refresh_token,
        portal.client_endpoint(),
        Some(format!("{}/rest/", portal.base_url())),
    );
    OAuthCredentials::new(OAuthApp::new(settings.client_id, settings.client_secret), tokens)
}
