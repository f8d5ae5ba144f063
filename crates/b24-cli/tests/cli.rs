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
        args(&["call", "--webhook", &portal.webhook_url(), "crm.deal.list", "filter[>ID]=990", "select[]=ID"]),
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
    assert_eq!(missing.status.code(), Some(2), "a usage problem exits 2");
    let lines = stderr_lines(&missing);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("JSSDK_INVALID_CONFIG") && lines[0].contains("--webhook"), "{lines:?}");
    assert!(!lines[0].contains("status 500") && !lines[0].contains("builder"), "a shell user's hint: {lines:?}");

    let bad =
        b24(args(&["call", "--webhook", "https://portal.example.invalid/rest/abc/fakesecret0/", "server.time"]), None)
            .await;
    assert_eq!(bad.status.code(), Some(2));
    let lines = stderr_lines(&bad);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("JSSDK_INVALID_WEBHOOK_URL") && !lines[0].contains("fakesecret0"), "{lines:?}");

    let unknown = b24(args(&["call", "no.such.method"]), Some(portal.webhook_url())).await;
    assert_eq!(unknown.status.code(), Some(1), "a portal failure exits 1");
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
    let out = b24(args(&["call", "--verbose", "server.time"]), Some(portal.webhook_url())).await;
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("b24.attempt"), "the trace was printed: {err}");
    assert!(!err.contains(&portal.settings().webhook_secret));
    assert!(!err.contains('\u{1b}'), "no colour codes when stderr is not a terminal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_selects_the_trace() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let url = portal.webhook_url();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("b24").expect("binary");
        cmd.env("B24_WEBHOOK_URL", url).env("RUST_LOG", "b24=trace").args(["call", "server.time"]).output()
    })
    .await
    .expect("join")
    .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("b24.attempt"), "RUST_LOG is honoured without -v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_message_lists_only_what_was_typed() {
    let out =
        b24(args(&["export", "crm.deal.list"]), Some("https://example.bitrix24.com/rest/1/fakesecret123/".into()))
            .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--out") && !err.contains("--webhook"), "the webhook came from the environment: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_only_what_applies() {
    for (command, absent) in [("emulator", "--webhook"), ("demo", "--allow-http"), ("emulator", "--verbose")] {
        let out = b24(args(&[command, "--help"]), None).await;
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !help.contains(absent), "{command} --help lists {absent}: {help}");
    }
    let out = b24(args(&["call", "--help"]), None).await;
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--webhook", "--timeout", "--retries", "--retry-budget", "--plan", "--ca-cert", "--redis"] {
        assert!(help.contains(flag), "call --help lacks {flag}");
    }
    let out = b24(args(&["--help"]), None).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes: 0 success, 1"), "exit codes are documented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_mistakes_are_refused_with_what_to_type() {
    let portal = Emulator::start(Settings::fast()).await.expect("emulator");
    let out_file = std::env::temp_dir().join(format!("b24-cli-filter-{}.jsonl", std::process::id()));
    let out = b24(
        args(&[
            "export",
            "crm.deal.list",
            "--filter",
            "filter[>ID]=990",
            "--out",
            out_file.to_str().unwrap_or_default(),
        ]),
        Some(portal.webhook_url()),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "the call form of a filter is refused, not ignored");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--filter '>ID=990'"));
    assert_eq!(portal.counters().requests, 0, "nothing was sent");

    let nodir = std::env::temp_dir().join("b24-no-such-dir").join("x.csv");
    let out = b24(
        args(&["export", "crm.deal.list", "--out", nodir.to_str().unwrap_or_default()]),
        Some(portal.webhook_url()),
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("JSSDK_IO_ERROR") && err.contains("No such file or directory"),
        "the OS reason is kept: {err}"
    );
    assert!(!err.contains("names the setting"), "{err}");

    let out = b24(args(&["call", "--timeout", "0", "server.time"]), Some(portal.webhook_url())).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout takes a positive number"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_call_says_more_pages_exist() {
    let portal = Emulator::start(Settings::fast().with_rows(120)).await.expect("emulator");
    let out = b24(args(&["call", "crm.deal.list"]), Some(portal.webhook_url())).await;
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("one page of 120") && err.contains("start=50") && err.contains("b24 export"), "{err}");
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

    // A failed command shows the portal's code and status, not the wrapper's 500.
    std::fs::write(&file, r#"[{"method": "crm.deal.get", "params": {"id": 999999999}}, {"method": "server.time"}]"#)
        .expect("write");
    let out = b24(args(&["batch", file.to_str().unwrap_or_default()]), Some(portal.webhook_url())).await;
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert!(lines[0].contains("status 400") && !lines[0].contains("status 500"), "{lines:?}");
    let _ = std::fs::remove_file(file);
}
