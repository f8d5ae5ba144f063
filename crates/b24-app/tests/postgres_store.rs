//! The PostgreSQL store against the store contract, on a real server this test starts on
//! 127.0.0.1: two stores (two connections each, as two processes would have).

mod common;

use std::sync::Arc;

use b24_app::{InstallationStore, PostgresStore, testing};
use common::pg::PgServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_keep_the_contract() {
    let server = PgServer::start();
    let a: Arc<dyn InstallationStore> = Arc::new(PostgresStore::connect(&server.params()).await.expect("connect"));
    let b: Arc<dyn InstallationStore> =
        Arc::new(PostgresStore::connect(&server.params()).await.expect("connect again"));
    testing::run_contract(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_connection_string_is_refused_without_echoing_it() {
    let e = PostgresStore::connect("host=127.0.0.1 port=notaport password=fake-db-password").await.err();
    let e = e.expect("refused");
    assert_eq!(e.code(), b24_errors::Code::JssdkInvalidConfig);
    assert!(!format!("{e} {e:?}").contains("fake-db-password"));
    let server = PgServer::start();
    let store = PostgresStore::connect(&format!("{} password=fake-db-password", server.params())).await;
    let shown = format!("{:?}", store.expect("trust auth ignores the password"));
    assert!(!shown.contains("fake-db-password"), "{shown}");
}
