//! The embedded default: installations in SQLite, in a file (shared by the processes of one
//! host) or in memory (one process, tests).
//!
//! The refresh lock is a lease row (`b24_refresh_locks`): taken with one conditional upsert,
//! released by its owner, and taken over once it expires, so a process that dies holding it
//! blocks the portal's refresh for at most the lease time (60 s by default).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use b24_errors::{Code, Error};
use b24_transport::credentials::{RefreshGuard, TokenSet};
use futures::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::OwnedMutexGuard;

use super::locks::{LocalLocks, owner_id};
use super::row::{COLUMNS, Row, installations_table, token_columns};
use super::{InstallationStore, not_installed, store_error};
use crate::installation::Installation;

/// The lease table of the refresh locks (the installations table is `row::installations_table`).
const LOCKS: &str = "
CREATE TABLE IF NOT EXISTS b24_refresh_locks (
    member_id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
";

/// How often a process waiting for another process's lease looks again.
const LEASE_POLL: Duration = Duration::from_millis(20);

/// Installations in SQLite. Cheap to clone (clones share the connection).
///
/// ```
/// use b24_app::{InstallationStore, SqliteStore};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), b24_errors::Error> {
/// let store = SqliteStore::memory()?;            // or SqliteStore::open("app.db")?
/// assert!(store.get("no-such-member").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

struct Shared {
    conn: Mutex<Connection>,
    place: String,
    locks: LocalLocks,
    lease: Duration,
    owner: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("place", &self.shared.place).field("lease", &self.shared.lease).finish()
    }
}

fn open_error(e: rusqlite::Error) -> Error {
    store_error("open the SQLite database", e)
}

impl SqliteStore {
    /// Open (or create) the database file at `path`, shared with the other processes of this
    /// host that open it.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(open_error)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_error)?;
        SqliteStore::with_connection(conn, path.display().to_string())
    }

    /// A database in this process's memory (gone when the store is dropped).
    pub fn memory() -> Result<SqliteStore, Error> {
        SqliteStore::with_connection(Connection::open_in_memory().map_err(open_error)?, ":memory:".into())
    }

    fn with_connection(conn: Connection, place: String) -> Result<SqliteStore, Error> {
        let schema = format!("{}{LOCKS}", installations_table("INTEGER"));
        conn.execute_batch(&schema).map_err(|e| store_error("create its tables", e))?;
        let shared = Shared {
            conn: Mutex::new(conn),
            place,
            locks: LocalLocks::default(),
            lease: Duration::from_secs(60),
            owner: owner_id(),
        };
        Ok(SqliteStore { shared: Arc::new(shared) })
    }

    /// How long a refresh lock holds when its process died holding it (default 60 s; longer
    /// than the slowest token refresh).
    pub fn lease(mut self, lease: Duration) -> SqliteStore {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.lease = lease;
        }
        self
    }

    /// Run `f` on the connection on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let shared = self.shared.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let conn = shared.conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|e| store_error(what, e)),
            Err(e) => Err(store_error(what, e)),
        }
    }

    async fn select(&self, filter: &'static str, key: String) -> Result<Option<Installation>, Error> {
        self.run("read an installation", move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM b24_installations WHERE {filter} = ?1");
            conn.query_row(&sql, [key], read_row).optional()
        })
        .await
        .map(|row| row.map(Row::into_installation))
    }

    /// Try once to take the lease of `member_id`; true when taken.
    async fn try_lease(&self, member_id: String) -> Result<bool, Error> {
        let (owner, lease) = (self.shared.owner.clone(), millis(self.shared.lease));
        self.run("take a refresh lock", move |conn| {
            let now = now_millis();
            let changed = conn.execute(
                "INSERT INTO b24_refresh_locks (member_id, owner, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (member_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE b24_refresh_locks.expires_at < ?4",
                params![member_id, owner, now + lease, now],
            )?;
            Ok(changed == 1)
        })
        .await
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

fn now_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    millis(now)
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        member_id: row.get(0)?,
        domain: row.get(1)?,
        client_endpoint: row.get(2)?,
        server_endpoint: row.get(3)?,
        application_token: row.get(4)?,
        access_token: row.get(5)?,
        refresh_token: row.get(6)?,
        expires_at: row.get(7)?,
        scope: row.get(8)?,
        status: row.get(9)?,
        user_id: row.get(10)?,
        installed_at: row.get(11)?,
    })
}

/// Releases the lease (on a blocking thread), then this process's turn.
struct LeaseGuard {
    store: SqliteStore,
    member_id: String,
    local: Option<OwnedMutexGuard<()>>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let (shared, member_id, local) =
            (self.store.shared.clone(), std::mem::take(&mut self.member_id), self.local.take());
        let release = move || {
            let conn = shared.conn.lock().unwrap_or_else(PoisonError::into_inner);
            let done = conn.execute(
                "DELETE FROM b24_refresh_locks WHERE member_id = ?1 AND owner = ?2",
                params![member_id, shared.owner],
            );
            if let Err(e) = done {
                tracing::debug!(target: "b24::app", error = %e, "the refresh lease expires instead of being released");
            }
            drop(local);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(release)),
            Err(_) => release(),
        }
    }
}

impl InstallationStore for SqliteStore {
    fn put(&self, installation: Installation) -> BoxFuture<'_, Result<(), Error>> {
        let r = Row::from(&installation);
        Box::pin(self.run("store an installation", move |conn| {
            let sql = format!(
                "INSERT OR REPLACE INTO b24_installations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            );
            conn.execute(
                &sql,
                params![
                    r.member_id,
                    r.domain,
                    r.client_endpoint,
                    r.server_endpoint,
                    r.application_token,
                    r.access_token,
                    r.refresh_token,
                    r.expires_at,
                    r.scope,
                    r.status,
                    r.user_id,
                    r.installed_at
                ],
            )
            .map(drop)
        }))
    }

    fn get<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<Option<Installation>, Error>> {
        Box::pin(self.select("member_id", member_id.to_owned()))
    }

    fn find_domain<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<Installation>, Error>> {
        Box::pin(self.select("domain", crate::installation::normalize_domain(domain)))
    }

    fn member_ids(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(self.run("list installations", |conn| {
            let mut statement = conn.prepare("SELECT member_id FROM b24_installations ORDER BY member_id")?;
            let ids = statement.query_map([], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        }))
    }

    fn remove<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        let member_id = member_id.to_owned();
        Box::pin(self.run("remove an installation", move |conn| {
            conn.execute("DELETE FROM b24_installations WHERE member_id = ?1", [member_id]).map(|n| n > 0)
        }))
    }

    fn save_tokens<'a>(&'a self, member_id: &'a str, tokens: TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        let key = member_id.to_owned();
        let (access, refresh, expires, client, server) = token_columns(&tokens);
        Box::pin(async move {
            let changed = self
                .run("store a token pair", move |conn| {
                    conn.execute(
                        "UPDATE b24_installations SET access_token = ?2, refresh_token = ?3, expires_at = ?4,
                         client_endpoint = ?5, server_endpoint = COALESCE(?6, server_endpoint) WHERE member_id = ?1",
                        params![key, access, refresh, expires, client, server],
                    )
                })
                .await?;
            if changed == 0 { Err(not_installed(member_id)) } else { Ok(()) }
        })
    }

    fn lock_refresh<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<RefreshGuard, Error>> {
        Box::pin(async move {
            let local = self.shared.locks.acquire(member_id).await;
            // A live holder finishes, or its lease expires, within one lease.
            let give_up = tokio::time::Instant::now() + self.shared.lease * 3;
            loop {
                if self.try_lease(member_id.to_owned()).await? {
                    let guard = LeaseGuard { store: self.clone(), member_id: member_id.to_owned(), local: Some(local) };
                    return Ok(Box::new(guard) as RefreshGuard);
                }
                if tokio::time::Instant::now() >= give_up {
                    return Err(Error::sdk(
                        Code::JssdkStoreUnavailable,
                        format!("the refresh lock of portal {member_id} stayed taken by another process"),
                    ));
                }
                tokio::time::sleep(LEASE_POLL).await;
            }
        })
    }
}
