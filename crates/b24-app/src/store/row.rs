//! One installation as a database row: the column list both SQL stores use, and the
//! conversion between [`Installation`] and plain column values.

use b24_errors::Secret;
use b24_transport::credentials::TokenSet;

use crate::installation::Installation;

/// The columns of `b24_installations`, in the order [`Row`] reads them.
pub(crate) const COLUMNS: &str = "member_id, domain, client_endpoint, server_endpoint, application_token, \
     access_token, refresh_token, expires_at, scope, status, user_id, installed_at";

/// The installations table and its domain index, with `integer` as the 64-bit integer type of
/// the database (`INTEGER` in SQLite, `BIGINT` in PostgreSQL).
pub(crate) fn installations_table(integer: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS b24_installations (
            member_id TEXT PRIMARY KEY NOT NULL,
            domain TEXT NOT NULL,
            client_endpoint TEXT NOT NULL,
            server_endpoint TEXT,
            application_token TEXT,
            access_token TEXT NOT NULL,
            refresh_token TEXT NOT NULL,
            expires_at {integer},
            scope TEXT,
            status TEXT,
            user_id {integer},
            installed_at {integer} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS b24_installations_domain ON b24_installations (domain);"
    )
}

/// An installation as column values (secrets exposed: only ever bound as statement
/// parameters, never formatted).
pub(crate) struct Row {
    pub(crate) member_id: String,
    pub(crate) domain: String,
    pub(crate) client_endpoint: String,
    pub(crate) server_endpoint: Option<String>,
    pub(crate) application_token: Option<String>,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_at: Option<i64>,
    pub(crate) scope: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) user_id: Option<i64>,
    pub(crate) installed_at: i64,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl From<&Installation> for Row {
    fn from(i: &Installation) -> Row {
        Row {
            member_id: i.member_id.clone(),
            domain: i.domain.clone(),
            client_endpoint: i.tokens.client_endpoint.clone(),
            server_endpoint: i.tokens.server_endpoint.clone(),
            application_token: i.application_token.as_ref().map(|t| t.expose().to_owned()),
            access_token: i.tokens.access_token.expose().to_owned(),
            refresh_token: i.tokens.refresh_token.expose().to_owned(),
            expires_at: i.tokens.expires_at.map(to_i64),
            scope: i.scope.clone(),
            status: i.status.clone(),
            user_id: i.user_id.map(to_i64),
            installed_at: to_i64(i.installed_at),
        }
    }
}

impl Row {
    /// The installation this row holds.
    pub(crate) fn into_installation(self) -> Installation {
        let mut tokens =
            TokenSet::new(self.access_token, self.refresh_token, self.client_endpoint, self.server_endpoint);
        tokens.expires_at = self.expires_at.map(to_u64);
        tokens.member_id = Some(self.member_id.clone());
        let mut installation = Installation::new(self.member_id, self.domain, tokens);
        installation.application_token = self.application_token.map(Secret::new);
        installation.scope = self.scope;
        installation.status = self.status;
        installation.user_id = self.user_id.map(to_u64);
        installation.installed_at = to_u64(self.installed_at);
        installation
    }
}

/// The token columns of a pair: access, refresh, expiry, client and server endpoints.
pub(crate) fn token_columns(tokens: &TokenSet) -> (String, String, Option<i64>, String, Option<String>) {
    (
        tokens.access_token.expose().to_owned(),
        tokens.refresh_token.expose().to_owned(),
        tokens.expires_at.map(to_i64),
        tokens.client_endpoint.clone(),
        tokens.server_endpoint.clone(),
    )
}
