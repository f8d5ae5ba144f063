//! What the tests that run the `b24` binary as a child share.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The binary, with no webhook from the environment unless `webhook` is given.
pub fn b24(webhook: Option<&str>) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("b24"));
    cmd.env_remove("B24_WEBHOOK_URL");
    if let Some(url) = webhook {
        cmd.env("B24_WEBHOOK_URL", url);
    }
    cmd
}

/// Run it to the end, off the async threads.
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run")).await.expect("join")
}

/// An empty scratch directory for one test.
pub fn dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("b24-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}
