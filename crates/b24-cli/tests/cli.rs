//! The `b24` binary against the emulator.

use std::process::Output;

use assert_cmd::Command;
use b24_emulator::{Emulator, Settings};

async fn b24(args: Vec<String>, webhook: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("b24").expect("binary");
        cmd.env_remove("B24_WEBHOOK_URL");
        if let Some(url) = webhook {
            cmd.env("B24_WEBHOOK_URL", url);
        }
        cmd.args(args).output().expect("run")
    })
    .await
    .expect("join")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr).lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_server_time() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let out = b24(args(&["call", "server.time"]), Some(portal.webhook_url())).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(value.as_str().is_some_and(|t| t.contains('T')));
    let out = b24(
        args(&["--webhook", &portal.webhook_url(), "call", "crm.deal.list", "filter[>ID]=990", "select[]=ID"]),
        None,
    )
    .await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("rows");
    assert!(
        rows.as_array()
            .is_some_and(|r| !r.is_empty() && r.iter().all(|row| row.as_object().map(|o| o.len()) == Some(1)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_jsonl_and_csv_give_exactly_n_rows() {
    let portal = Emulator::start(Settings::fast().with_rows(5_003)).await.expect("emulator");
    let dir = std::env::temp_dir().join(format!("b24-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let jsonl = dir.join("deals.jsonl");
    let csv = dir.join("items.csv");
    let out = b24(
        args(&[
            "export",
            "crm.deal.list",
            "--select",
            "ID,TITLE",
            "--format",
            "jsonl",
            "--out",
            jsonl.to_str().unwrap_or_default(),
        ]),
        Some(portal.webhook_url()),
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&jsonl).expect("jsonl");
    let ids: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("line")["ID"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(ids, portal.seeded_ids().collect::<Vec<_>>());
    let out = b24(
        args(&[
            "export",
            "crm.item.list",
            "--param",
            "entityTypeId=2",
            "--format",
            "csv",
            "--count",
            "--chains",
            "3",
            "--out",
            csv.to_str().unwrap_or_default(),
        ]),
        Some(portal.webhook_url()),
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("id,")), "a header row");
    assert_eq!(lines.count(), 5_003);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_and_exit_non_zero() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let missing = b24(args(&["call", "server.time"]), None).await;
    assert!(!missing.status.success());
    let lines = stderr_lines(&missing);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("JSSDK_CORE_B24_NOT_INIT") && lines[0].contains("--webhook"), "{lines:?}");

    let bad =
        b24(args(&["--webhook", "https://portal.example.invalid/rest/abc/fakesecret0/", "call", "server.time"]), None)
            .await;
    assert!(!bad.status.success());
    let lines = stderr_lines(&bad);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("JSSDK_INVALID_WEBHOOK_URL") && !lines[0].contains("fakesecret0"), "{lines:?}");

    let unknown = b24(args(&["call", "no.such.method"]), Some(portal.webhook_url())).await;
    assert!(!unknown.status.success());
    let lines = stderr_lines(&unknown);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("ERROR_METHOD_NOT_FOUND") && lines[0].contains("status 404") && lines[0].contains("hint:"),
        "{lines:?}"
    );
    assert!(!lines[0].contains(&portal.settings().webhook_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_traces_hold_no_secret() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let out = b24(args(&["--verbose", "call", "server.time"]), Some(portal.webhook_url())).await;
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("b24.attempt"), "the trace was printed: {err}");
    assert!(!err.contains(&portal.settings().webhook_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_file() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let file = std::env::temp_dir().join(format!("b24-batch-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"cmd": {"t": {"method": "server.time"}, "d": {"method": "crm.deal.get", "params": {"id": 1}}}}"#,
    )
    .expect("write");
    let out = b24(args(&["batch", file.to_str().unwrap_or_default()]), Some(portal.webhook_url())).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["d"]["result"]["ID"], "1");
    let _ = std::fs::remove_file(file);
}
