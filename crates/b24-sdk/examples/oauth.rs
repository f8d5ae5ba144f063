//! OAuth: tokens that refresh themselves (once, however many calls notice), persisted through a
//! hook or a token store.
//!
//! `cargo run -p b24-sdk --example oauth` (runs against a local emulator).

use std::sync::Arc;

use b24_sdk::prelude::*;
use b24_sdk::transport::credentials::OAuthCredentials;
use b24_sdk::{MemoryTokenStore, TokenStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let portal =
        b24_sdk::emulator::Emulator::start(b24_sdk::emulator::Settings::fast()).await.map_err(Error::from_error)?;
    let settings = portal.settings();
    let pair = portal.issue_tokens(); // what the app received at installation

    let tokens = TokenSet::new(
        pair.access_token,
        pair.refresh_token,
        portal.client_endpoint(),
        Some(format!("{}/rest/", portal.base_url())),
    );
    // Where the pair lives between refreshes; a shared store (Redis) lets several processes agree.
    let store = Arc::new(MemoryTokenStore::new(tokens.clone()));
    let credentials = OAuthCredentials::new(OAuthApp::new(settings.client_id, settings.client_secret), tokens)
        .token_store(store.clone())
        .on_refresh(|new| println!("persist the new pair (expires at {:?})", new.expires_at));
    let client = Client::builder().oauth(credentials).build()?;

    println!("before expiry: {}", client.server_time().await?);
    portal.expire_access_tokens();
    let answers = futures::future::join_all((0..20).map(|_| client.server_time())).await;
    println!("after expiry: {} of 20 calls answered", answers.iter().filter(|a| a.is_ok()).count());
    println!("refreshes at the OAuth server: {}", portal.counters().oauth_refreshes);
    let stored = store.load().await?;
    println!("store holds the rotated pair: {}", stored.is_some());
    Ok(())
}
