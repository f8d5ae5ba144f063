//! Credentials the portal accepts: the webhook, OAuth access tokens (with expiry), single-use
//! rotating refresh tokens and authorization codes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Tokens are numbered across every emulator of the process, so that one portal's token is
/// never valid on another.
static ISSUED: AtomicU64 = AtomicU64::new(0);

/// A pair issued by the OAuth server.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token (single use: a refresh rotates it).
    pub refresh_token: String,
    /// When the access token expires (wall-clock unix seconds, as the OAuth server reports it).
    pub expires: f64,
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Expired,
    Invalid,
}

/// The token store.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    access: HashMap<String, f64>,
    refresh: HashMap<String, ()>,
    codes: HashMap<String, ()>,
}

impl Tokens {
    fn fresh(&mut self, kind: &str) -> String {
        let n = ISSUED.fetch_add(1, Ordering::Relaxed) + 1;
        // Obviously fake tokens, unique within the process.
        let mix = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ 0x5DEE_CE66;
        format!("fake{kind}{n:08x}{mix:016x}")
    }

    /// Issue a new pair with `lifetime` virtual seconds.
    pub(crate) fn issue(&mut self, now: f64, lifetime: f64) -> TokenPair {
        let access_token = self.fresh("access");
        let refresh_token = self.fresh("refresh");
        self.access.insert(access_token.clone(), now + lifetime);
        self.refresh.insert(refresh_token.clone(), ());
        TokenPair { access_token, refresh_token, expires: now + lifetime }
    }

    /// Issue an authorization code for the `authorization_code` grant.
    pub(crate) fn issue_code(&mut self) -> String {
        let code = self.fresh("code");
        self.codes.insert(code.clone(), ());
        code
    }

    /// Check an access token at `now`.
    pub(crate) fn check(&self, token: &str, now: f64) -> Result<(), TokenProblem> {
        match self.access.get(token) {
            Some(expires) if *expires > now => Ok(()),
            Some(_) => Err(TokenProblem::Expired),
            None => Err(TokenProblem::Invalid),
        }
    }

    /// Use a refresh token (single use): a new pair, or `None` when it is unknown or used.
    pub(crate) fn refresh(&mut self, refresh_token: &str, now: f64, lifetime: f64) -> Option<TokenPair> {
        self.refresh.remove(refresh_token)?;
        Some(self.issue(now, lifetime))
    }

    /// Use an authorization code (single use).
    pub(crate) fn exchange_code(&mut self, code: &str, now: f64, lifetime: f64) -> Option<TokenPair> {
        self.codes.remove(code)?;
        Some(self.issue(now, lifetime))
    }

    /// Expire one access token now.
    pub(crate) fn expire(&mut self, token: &str) {
        if let Some(expires) = self.access.get_mut(token) {
            *expires = f64::MIN;
        }
    }

    /// Expire every access token now.
    pub(crate) fn expire_all(&mut self) {
        for expires in self.access.values_mut() {
            *expires = f64::MIN;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_single_use() {
        let mut t = Tokens::default();
        let pair = t.issue(0.0, 10.0);
        assert_eq!(t.check(&pair.access_token, 5.0), Ok(()));
        assert_eq!(t.check(&pair.access_token, 10.0), Err(TokenProblem::Expired));
        assert_eq!(t.check("nope", 1.0), Err(TokenProblem::Invalid));
        let next = t.refresh(&pair.refresh_token, 20.0, 10.0).expect("first use");
        assert!(t.refresh(&pair.refresh_token, 20.0, 10.0).is_none(), "second use refused");
        assert_eq!(t.check(&next.access_token, 25.0), Ok(()));
        t.expire_all();
        assert_eq!(t.check(&next.access_token, 25.0), Err(TokenProblem::Expired));
    }
}
