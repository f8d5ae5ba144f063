//! `cargo xtask build-times [--base REV]`: what the method layer costs a build, measured in one
//! run. Clean builds of `b24-sdk` (each in a fresh target directory, `CARGO_INCREMENTAL=0`):
//! with default features at the base revision (before the layer; default: `main` while it lacks
//! the layer, else the last commit of main before it), and now with default features, with
//! `crm`, and with every group of methods. CPU time (user + system of the build's processes) is the figure the
//! ratios use: wall time on a shared machine moves with its load. The table goes to
//! `xtask/build-times.md`, which `cargo xtask codegen` puts into `docs/methods.md`. Each build is
//! of a scratch crate depending on `b24-sdk` by path, so the profile is a user's (not this
//! workspace's tuned one).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Run {
    label: &'static str,
    features: &'static str,
    wall: f64,
    cpu: f64,
    load: f64,
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").current_dir(root).args(args).output().map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `main` as it is, while it does not hold the method layer; once it does, the last commit of
/// main's first-parent history without it (the state just before the layer landed).
fn default_base(root: &Path) -> Result<String, String> {
    let history = git(root, &["rev-list", "--first-parent", "main"])?;
    for commit in history.lines() {
        let has_layer = git(root, &["ls-tree", "--name-only", commit, "crates/b24-methods/Cargo.toml"])?;
        if has_layer.is_empty() {
            return Ok(commit.to_owned());
        }
    }
    Err("no commit of main lacks crates/b24-methods; pass --base REV".into())
}

/// The one-minute load average (how busy the shared machine was).
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// CPU seconds of this process's waited-for children (user + system), from /proc.
fn children_cpu() -> Result<f64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("/proc/self/stat: {e}"))?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("unreadable /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the whole line: 14 and 15 after `)` + state.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).ok_or("unreadable /proc/self/stat");
    let tck = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    Ok((ticks(13)? + ticks(14)?) / tck)
}

/// A scratch crate that depends on `b24-sdk` from `tree` as a user's would (its own
/// workspace, the default dev profile), with the tree's `Cargo.lock` so versions match.
fn user_crate(tree: &Path, dir: &Path, features: &str) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let features: Vec<String> = features.split(',').filter(|f| !f.is_empty()).map(|f| format!("{f:?}")).collect();
    let manifest = format!(
        "[package]\nname = \"b24-build-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nb24-sdk = {{ path = {:?}, features = [{}] }}\n\n[workspace]\n",
        tree.join("crates/b24-sdk").display().to_string(),
        features.join(", ")
    );
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write("Cargo.toml", &manifest)?;
    write("src/main.rs", "fn main() {\n    let _ = b24_sdk::Client::builder();\n}\n")?;
    let lock = std::fs::read_to_string(tree.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    write("Cargo.lock", &lock)
}

fn build(tree: &Path, scratch: &Path, features: &str) -> Result<(f64, f64), String> {
    let dir = scratch.join("probe");
    user_crate(tree, &dir, features)?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&dir).env("CARGO_TARGET_DIR", dir.join("target")).env("CARGO_INCREMENTAL", "0").arg("build");
    // The probe is its own workspace: the caller's (the xtask's) settings must not leak in.
    cmd.env_remove("CARGO_MANIFEST_DIR").env_remove("RUSTFLAGS");
    eprintln!("build-times: {} {}", tree.display(), if features.is_empty() { "(default features)" } else { features });
    let cpu_before = children_cpu()?;
    let start = Instant::now();
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    let wall = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("the build against {} failed", tree.display()));
    }
    let cpu = children_cpu()? - cpu_before;
    // Each clean build takes a gigabyte or two: free it before the next.
    let _ = std::fs::remove_dir_all(&dir);
    Ok((wall, cpu))
}

/// Measure and write `xtask/build-times.md`.
pub(crate) fn run(root: &Path, base: Option<&str>) -> Result<(), String> {
    let base = match base {
        Some(b) => git(root, &["rev-parse", b])?,
        None => default_base(root)?,
    };
    let head = git(root, &["rev-parse", "--short", "HEAD"])?;
    let scratch = std::env::temp_dir().join("b24-build-times");
    let base_src = scratch.join("base-src");
    if base_src.exists() {
        std::fs::remove_dir_all(&base_src).map_err(|e| format!("{}: {e}", base_src.display()))?;
    }
    std::fs::create_dir_all(&base_src).map_err(|e| format!("{}: {e}", base_src.display()))?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("git -C '{}' archive '{base}' | tar -x -C '{}'", root.display(), base_src.display()))
        .status()
        .map_err(|e| format!("git archive: {e}"))?;
    if !status.success() {
        return Err("git archive of the base failed".into());
    }
    let plan: [(&'static str, PathBuf, &'static str); 4] = [
        ("before (the base)", base_src.clone(), ""),
        ("after", root.to_path_buf(), ""),
        ("after, with CRM", root.to_path_buf(), "crm"),
        ("after, every group", root.to_path_buf(), "all-methods"),
    ];
    let mut runs = Vec::new();
    for (label, dir, features) in &plan {
        let before = load();
        let (wall, cpu) = build(dir, &scratch, features)?;
        runs.push(Run { label, features, wall, cpu, load: (before + load()) / 2.0 });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let md = render(&runs, &base[..base.len().min(10)], &head);
    let out = root.join(crate::codegen_methods::BUILD_TIMES);
    std::fs::write(&out, md).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "wrote {}; run `cargo xtask codegen` to put it into docs/methods.md",
        crate::codegen_methods::BUILD_TIMES
    );
    Ok(())
}

fn render(runs: &[Run], base: &str, head: &str) -> String {
    let before = runs.first().map_or(f64::NAN, |r| r.cpu);
    let before_wall = runs.first().map_or(f64::NAN, |r| r.wall);
    let mut w = String::new();
    let _ = writeln!(w, "## What the layer costs a build\n");
    let _ = writeln!(
        w,
        "Written by `cargo xtask build-times` (one run; base `{base}`, measured at `{head}`): clean builds of \
         a scratch crate that depends on `b24-sdk` as a user's would (`cargo build`, the default dev \
         profile, a fresh target directory each, dependencies included). CPU is user + system time of the build; the ratios use it, since wall time \
         on a shared machine moves with its load (the last column: the machine's one-minute load average \
         during the build, on 2 cores).\n"
    );
    let _ = writeln!(w, "| build | features | CPU s | × before | wall s | × before (wall) | load |");
    let _ = writeln!(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for r in runs {
        let features = if r.features.is_empty() { "default".to_owned() } else { format!("default + `{}`", r.features) };
        let _ = writeln!(
            w,
            "| {} | {features} | {:.0} | {:.2} | {:.0} | {:.2} | {:.1} |",
            r.label,
            r.cpu,
            r.cpu / before,
            r.wall,
            r.wall / before_wall,
            r.load
        );
    }
    w
}
