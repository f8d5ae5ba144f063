//! `b24 import` against the emulator: every row once with its id in the results file, a re-run
//! that writes nothing twice (after success, after a kill), refused rows reported with their
//! code, and a lost answer without a key stopping with the lines in doubt.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use b24_emulator::{CostModel, Emulator, FaultKind, FaultSettings, Settings};

mod common;
use common::{dir, run};

fn b24(webhook: &str) -> Command {
    common::b24(Some(webhook))
}

fn deals_file(path: &Path, n: u64) {
    let text: String = (1..=n).map(|i| format!("{{\"TITLE\":\"import row {i}\",\"STAGE_ID\":\"NEW\"}}\n")).collect();
    std::fs::write(path, text).expect("input");
}

fn results(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).expect("results").records().map(|r| r.expect("record")).collect()
}

fn import(webhook: &str, input: &Path, extra: &[&str]) -> Command {
    let mut cmd = b24(webhook);
    cmd.args(["import", "crm.deal.add", "--in"]).arg(input).args(extra);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_once_and_a_second_run_writes_nothing() {
    let portal = Emulator::start(Settings::fast().with_rows(0)).await.expect("emulator");
    let dir = dir("import-once");
    let input = dir.join("deals.jsonl");
    let out = dir.join("results.csv");
    deals_file(&input, 500);
    let first = run(import(&portal.webhook_url(), &input, &["--results", out.to_str().unwrap_or_default()])).await;
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(portal.item_count(2), 500);
    let records = results(&out);
    assert_eq!(records.len(), 500);
    assert!(records.iter().all(|r| r[1].parse::<u64>().is_ok() && r[2].is_empty()), "an id for every line");
    let again = run(import(&portal.webhook_url(), &input, &[])).await;
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("500 rows written before"));
    assert_eq!(portal.item_count(2), 500, "nothing written twice");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_rows_are_reported_with_their_input_line_and_why() {
    let portal = Emulator::start(Settings::fast().with_rows(10)).await.expect("emulator");
    let dir = dir("import-refused");
    let input = dir.join("updates.csv");
    std::fs::write(&input, "ID,TITLE\n1,first\n999999,nobody\n2,second\n").expect("input");
    let out = dir.join("results.csv");
    let mut cmd = b24(&portal.webhook_url());
    cmd.args(["import", "crm.deal.update", "--in"]).arg(&input).args(["--results"]).arg(&out);
    let done = run(cmd).await;
    assert!(!done.status.success(), "a refused row fails the run");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("JSSDK_BATCH_SUB_ERROR") && err.contains("1 rows were refused"), "{err}");
    let records = results(&out);
    // (Legacy CRM methods refuse with an empty code: the message says why.)
    let refused: Vec<&csv::StringRecord> = records.iter().filter(|r| r[1].is_empty()).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(&refused[0][0], "3", "the input line of the refused row");
    assert!(!refused[0][3].is_empty(), "and why");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_goes_on_with_a_key_and_writes_each_row_once() {
    // One worker, 5 ms per add: 2,000 rows take a few seconds.
    let settings = Settings { cost: CostModel { workers: 1, ..CostModel::CLOUD }, ..Settings::fast().with_rows(0) };
    let portal = Emulator::start(settings).await.expect("emulator");
    let dir = dir("import-killed");
    let input = dir.join("deals.jsonl");
    deals_file(&input, 2_000);
    let journal = dir.join("deals.jsonl.journal");
    let mut child = import(&portal.webhook_url(), &input, &["--key", "TITLE"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut waited = Duration::ZERO;
    while std::fs::read_to_string(&journal).map_or(0, |j| j.matches("\"id\"").count()) < 300 {
        assert!(waited < Duration::from_secs(60), "nothing was written");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    child.kill().expect("kill");
    let _ = child.wait();
    let written = portal.item_count(2);
    assert!((300..2_000).contains(&written), "{written}");
    let again = run(import(&portal.webhook_url(), &input, &["--key", "TITLE"])).await;
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(portal.item_count(2), 2_000, "every row once across both runs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_without_a_key_stops_naming_the_lines_in_doubt() {
    let portal = Emulator::start(Settings::fast().with_rows(0)).await.expect("emulator");
    portal.set_faults(FaultSettings {
        rate: 1.0,
        kinds: vec![FaultKind::DropConnection],
        methods: vec!["batch".into()],
        max_faults: Some(1),
        ..FaultSettings::default()
    });
    let dir = dir("import-doubt");
    let input = dir.join("deals.jsonl");
    deals_file(&input, 40);
    let stopped = run(import(&portal.webhook_url(), &input, &[])).await;
    assert!(!stopped.status.success());
    let err = String::from_utf8_lossy(&stopped.stderr);
    assert!(err.contains("may or may not have written the rows on input lines 1-40"), "{err}");
    assert_eq!(portal.item_count(2), 40, "applied once, not sent again");
    // Run again: the batch is still in doubt, and without a key it still stops.
    let again = run(import(&portal.webhook_url(), &input, &[])).await;
    assert!(!again.status.success());
    assert_eq!(portal.item_count(2), 40);
    // With the key, the rows are found and nothing is written twice.
    let settled = run(import(&portal.webhook_url(), &input, &["--key", "TITLE"])).await;
    assert!(settled.status.success(), "{}", String::from_utf8_lossy(&settled.stderr));
    assert_eq!(portal.item_count(2), 40);
    let _ = std::fs::remove_dir_all(&dir);
}
