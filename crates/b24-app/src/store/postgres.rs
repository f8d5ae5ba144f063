//! Installations in PostgreSQL, for an app running on several hosts.
//!
//! Statements go through one shared connection (pipelined; reconnected when it drops). The
//! refresh lock is a session-level advisory lock on a connection of its own, keyed by the
//! portal's member id: it holds against every process using the database, and the server
//! releases it by itself when the process holding it dies (its session ends), so a crash never
//! blocks a portal's refresh. Waiting for it is bounded by `lock_timeout` (30 s by default).
//!
//! The connection is made without TLS: reach the server over loopback, a Unix socket
//! (`host=/run/postgresql`) or a private network.

use std::sync::Arc;
use std::time::Duration;

use b24_errors::{Code, Error};
use b24_transport::credentials::{RefreshGuard, TokenSet};
use futures::future::BoxFuture;
use tokio::sync::{OwnedMutexGuard, RwLock};
use tokio_postgres::{Client, Config, NoTls};

use super::locks::LocalLocks;
use super::row::{COLUMNS, Row, installations_table, token_columns};
use super::{InstallationStore, not_installed, store_error};
use crate::installation::{Installation, normalize_domain};

/// The advisory lock that serializes schema creation by several processes at once.
const SCHEMA_LOCK: i64 = 0x6232_3461_7070; // "b24app"

/// Installations in PostgreSQL. Cheap to clone (clones share the connection).
///
/// ```no_run
/// use b24_app::PostgresStore;
/// # async fn run() -> Result<(), b24_errors::Error> {
/// let store = PostgresStore::connect("host=127.0.0.1 port=5432 user=app dbname=app").await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    client: RwLock<Arc<Client>>,
    locks: LocalLocks,
    lock_timeout: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection settings may hold a password: only the database name is shown.
        f.debug_struct("PostgresStore")
            .field("dbname", &self.shared.config.get_dbname())
            .field("lock_timeout", &self.shared.lock_timeout)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL failure, by its SQLSTATE and primary message (never the statement's values).
fn pg_error(what: &str, e: &tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => store_error(what, format_args!("{}: {}", db.code().code(), db.message())),
        None => store_error(what, e),
    }
}

async fn open(config: &Config) -> Result<Client, Error> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| pg_error("connect to PostgreSQL", &e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "b24::app", error = %e, "a PostgreSQL connection closed");
        }
    });
    Ok(client)
}

impl PostgresStore {
    /// Connect with a libpq-style connection string (`host=… port=… user=… dbname=…` or
    /// `postgresql://user@host/db`) and create the tables if they are missing. The string is
    /// never printed, not even in errors.
    pub async fn connect(params: &str) -> Result<PostgresStore, Error> {
        let mut config: Config = params.parse().map_err(|_| {
            Error::sdk(
                Code::JssdkInvalidConfig,
                "the PostgreSQL connection string is malformed (libpq key=value or URL)",
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let client = open(&config).await?;
        let schema = installations_table("BIGINT");
        let migrate = format!("BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); {schema} COMMIT;");
        client.batch_execute(&migrate).await.map_err(|e| pg_error("create its tables", &e))?;
        let shared = Shared {
            config,
            client: RwLock::new(Arc::new(client)),
            locks: LocalLocks::default(),
            lock_timeout: Duration::from_secs(30),
        };
        Ok(PostgresStore { shared: Arc::new(shared) })
    }

    /// The longest a process waits for another's refresh lock (default 30 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> PostgresStore {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.lock_timeout = timeout;
        }
        self
    }

    /// The shared connection, made again if it dropped.
    async fn client(&self) -> Result<Arc<Client>, Error> {
        let current = self.shared.client.read().await.clone();
        if !current.is_closed() {
            return Ok(current);
        }
        let mut slot = self.shared.client.write().await;
        if slot.is_closed() {
            *slot = Arc::new(open(&self.shared.config).await?);
        }
        Ok(slot.clone())
    }

    async fn select(&self, filter: &str, key: &str) -> Result<Option<Installation>, Error> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM b24_installations WHERE {filter} = $1");
        let row = client.query_opt(&sql, &[&key]).await.map_err(|e| pg_error("read an installation", &e))?;
        row.map(|r| read_row(&r)).transpose().map(|r| r.map(Row::into_installation))
    }
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, Error> {
    let column = |e: tokio_postgres::Error| pg_error("read an installation row", &e);
    Ok(Row {
        member_id: row.try_get(0).map_err(column)?,
        domain: row.try_get(1).map_err(column)?,
        client_endpoint: row.try_get(2).map_err(column)?,
        server_endpoint: row.try_get(3).map_err(column)?,
        application_token: row.try_get(4).map_err(column)?,
        access_token: row.try_get(5).map_err(column)?,
        refresh_token: row.try_get(6).map_err(column)?,
        expires_at: row.try_get(7).map_err(column)?,
        scope: row.try_get(8).map_err(column)?,
        status: row.try_get(9).map_err(column)?,
        user_id: row.try_get(10).map_err(column)?,
        installed_at: row.try_get(11).map_err(column)?,
    })
}

/// Holds the advisory lock's session; dropping it unlocks and closes that session (in the
/// background), then lets this process's next waiter in.
struct AdvisoryGuard {
    session: Option<Client>,
    local: Option<OwnedMutexGuard<()>>,
}

impl Drop for AdvisoryGuard {
    fn drop(&mut self) {
        let (session, local) = (self.session.take(), self.local.take());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            if let Some(session) = session {
                // Closing the session releases the lock too; unlocking first is only quicker.
                let _ = session.batch_execute("SELECT pg_advisory_unlock_all()").await;
            }
            drop(local);
        });
    }
}

impl InstallationStore for PostgresStore {
    fn put(&self, installation: Installation) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let r = Row::from(&installation);
            let client = self.client().await?;
            let sql = format!(
                "INSERT INTO b24_installations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (member_id) DO UPDATE SET domain = EXCLUDED.domain,
                 client_endpoint = EXCLUDED.client_endpoint, server_endpoint = EXCLUDED.server_endpoint,
                 application_token = EXCLUDED.application_token, access_token = EXCLUDED.access_token,
                 refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at, scope = EXCLUDED.scope,
                 status = EXCLUDED.status, user_id = EXCLUDED.user_id, installed_at = EXCLUDED.installed_at"
            );
            client
                .execute(
                    &sql,
                    &[
                        &r.member_id,
                        &r.domain,
                        &r.client_endpoint,
                        &r.server_endpoint,
                        &r.application_token,
                        &r.access_token,
                        &r.refresh_token,
                        &r.expires_at,
                        &r.scope,
                        &r.status,
                        &r.user_id,
                        &r.installed_at,
                    ],
                )
                .await
                .map_err(|e| pg_error("store an installation", &e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<Option<Installation>, Error>> {
        Box::pin(self.select("member_id", member_id))
    }

    fn find_domain<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<Installation>, Error>> {
        Box::pin(async move { self.select("domain", &normalize_domain(domain)).await })
    }

    fn member_ids(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query("SELECT member_id FROM b24_installations ORDER BY member_id", &[])
                .await
                .map_err(|e| pg_error("list installations", &e))?;
            rows.iter().map(|r| r.try_get(0).map_err(|e| pg_error("list installations", &e))).collect()
        })
    }

    fn remove<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let client = self.client().await?;
            let n = client
                .execute("DELETE FROM b24_installations WHERE member_id = $1", &[&member_id])
                .await
                .map_err(|e| pg_error("remove an installation", &e))?;
            Ok(n > 0)
        })
    }

    fn save_tokens<'a>(&'a self, member_id: &'a str, tokens: TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let (access, refresh, expires, client_endpoint, server) = token_columns(&tokens);
            let client = self.client().await?;
            let n = client
                .execute(
                    "UPDATE b24_installations SET access_token = $2, refresh_token = $3, expires_at = $4,
                     client_endpoint = $5, server_endpoint = COALESCE($6, server_endpoint) WHERE member_id = $1",
                    &[&member_id, &access, &refresh, &expires, &client_endpoint, &server],
                )
                .await
                .map_err(|e| pg_error("store a token pair", &e))?;
            if n == 0 { Err(not_installed(member_id)) } else { Ok(()) }
        })
    }

    fn lock_refresh<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<RefreshGuard, Error>> {
        Box::pin(async move {
            let local = self.shared.locks.acquire(member_id).await;
            let session = open(&self.shared.config).await?;
            let timeout = format!("SET lock_timeout = {}", self.shared.lock_timeout.as_millis().max(1));
            session.batch_execute(&timeout).await.map_err(|e| pg_error("take a refresh lock", &e))?;
            let key = format!("b24-refresh:{member_id}");
            session.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&key]).await.map_err(|e| {
                let timed_out = e.code().is_some_and(|c| *c == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE);
                if timed_out {
                    Error::sdk(
                        Code::JssdkStoreUnavailable,
                        format!("the refresh lock of portal {member_id} stayed taken by another process"),
                    )
                } else {
                    pg_error("take a refresh lock", &e)
                }
            })?;
            Ok(Box::new(AdvisoryGuard { session: Some(session), local: Some(local) }) as RefreshGuard)
        })
    }
}
