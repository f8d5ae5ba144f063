//! `cargo xtask bench [--quick]`: run the benchmark scenarios of `b24-sdk/benches/scenarios.rs`
//! (release build) and write `docs/benchmarks.md` with each figure beside its target.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn scenario(root: &Path, args: &[&str]) -> Result<Value, String> {
    eprintln!("bench: {}", args.join(" "));
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["bench", "--quiet", "-p", "b24-sdk", "--bench", "scenarios", "--"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with('{')).ok_or("no result line")?;
    serde_json::from_str(line).map_err(|e| format!("bad result line: {e}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn mark(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// Run and write the report.
pub(crate) fn run(root: &Path, quick: bool) -> Result<(), String> {
    let overhead = scenario(root, &if quick { vec!["overhead", "--quick"] } else { vec!["overhead"] })?;
    let codec = scenario(root, &if quick { vec!["codec", "--quick"] } else { vec!["codec"] })?;
    let memory_sizes: &[&str] = if quick { &["100000", "300000"] } else { &["100000", "1000000"] };
    let mut memory = Vec::new();
    for n in memory_sizes {
        memory.push(scenario(root, &["memory", n])?);
    }
    // Default settings beside `chains` = the portal's workers, on portals of 2, 8 and 32 workers,
    // one after the other so that both see the same machine.
    let mut exports = Vec::new();
    for n in ["20000", "100000"] {
        for workers in ["2", "8", "32"] {
            exports.push(scenario(root, &["export", n, "--workers", workers])?);
            exports.push(scenario(root, &["export", n, "--workers", workers, "--chains", workers])?);
        }
    }
    if !quick {
        exports.push(scenario(root, &["export", "1000000", "--workers", "8"])?);
    }
    // A single-worker portal: the default against one chain at a time.
    let single = [
        scenario(root, &["export", "20000", "--workers", "1"])?,
        scenario(root, &["export", "20000", "--workers", "1", "--chains", "1"])?,
    ];

    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `cargo xtask bench{}` (a {} run). Every figure comes from one run on one machine;",
        if quick { " --quick" } else { "" },
        if quick { "quick" } else { "full" }
    );
    let _ = writeln!(w, "ratios compare things measured in the same run, since the machine is noisy. Reproduce with");
    let _ = writeln!(
        w,
        "`cargo xtask bench` (full, ~10 minutes with the 1,000,000-row export) or `cargo xtask bench --quick`.\n"
    );
    let _ = writeln!(
        w,
        "Machine: {} cores; the emulator runs in the same process on its own runtime (scenario 3: in the parent of the measured child).\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    let _ = writeln!(w, "## 1. Export under the cloud model\n");
    let _ = writeln!(
        w,
        "Profile `cloud` (cost model, standard limits 50 / 2 per s, operating limit 480 s per 10 min, each batch sub-call charged to its own method) with the emulator's worker count varied, client limits scaled to match, `crm.item.list`. *Default* is `fetch_list` with no setting: adaptive concurrency finds the portal's parallelism from its answers, never above 16 requests in flight; *chains N* is the fixed override with N = the portal's workers. The time scale is 0.1 up to 8 workers and grows with them (0.4 at 32), so that rows per real second, and the client's CPU per second, stay the same. The bound is the largest of the request-rate, server-time and operating-time bounds computed from the same settings (docs/seed/bitrix24-wire.md, section 9; the operating bound counts only the time the portal records: each sub-call is charged to its own method, and a list page of 0.1 s or less is not recorded, so under this model an export of 50-row pages is bounded by the bucket and the workers, not by operating time), with the server time spread over the workers the client may use: all of them, or the default's cap of 16 on a bigger portal. Target: at most 1.15 x the bound, 0 503s and 0 429s. *Most at once* is the most requests the portal saw at the same time; *served* counts the rows the portal built, the highest-id probe and any page asked for past a window's end included.\n"
    );
    let _ = writeln!(
        w,
        "| rows | workers | settings | wall (s) | bound (s) | ratio | target | requests | most at once | 503 | 429 | COUNT | served | rows/s |"
    );
    let _ = writeln!(
        w,
        "| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for e in &exports {
        let ratio = f(e, "ratio");
        let settings = match e["chains"].as_u64() {
            Some(c) => format!("chains {c}"),
            None => "default".to_owned(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.2} | {:.3} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
            e["rows"],
            e["workers"],
            settings,
            f(e, "wall_s"),
            f(e, "bound_s"),
            ratio,
            mark(ratio <= 1.15 && e["status_503"] == 0 && e["status_429"] == 0),
            e["requests"],
            e["max_in_flight"],
            e["status_503"],
            e["status_429"],
            e["count_queries"],
            e["rows_served"],
            f(e, "rows_per_s")
        );
    }
    let (adaptive, sequential) = (f(&single[0], "wall_s"), f(&single[1], "wall_s"));
    let _ = writeln!(
        w,
        "\nA single-worker portal, 20,000 rows: the default takes {adaptive:.2} s, one chain at a time (`chains 1`) {sequential:.2} s: {:.2} x (target: at most 1.05, {}).",
        adaptive / sequential,
        mark(adaptive <= 1.05 * sequential)
    );
    let _ = writeln!(w, "\n## 2. Per-call overhead against bare hyper\n");
    let _ = writeln!(
        w,
        "Profile `fast` (no costs, no limits), `server.time` through b24 (`Plan::Unlimited`: the whole stack but the limiters) and through a bare hyper client POSTing the same request and parsing the JSON, in the same run. Target: b24 reaches at least 0.85 of bare hyper.\n"
    );
    let _ = writeln!(w, "| concurrency | calls | b24 calls/s | bare hyper calls/s | ratio | target |");
    let _ = writeln!(w, "| ---: | ---: | ---: | ---: | ---: | --- |");
    for r in overhead["runs"].as_array().into_iter().flatten() {
        let ratio = f(r, "ratio");
        let _ = writeln!(
            w,
            "| {} | {} | {:.0} | {:.0} | {:.2} | {} |",
            r["concurrency"],
            r["calls"],
            f(r, "sdk_per_sec"),
            f(r, "bare_per_sec"),
            ratio,
            mark(ratio >= 0.85)
        );
    }

    let _ = writeln!(w, "\n## 3. Streaming memory\n");
    let _ = writeln!(
        w,
        "Profile `fast`; a child process streams every row with `fetch_list`, dropping each page; its peak RSS (VmHWM), the median of three children. Target: under 64 MiB, and growth under 10 % from the smaller to the larger export.\n"
    );
    let _ = writeln!(w, "| rows | peak RSS (MiB) | target |");
    let _ = writeln!(w, "| ---: | ---: | --- |");
    let rss: Vec<f64> =
        memory.iter().map(|m| m["child"]["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0).collect();
    for (m, mib) in memory.iter().zip(&rss) {
        let _ = writeln!(w, "| {} | {:.1} | {} |", m["rows"], mib, mark(*mib < 64.0));
    }
    if let [small, large] = rss.as_slice() {
        let growth = (large / small - 1.0) * 100.0;
        let _ = writeln!(w, "\nGrowth from the smaller to the larger export: {growth:.1} % ({}).", mark(growth < 10.0));
    }

    let _ = writeln!(w, "\n## 4. Codec\n");
    let _ = writeln!(
        w,
        "Encoding a 50-command chained batch; parsing a 2,500-row batch answer ({:.2} MB) into `serde_json::Value` and into a typed struct, beside a bare `serde_json::from_slice::<Value>` of the same bytes (best of five samples each). Target: at least 0.7 of bare serde_json.\n",
        f(&codec, "body_mb")
    );
    let _ = writeln!(w, "| measure | figure | ratio to bare serde_json | target |");
    let _ = writeln!(w, "| --- | ---: | ---: | --- |");
    let _ = writeln!(w, "| encode a 50-command batch | {:.1} µs | | |", f(&codec, "encode_50_commands_us"));
    let _ = writeln!(
        w,
        "| bare `serde_json::from_slice::<Value>` | {:.1} MB/s | 1.00 | |",
        f(&codec, "bare_serde_json_mb_s")
    );
    let _ = writeln!(
        w,
        "| b24 envelope + result as `Value` | {:.1} MB/s | {:.2} | {} |",
        f(&codec, "b24_value_mb_s"),
        f(&codec, "ratio_value"),
        mark(f(&codec, "ratio_value") >= 0.7)
    );
    let _ = writeln!(
        w,
        "| b24 envelope + result as a typed struct | {:.1} MB/s | {:.2} | {} |",
        f(&codec, "b24_typed_mb_s"),
        f(&codec, "ratio_typed"),
        mark(f(&codec, "ratio_typed") >= 0.7)
    );
    let _ = write!(w, "{LOOKING_CLOSER}");
    let path = root.join("docs/benchmarks.md");
    std::fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote docs/benchmarks.md");
    Ok(())
}

/// How to look behind the figures (the same in every run).
const LOOKING_CLOSER: &str = r#"
## Looking closer

- `B24_TIMELINE=b24::call=trace,b24::export=trace cargo bench -p b24-sdk --bench scenarios -- export 20000 --workers 8`: when each window was cut (its ids, the lanes and the limit in flight) and each attempt sent and answered, on stderr (any `tracing` filter works).
- `cargo bench -p b24-sdk --bench scenarios -- profile-calls sdk|bare [concurrency [calls]]`: one side of scenario 2 alone, for `perf record` or `valgrind --tool=callgrind --separate-threads=yes`; the difference between two call counts gives the instructions per call on each thread.
- *Served* in scenario 1 is the emulator's `rows_served` counter: rows it built, including pages the client asked for past a window's end.
"#;
