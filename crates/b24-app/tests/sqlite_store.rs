//! The SQLite store against the store contract: in memory, and as a file opened twice (two
//! connections, as two processes of one host would).

use std::sync::Arc;

use b24_app::{InstallationStore, SqliteStore, testing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_keeps_the_contract() {
    let store = Arc::new(SqliteStore::memory().expect("an in-memory database"));
    testing::run_contract(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_opened_twice_keeps_the_contract() {
    let dir = std::env::temp_dir().join(format!("b24-app-sqlite-{}-{}", std::process::id(), fastrand_suffix()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("app.db");
    let a: Arc<dyn InstallationStore> = Arc::new(SqliteStore::open(&path).expect("open"));
    let b: Arc<dyn InstallationStore> = Arc::new(SqliteStore::open(&path).expect("open again"));
    testing::run_contract(a, b).await;
    let _ = std::fs::remove_dir_all(dir);
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}
