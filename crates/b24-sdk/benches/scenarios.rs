//! The benchmark scenarios of `cargo xtask bench` (docs/benchmarks.md), each printing one JSON
//! line on stdout:
//!
//! - `overhead [--quick]`: `server.time` through b24 and through a bare hyper client, same
//!   emulator (profile `fast`), concurrency 1 and 64; calls per second and the ratio.
//! - `memory N`: starts an emulator with N rows and a child process that streams them with
//!   `fetch_list`, dropping each page; the child's peak RSS.
//! - `export N [--workers W] [--chains C]`: profile `cloud` with W workers (default 8) at time
//!   scale 0.1 (more for more workers), client limits scaled to match, default settings
//!   (adaptive concurrency) or `chains(C)`; wall time, requests, the most in flight, 503s and
//!   429s, rows served, rows per second, and the lower bound the settings allow. With
//!   `B24_TIMELINE` set, each attempt's answer is printed with its time on stderr.

use std::time::Instant;

use b24_emulator::{BatchCharging, Emulator, EmulatorHandle, Settings};
use b24_sdk::prelude::*;
use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::{self, StreamExt};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A runtime of one worker thread named `name` (CPU is reported by thread name).
fn runtime(name: &str) -> Res<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(name).enable_all().build()?)
}

/// The emulator on its own runtime and threads, so that server work does not queue behind the
/// client's.
fn emulator(settings: Settings) -> Res<(EmulatorHandle, tokio::runtime::Runtime)> {
    let rt = runtime("emulator")?;
    let handle = rt.block_on(Emulator::start(settings))?;
    Ok((handle, rt))
}

async fn sdk_calls(client: &Client, n: usize, concurrency: usize) -> Res<f64> {
    let started = Instant::now();
    let results: Vec<Result<String, Error>> =
        stream::iter(0..n).map(|_| client.server_time()).buffer_unordered(concurrency).collect().await;
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(e.into());
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

async fn bare_calls(url: &str, n: usize, concurrency: usize) -> Res<f64> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http::<Full<Bytes>>();
    let started = Instant::now();
    let results: Vec<Res<()>> = stream::iter(0..n)
        .map(|_| {
            let client = client.clone();
            async move {
                let request = http::Request::post(url)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from_static(b"{}")))?;
                let response = client.request(request).await?;
                let body = response.into_body().collect().await?.to_bytes();
                let value: Value = serde_json::from_slice(&body)?;
                value.get("result").ok_or("no result")?;
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(e);
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// CPU seconds used so far by this process's threads, by thread name (`emulator`, `client`, and
/// the main thread, which drives `block_on`), from /proc (10 ms ticks).
fn cpu_by_thread() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let name = if name.starts_with("emulator") || name.starts_with("client") { name } else { "main".to_owned() };
        *out.entry(name).or_insert(0.0) += (ticks(11) + ticks(12)) / 100.0;
    }
    out
}

/// Microseconds of CPU per call, by thread name, between two [`cpu_by_thread`] readings.
fn cpu_per_call(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    calls: usize,
) -> Value {
    let per =
        |k: &str| (after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0)) * 1e6 / calls as f64;
    json!({"emulator_us": per("emulator"), "client_us": per("client") + per("main")})
}

fn profile_calls(bare: bool, concurrency: usize, n: usize) -> Res<Value> {
    let (portal, _server) = emulator(Settings::fast())?;
    let rt = runtime("client")?;
    let url = format!("{}server.time", portal.webhook_url());
    let client = Client::builder().webhook(&portal.webhook_url()).plan(Plan::Unlimited).build()?;
    let per_sec = if bare {
        rt.block_on(bare_calls(&url, n, concurrency))?
    } else {
        rt.block_on(sdk_calls(&client, n, concurrency))?
    };
    Ok(json!({"scenario": "profile-calls", "bare": bare, "concurrency": concurrency, "per_sec": per_sec}))
}

fn overhead(quick: bool) -> Res<Value> {
    let (portal, _server) = emulator(Settings::fast())?;
    let rt = runtime("client")?;
    let n = if quick { 4_000 } else { 20_000 };
    let url = format!("{}server.time", portal.webhook_url());
    let client = Client::builder().webhook(&portal.webhook_url()).plan(Plan::Unlimited).build()?;
    let mut rows = Vec::new();
    for concurrency in [1usize, 64] {
        // Warm both pools, then alternate to share the machine's noise.
        rt.block_on(sdk_calls(&client, 200, concurrency))?;
        rt.block_on(bare_calls(&url, 200, concurrency))?;
        // Three alternating runs of each; the best of each (noise only ever slows a run down).
        let (mut bare, mut sdk) = (0.0f64, 0.0f64);
        let (mut bare_cpu, mut sdk_cpu) = (Value::Null, Value::Null);
        for _ in 0..3 {
            let t0 = cpu_by_thread();
            let b = rt.block_on(bare_calls(&url, n, concurrency))?;
            let t1 = cpu_by_thread();
            let s = rt.block_on(sdk_calls(&client, n, concurrency))?;
            let t2 = cpu_by_thread();
            if b > bare {
                (bare, bare_cpu) = (b, cpu_per_call(&t0, &t1, n));
            }
            if s > sdk {
                (sdk, sdk_cpu) = (s, cpu_per_call(&t1, &t2, n));
            }
        }
        rows.push(json!({
            "concurrency": concurrency, "calls": n, "sdk_per_sec": sdk, "bare_per_sec": bare, "ratio": sdk / bare,
            "bare_cpu": bare_cpu, "sdk_cpu": sdk_cpu,
        }));
    }
    Ok(json!({"scenario": "overhead", "runs": rows}))
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn memory_child(url: &str) -> Res<Value> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let rows = rt.block_on(async {
        let client = Client::builder().webhook(url).plan(Plan::Unlimited).build()?;
        let mut pages = client.v2().fetch_list::<Value>(ListQuery::new("crm.deal.list"));
        let mut rows = 0u64;
        while let Some(page) = pages.try_next().await? {
            rows += page.len() as u64;
        }
        Ok::<_, Error>(rows)
    })?;
    Ok(json!({"rows": rows, "peak_rss_kib": peak_rss_kib()}))
}

/// Three children one after another; the median peak is reported (the allocator's layout makes
/// a single child's peak vary by a few percent from run to run).
fn memory(n: u64) -> Res<Value> {
    let (portal, _server) = emulator(Settings::fast().with_rows(n))?;
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..3 {
        let out = std::process::Command::new(&exe).args(["memory-child", &portal.webhook_url()]).output()?;
        children.push(serde_json::from_slice::<Value>(&out.stdout)?);
    }
    let mut peaks: Vec<u64> = children.iter().filter_map(|c| c["peak_rss_kib"].as_u64()).collect();
    peaks.sort_unstable();
    let median = peaks.get(peaks.len() / 2).copied().ok_or("no child reported its peak")?;
    let rows = children.first().map_or(Value::Null, |c| c["rows"].clone());
    Ok(json!({"scenario": "memory", "rows": n, "child": {"rows": rows, "peak_rss_kib": median}, "peaks_kib": peaks}))
}

/// The export scenario's settings: the emulator's worker count and the client's concurrency.
struct ExportCase {
    rows: u64,
    workers: usize,
    /// `Some(n)`: `chains(n)`; `None`: the default (adaptive).
    chains: Option<usize>,
}

impl ExportCase {
    fn parse(args: &[String]) -> ExportCase {
        let flag = |name: &str| {
            args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<u64>().ok())
        };
        ExportCase {
            rows: args.get(1).and_then(|v| v.parse().ok()).unwrap_or(20_000),
            workers: flag("--workers").map_or(8, |w| w.max(1) as usize),
            chains: flag("--chains").map(|c| c as usize),
        }
    }
}

fn export(case: &ExportCase) -> Res<Value> {
    if std::env::var_os("B24_TIMELINE").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("B24_TIMELINE").unwrap_or_default())
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let n = case.rows;
    // The time scale grows with the worker count so that the rows per real second (the client's
    // and the emulator's CPU) stay the same for every portal: 0.1 up to 8 workers.
    let scale = 0.1 * (case.workers as f64 / 8.0).max(1.0);
    let mut settings = Settings::cloud().with_rows(n).with_time_scale(scale);
    settings.cost.workers = case.workers;
    let (cost, bucket, operating) = (settings.cost, settings.bucket, settings.operating);
    let (portal, _server) = emulator(settings)?;
    let rt = runtime("client")?;
    let client = Client::builder().webhook(&portal.webhook_url()).plan(Plan::Standard).time_scale(scale).build()?;
    let started = Instant::now();
    let rows = rt.block_on(async {
        let mut query = ListQuery::new("crm.item.list").param("entityTypeId", 2).select(["id", "title"]);
        if let Some(chains) = case.chains {
            query = query.chains(chains);
        }
        let mut pages = client.v2().fetch_list::<Value>(query);
        let mut rows = 0u64;
        while let Some(page) = pages.try_next().await? {
            rows += page.len() as u64;
        }
        Ok::<_, Error>(rows)
    })?;
    let wall = started.elapsed().as_secs_f64();
    let c = portal.counters();
    // The lower bound, in portal seconds, from the same settings: the portal's workers, or the
    // default's cap when the portal has more.
    let lanes = match case.chains {
        Some(chains) => chains.min(cost.workers),
        None => b24_sdk::actions::concurrency::DEFAULT_MAX.min(cost.workers),
    } as f64;
    let pages = n.div_ceil(50);
    let full_pages = n / 50;
    let last = n % 50;
    let page = |rows: u64| cost.list_base + rows as f64 * cost.per_row;
    let mut w = full_pages as f64 * page(50);
    if last > 0 {
        w += page(last);
    }
    let requests = pages.div_ceil(50).max(1);
    let a = bucket.map_or(0.0, |b| (requests.saturating_sub(u64::from(b.capacity))) as f64 / b.drain_per_sec);
    let b = w / lanes;
    // The operating bound counts only the handler time the portal records: with each batch
    // sub-call charged to its own method, a page of 0.1 s or less is not recorded at all.
    let charged = operating.map_or(0.0, |o| match o.batch_charging {
        BatchCharging::PerCommand => {
            let recorded = |rows: u64| if page(rows) > o.min_recorded_secs { page(rows) } else { 0.0 };
            full_pages as f64 * recorded(50) + if last > 0 { recorded(last) } else { 0.0 }
        }
        BatchCharging::ToBatch => w,
    });
    let cc = operating.map_or(0.0, |o| 600.0 * (charged / o.limit_secs).floor() + (charged % o.limit_secs) / lanes);
    let bound = a.max(b).max(cc) * scale;
    Ok(json!({
        "scenario": "export", "rows": rows, "expected": n, "workers": case.workers, "chains": case.chains,
        "lanes": lanes, "time_scale": scale, "wall_s": wall, "requests": c.requests,
        "max_in_flight": c.max_in_flight,
        "status_503": c.status_503, "status_429": c.status_429, "count_queries": c.count_queries,
        "rows_served": c.rows_served, "rows_per_s": rows as f64 / wall, "bound_s": bound, "bound_parts_s": {"rate": a * scale, "server": b * scale, "operating": cc * scale},
        "ratio": wall / bound.max(1e-9),
    }))
}

/// Best-of-five seconds per iteration of `f`, run `iterations` times per sample.
fn best<T>(iterations: u32, mut f: impl FnMut() -> T) -> f64 {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..iterations {
                std::hint::black_box(f());
            }
            started.elapsed().as_secs_f64() / f64::from(iterations)
        })
        .fold(f64::INFINITY, f64::min)
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Row {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "TITLE")]
    title: String,
    #[serde(rename = "STAGE_ID")]
    stage: String,
    #[serde(rename = "OPPORTUNITY")]
    amount: String,
}

/// A batch answer's `result` block, typed (the other blocks are skipped).
#[derive(serde::Deserialize)]
struct BatchAnswer {
    result: std::collections::HashMap<String, Vec<Row>>,
}

fn codec(quick: bool) -> Res<Value> {
    let iterations = if quick { 20 } else { 100 };
    // Encode: a 50-command chained batch.
    let commands: Vec<Command> = (0..50)
        .map(|k| {
            Command::new("crm.deal.list", json!({"filter": {">ID": b24_sdk::Ref::result(&format!("p{k}")).index(49).field("ID").to_string(), "STAGE_ID": "WON"}, "select": ["ID", "TITLE"], "order": {"ID": "ASC"}, "start": -1}))
        })
        .collect();
    let batch = Batch::list(commands)?;
    let encode = best(iterations * 10, || batch.v2_params().map(|p| p.to_string().len()).unwrap_or(0));
    // Parse: a 2,500-row batch answer.
    let page: Vec<Value> = (0..50)
        .map(|i| json!({"ID": i.to_string(), "TITLE": format!("Deal {i} with a title"), "STAGE_ID": "WON", "OPPORTUNITY": "1234.50"}))
        .collect();
    let results: serde_json::Map<String, Value> =
        (0..50).map(|k| (format!("p{k}"), Value::Array(page.clone()))).collect();
    let body = serde_json::to_vec(
        &json!({"result": {"result": results, "result_error": [], "result_total": [], "result_next": [], "result_time": []}, "time": {"start": 1.0, "finish": 2.0}}),
    )?;
    let bare = best(iterations, || serde_json::from_slice::<Value>(&body).map(|v| v.is_object()).unwrap_or(false));
    let bytes = Bytes::from(body.clone());
    let as_value = best(iterations, || {
        b24_sdk::transport::fuzzing::parse_raw(200, bytes.clone())
            .and_then(|r| r.value())
            .map(|v| v.is_object())
            .unwrap_or(false)
    });
    let parse_typed = || {
        b24_sdk::transport::fuzzing::parse_raw(200, bytes.clone())
            .and_then(|r| r.json::<BatchAnswer>())
            .map(|a| a.result.values().map(Vec::len).sum::<usize>())
            .unwrap_or(0)
    };
    // The typed parse must succeed (a failing parse would measure the wrong thing).
    if parse_typed() != 2500 {
        return Err("the typed parse did not read 2,500 rows".into());
    }
    let typed = best(iterations, parse_typed);
    let mb = body.len() as f64 / 1e6;
    Ok(json!({
        "scenario": "codec",
        "encode_50_commands_us": encode * 1e6,
        "body_mb": mb,
        "bare_serde_json_mb_s": mb / bare,
        "b24_value_mb_s": mb / as_value,
        "b24_typed_mb_s": mb / typed,
        "ratio_value": bare / as_value,
        "ratio_typed": bare / typed,
    }))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let quick = args.iter().any(|a| a == "--quick");
    let number = |i: usize| args.get(i).and_then(|v| v.parse::<u64>().ok());
    let out = match args.first().map(String::as_str) {
        Some("overhead") => overhead(quick)?,
        // One side alone, for a profiler: `perf record ... scenarios profile-calls sdk|bare [C [N]]`.
        Some("profile-calls") => profile_calls(
            args.get(1).map(String::as_str) == Some("bare"),
            number(2).unwrap_or(64) as usize,
            number(3).unwrap_or(100_000) as usize,
        )?,
        Some("memory") => memory(number(1).unwrap_or(100_000))?,
        Some("memory-child") => memory_child(args.get(1).map(String::as_str).unwrap_or_default())?,
        Some("export") => export(&ExportCase::parse(&args))?,
        Some("codec") => codec(quick)?,
        _ => {
            eprintln!(
                "usage: scenarios overhead [--quick] | memory N | export N [--workers W] [--chains C] | codec [--quick] | profile-calls sdk|bare [C [N]]"
            );
            std::process::exit(2);
        }
    };
    println!("{out}");
    Ok(())
}
