//! `cargo xtask bench [FILTER…] [--quick] [--reps N]`: every workload for multiproc (and procspawn,
//! and raw baselines where a workload has one) and, in the same run, for Python's multiprocessing;
//! one table with the ratios and the goals, and `target/bench/results.json`.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::run;

/// Builds the Rust side of the benchmarks (release) and returns the path of its executable.
fn build_compare() -> Result<std::path::PathBuf, String> {
    let args = [
        "bench",
        "-p",
        "multiproc-bench",
        "--bench",
        "compare",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ];
    eprintln!("\n==> build the benchmarks (release)\n    $ cargo {}", args.join(" "));
    let out = Command::new("cargo")
        .args(args)
        .current_dir(crate::root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo bench --no-run: {e}"))?;
    if !out.status.success() {
        return Err(format!("building the benchmarks failed ({})", out.status));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "compare")
        .find_map(|v| v["executable"].as_str().map(std::path::PathBuf::from))
        .ok_or_else(|| "cargo named no executable for the compare benchmark".to_string())
}

/// `cmd` with the environment a program started from a shell has: without the library path cargo
/// adds for the programs it runs (this xtask among them).
fn plain_env(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("LD_LIBRARY_PATH").env_remove("DYLD_FALLBACK_LIBRARY_PATH")
}

/// A goal from BENCHMARKS.md.
enum Goal {
    /// The median must be at least this.
    Min(f64),
    /// The median must be at most this.
    Max(f64),
    /// The median must be at most `factor` × the median of another implementation of the same
    /// workload in the same run (a raw baseline).
    TimesBaseline(&'static str, f64),
    /// The median must be at least `factor` × Python's median in the same run (higher is better).
    TimesPython(f64),
}

fn goal(id: &str) -> Option<Goal> {
    use Goal::*;
    Some(match id {
        "spawn_seq/spawn" => Min(1_000.0),
        "spawn_seq/fork" | "spawn_seq/forkserver" => Min(3_000.0),
        "queue_8b" => Min(10e6),
        "queue_1k" => Min(3e6),
        "queue_2p2c_8b" => Min(3e6),
        "pipe_rtt/typed" | "pipe_rtt/bytes8" => TimesBaseline("raw", 1.3),
        "pipe_1k/socketpair" | "pipe_1k/pipe" => Min(500e3),
        "lock_contention/2proc" => Min(20e6),
        "lock_contention/1proc" => Min(50e6),
        "event_rtt" | "sem_rtt" => TimesBaseline("raw", 1.2),
        "array_write/bulk" => Max(1.0),
        "pool_map_chunk1" => Min(300e3),
        "pool_map_default" => Min(10e6),
        "pool_apply_rtt" => Max(30.0),
        "pool_startup" => Max(5.0),
        "pool_cpu" => Min(1.9),
        "manager_dict/2proc" => TimesPython(10.0),
        _ => return None,
    })
}

/// Goals on a secondary figure (`extra`), such as MB/s.
fn extra_goal(id: &str) -> Option<(&'static str, f64)> {
    match id {
        "queue_64k" => Some(("MB/s", 8_000.0)),
        "queue_1m" => Some(("MB/s", 6_000.0)),
        _ => None,
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let passthrough: Vec<String> = args.to_vec();

    let exe = build_compare()?;
    eprintln!("\n==> multiproc and procspawn");
    // Run directly, as Python's twin is: not under cargo, whose LD_LIBRARY_PATH (the toolchain's
    // and the target directory's libraries) makes the dynamic loader search extra directories on
    // every exec, which a program started by its users does not pay.
    let rust = run::capture(
        plain_env(Command::new(&exe).args(&passthrough)),
        Duration::from_secs(if quick { 600 } else { 3600 }),
    )?;
    eprint!(
        "{}",
        rust.stderr
            .lines()
            .filter(|l| l.starts_with("bench:"))
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    if rust.code != Some(0) {
        return Err(format!("the Rust benchmarks failed:\n{}", rust.stderr));
    }
    eprintln!("\n==> Python's multiprocessing (python3, same machine, same run)");
    let script = crate::root().join("crates/multiproc-bench/python/twin.py");
    let py = run::capture(
        plain_env(Command::new("python3").arg(&script).args(&passthrough)),
        Duration::from_secs(if quick { 600 } else { 3600 }),
    )?;
    if py.code != Some(0) {
        eprintln!("    (python3 failed: {})", py.stderr.lines().last().unwrap_or(""));
    }

    let mut figures: Vec<Value> = Vec::new();
    for line in rust.stdout.lines().chain(py.stdout.lines()) {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            figures.push(v);
        }
    }
    let table = render(&figures);
    println!("{table}");

    let out_dir = crate::root().join("target/bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let doc = json!({
        "machine": machine(),
        "args": args,
        "figures": figures,
        "table": table,
    });
    let path = out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json"))
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "python": python,
    })
}

fn num(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// A figure for the table: three significant digits or so, with `k` and `M` for the large ones.
pub(crate) fn fmt(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.get("error").is_some() => "error".into(),
        Some(v) => {
            let (m, lo, hi) = (
                num(v, "median").unwrap_or(f64::NAN),
                num(v, "min").unwrap_or(f64::NAN),
                num(v, "max").unwrap_or(f64::NAN),
            );
            format!("{} ({}..{})", fmt(m), fmt(lo), fmt(hi))
        }
    }
}

/// The table: one row per workload, multiproc beside Python, procspawn and the raw baseline.
fn render(figures: &[Value]) -> String {
    let mut by_id: BTreeMap<String, BTreeMap<String, &Value>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for f in figures {
        let (Some(id), Some(imp)) =
            (f.get("id").and_then(Value::as_str), f.get("impl").and_then(Value::as_str))
        else {
            continue;
        };
        if !order.iter().any(|o| o == id) {
            order.push(id.to_string());
        }
        by_id.entry(id.to_string()).or_default().insert(imp.to_string(), f);
    }
    let mut out = String::from(
        "| workload | unit | multiproc median (min..max) | Python | procspawn | raw baseline | vs Python | goal |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for id in order {
        let row = &by_id[&id];
        let ours = row.get("multiproc").copied();
        let unit = ours
            .or(row.get("python").copied())
            .and_then(|v| v.get("unit"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let lower = ours.and_then(|v| v.get("better")).and_then(Value::as_str) == Some("lower");
        let ratio = match (
            ours.and_then(|v| num(v, "median")),
            row.get("python").and_then(|v| num(v, "median")),
        ) {
            (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
                let r = if lower { b / a } else { a / b };
                format!("{r:.1}×")
            }
            _ => "—".into(),
        };
        let verdict = judge(&id, row);
        out.push_str(&format!(
            "| {id} | {unit} | {} | {} | {} | {} | {ratio} | {verdict} |\n",
            cell(ours),
            cell(row.get("python").copied()),
            cell(row.get("procspawn").copied()),
            cell(row.get("raw").copied()),
        ));
        if let Some(extra) = ours.and_then(|v| v.get("extra")).and_then(Value::as_object) {
            for (k, s) in extra {
                let py = row.get("python").and_then(|p| p.get("extra")).and_then(|e| e.get(k));
                out.push_str(&format!(
                    "| ↳ {id} | {k} | {} | {} | | | | |\n",
                    cell(Some(s)),
                    cell(py)
                ));
            }
        }
    }
    out
}

fn judge(id: &str, row: &BTreeMap<String, &Value>) -> String {
    let Some(ours) = row.get("multiproc") else { return String::new() };
    let Some(m) = num(ours, "median") else { return "error".into() };
    let mut parts = Vec::new();
    match goal(id) {
        Some(Goal::Min(g)) => {
            parts.push(format!("≥ {} {}", fmt(g), if m >= g { "met" } else { "NOT met" }))
        }
        Some(Goal::Max(g)) => {
            parts.push(format!("≤ {} {}", fmt(g), if m <= g { "met" } else { "NOT met" }))
        }
        Some(Goal::TimesBaseline(base, f)) => match row.get(base).and_then(|b| num(b, "median")) {
            Some(b) => parts.push(format!(
                "≤ {f}× {base} ({:.2}×) {}",
                m / b,
                if m <= f * b { "met" } else { "NOT met" }
            )),
            None => parts.push(format!("≤ {f}× {base}: baseline missing")),
        },
        Some(Goal::TimesPython(f)) => match row.get("python").and_then(|p| num(p, "median")) {
            Some(p) => parts.push(format!(
                "≥ {f}× Python ({:.1}×) {}",
                m / p,
                if m >= f * p { "met" } else { "NOT met" }
            )),
            None => parts.push(format!("≥ {f}× Python: Python's figure missing")),
        },
        None => {}
    }
    if let Some((k, g)) = extra_goal(id) {
        let v = ours.get("extra").and_then(|e| e.get(k)).and_then(|s| num(s, "median"));
        match v {
            Some(v) => {
                parts.push(format!("{k} ≥ {} {}", fmt(g), if v >= g { "met" } else { "NOT met" }))
            }
            None => parts.push(format!("{k} missing")),
        }
    }
    parts.join("; ")
}
