//! `b24 export` when things go wrong: the output file is written under another name until the
//! export is complete, a run killed halfway resumes from the last id written with no gap and no
//! duplicate, and a failed run prints the command that resumes it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use b24_emulator::{CostModel, Emulator, Settings};

mod common;
use common::{b24, dir, run};

fn ids(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).expect("output");
    text.lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            row["ID"].as_str().and_then(|s| s.parse().ok()).expect("an ID")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_export_leaves_the_old_file_alone_and_resumes_exactly() {
    // Slow enough to be stopped halfway: 2 workers, pages of 55 ms at a fifth of real time.
    let settings = Settings {
        cost: CostModel { workers: 2, ..CostModel::CLOUD },
        time_scale: 0.2,
        ..Settings::fast().with_rows(30_000)
    };
    let portal = Emulator::start(settings).await.expect("emulator");
    let dir = dir("export-killed");
    let out = dir.join("deals.jsonl");
    let partial = dir.join("deals.jsonl.partial");
    std::fs::write(&out, "an earlier export\n").expect("old file");
    let mut cmd = b24(Some(&portal.webhook_url()));
    cmd.args(["export", "crm.deal.list", "--out"]).arg(&out);
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    // Wait until some rows are on disk (the writer flushes every MiB), then kill it.
    let mut waited = Duration::ZERO;
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 2 << 20 {
        assert!(waited < Duration::from_secs(60), "no rows were written");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(std::fs::read_to_string(&out).expect("old"), "an earlier export\n", "the old file is untouched");
    let written = std::fs::metadata(&partial).expect("partial").len();
    assert!(written > 0);

    let mut cmd = b24(Some(&portal.webhook_url()));
    cmd.args(["export", "crm.deal.list", "--resume", "--out"]).arg(&out);
    let done = run(cmd).await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(!partial.exists(), "renamed when complete");
    assert_eq!(ids(&out), portal.seeded_ids().collect::<Vec<_>>(), "every row once, in order, across both runs");

    let mut cmd = b24(Some(&portal.webhook_url()));
    cmd.args(["export", "crm.deal.list", "--resume", "--out"]).arg(&out);
    let again = run(cmd).await;
    assert!(!again.status.success(), "nothing to resume");
    assert!(String::from_utf8_lossy(&again.stderr).contains("is complete"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_prints_the_command_that_resumes_it() {
    let portal = Emulator::start(Settings::fast().with_rows(100)).await.expect("emulator");
    let dir = dir("export-failed");
    let out = dir.join("items.csv");
    // crm.item.list without its entityTypeId: the portal refuses (a final error).
    let mut cmd = b24(None);
    cmd.args(["export", "crm.item.list", "--webhook", &portal.webhook_url(), "--format", "csv", "--out"]).arg(&out);
    let failed = run(cmd).await;
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    let resume = format!("resume with: b24 export crm.item.list --format csv --out {} --resume", out.display());
    assert!(err.contains(&resume), "{err}");
    assert!(!err.contains(&portal.settings().webhook_secret), "the webhook is left out: {err}");
    assert!(dir.join("items.csv.partial").exists() && !out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
