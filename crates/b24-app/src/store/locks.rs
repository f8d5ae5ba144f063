//! The in-process half of a refresh lock: callers in one process queue on a tokio mutex per
//! portal before one of them asks the database, so a burst of refused calls costs one database
//! lock, not one per call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

/// One tokio mutex per portal.
#[derive(Debug, Default)]
pub(crate) struct LocalLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl LocalLocks {
    /// Wait for this process's turn at `member_id`'s refresh.
    pub(crate) async fn acquire(&self, member_id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.entry(member_id.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// A name for this process's lock holders: the process id and a random part (the SQLite lease
/// row records it; PostgreSQL's advisory locks belong to the session instead).
#[cfg(feature = "sqlite")]
pub(crate) fn owner_id() -> String {
    format!("{}:{}", std::process::id(), fastrand::u64(..))
}
