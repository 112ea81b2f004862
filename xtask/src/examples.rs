//! Every example is run and its output checked against the `.expect` file beside it.
//!
//! An `.expect` file holds one directive per line (`#` starts a comment):
//!
//! ```text
//! exit: 0                  exit code (default 0)
//! timeout: 60              seconds before the run is killed (default 60)
//! args: a b                command-line arguments
//! line: REGEX              a stdout line matches, after the line the previous `line:` matched
//! any: REGEX               some stdout line matches
//! count: N REGEX           exactly N stdout lines match
//! at-least: N REGEX        N or more stdout lines match
//! none: REGEX              no stdout line matches
//! stderr: REGEX            some stderr line matches
//! adjacent: A => B         every line matching A is immediately followed by one matching B, where
//!                          `$1` in B stands for what A's first group captured
//! ```
//!
//! Patterns are unanchored regular expressions. An example without an `.expect` file is an error:
//! every example's output is checked.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use regex::Regex;

use crate::run;

/// An example: its package, name, source and expectations file.
#[derive(Clone)]
pub(crate) struct Example {
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) source: PathBuf,
    pub(crate) expect: PathBuf,
}

/// What one checked run of an example produced.
pub(crate) struct Outcome {
    /// The example that ran.
    pub(crate) example: Example,
    /// The command-line arguments it ran with.
    pub(crate) args: Vec<String>,
    /// The run's output (the example passed its checks).
    pub(crate) run: run::Captured,
}

/// Finds `crates/*/examples/*.rs`.
pub(crate) fn discover() -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    let crates = crate::root().join("crates");
    let mut dirs: Vec<_> =
        std::fs::read_dir(&crates).map_err(|e| e.to_string())?.flatten().collect();
    dirs.sort_by_key(|d| d.file_name());
    for d in dirs {
        let ex = d.path().join("examples");
        let Ok(entries) = std::fs::read_dir(&ex) else { continue };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "rs") {
                let name = f.file_stem().unwrap().to_string_lossy().into_owned();
                out.push(Example {
                    package: d.file_name().to_string_lossy().into_owned(),
                    expect: f.with_extension("expect"),
                    source: f,
                    name,
                });
            }
        }
    }
    Ok(out)
}

/// `cargo xtask examples [NAME…]`: builds the examples, runs those whose name contains one of
/// the filters (all of them without filters), checks each run, and returns what they printed.
pub(crate) fn run_all(filter: &[String]) -> Result<Vec<Outcome>, String> {
    let all = discover()?;
    let chosen: Vec<&Example> = all
        .iter()
        .filter(|e| filter.is_empty() || filter.iter().any(|f| e.name.contains(f.as_str())))
        .collect();
    run::step(
        "build the examples",
        Command::new("cargo").args(["build", "--examples", "--workspace"]),
    )?;
    eprintln!("\n==> run {} examples and check their output", chosen.len());
    let mut failures = Vec::new();
    let mut outcomes = Vec::new();
    for ex in chosen {
        match check(ex) {
            Ok((run, args)) => {
                eprintln!("    ok    {:<28} {:>6.2}s", ex.name, run.elapsed.as_secs_f64());
                outcomes.push(Outcome { example: ex.clone(), args, run });
            }
            Err(why) => {
                eprintln!("    FAIL  {}\n{why}", ex.name);
                failures.push(ex.name.clone());
            }
        }
    }
    if failures.is_empty() {
        Ok(outcomes)
    } else {
        Err(format!("examples failed: {}", failures.join(", ")))
    }
}

struct Spec {
    exit: i32,
    timeout: Duration,
    args: Vec<String>,
    checks: Vec<Check>,
}

enum Check {
    Line(Regex),
    Any(Regex),
    Count(usize, Regex),
    AtLeast(usize, Regex),
    None(Regex),
    Stderr(Regex),
    Adjacent(Regex, String),
}

fn parse(path: &Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut spec =
        Spec { exit: 0, timeout: Duration::from_secs(60), args: Vec::new(), checks: Vec::new() };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("{}:{}: {why}: {raw}", path.display(), i + 1);
        let (key, val) = line.split_once(':').ok_or_else(|| bad("expected `key: value`"))?;
        let val = val.trim();
        let re = |s: &str| Regex::new(s).map_err(|e| bad(&e.to_string()));
        let counted = |s: &str| -> Result<(usize, Regex), String> {
            let (n, pat) = s.split_once(' ').ok_or_else(|| bad("expected `N REGEX`"))?;
            Ok((n.parse().map_err(|_| bad("bad count"))?, re(pat.trim())?))
        };
        match key.trim() {
            "exit" => spec.exit = val.parse().map_err(|_| bad("bad exit code"))?,
            "timeout" => {
                spec.timeout = Duration::from_secs(val.parse().map_err(|_| bad("bad timeout"))?)
            }
            "args" => spec.args = val.split_whitespace().map(String::from).collect(),
            "line" => spec.checks.push(Check::Line(re(val)?)),
            "any" => spec.checks.push(Check::Any(re(val)?)),
            "none" => spec.checks.push(Check::None(re(val)?)),
            "stderr" => spec.checks.push(Check::Stderr(re(val)?)),
            "adjacent" => {
                let (a, b) = val.split_once(" => ").ok_or_else(|| bad("expected `A => B`"))?;
                spec.checks.push(Check::Adjacent(re(a.trim())?, b.trim().to_string()));
            }
            "count" => {
                let (n, r) = counted(val)?;
                spec.checks.push(Check::Count(n, r));
            }
            "at-least" => {
                let (n, r) = counted(val)?;
                spec.checks.push(Check::AtLeast(n, r));
            }
            _ => return Err(bad("unknown directive")),
        }
    }
    if spec.checks.is_empty() {
        return Err(format!("{}: checks nothing", path.display()));
    }
    Ok(spec)
}

/// Runs one example and checks it; returns what it printed and the arguments it ran with.
fn check(ex: &Example) -> Result<(run::Captured, Vec<String>), String> {
    if !ex.expect.exists() {
        return Err(format!(
            "      no {} (every example's output must be checked)",
            ex.expect.display()
        ));
    }
    let spec = parse(&ex.expect)?;
    let bin = crate::target_dir().join("debug/examples").join(&ex.name);
    let mut cmd = Command::new(&bin);
    cmd.args(&spec.args);
    let out = run::capture(&mut cmd, spec.timeout)?;
    let mut problems = Vec::new();
    if out.timed_out {
        problems.push(format!("did not finish within {:?}", spec.timeout));
    } else if out.code != Some(spec.exit) {
        problems.push(format!("exit code {:?}, expected {}", out.code, spec.exit));
    }
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut pos = 0;
    for c in &spec.checks {
        match c {
            Check::Line(r) => match lines[pos..].iter().position(|l| r.is_match(l)) {
                Some(i) => pos += i + 1,
                None => problems.push(format!("no line matching /{r}/ after line {pos}")),
            },
            Check::Any(r) => {
                if !lines.iter().any(|l| r.is_match(l)) {
                    problems.push(format!("no line matching /{r}/"));
                }
            }
            Check::Count(n, r) => {
                let got = lines.iter().filter(|l| r.is_match(l)).count();
                if got != *n {
                    problems.push(format!("{got} lines match /{r}/, expected {n}"));
                }
            }
            Check::AtLeast(n, r) => {
                let got = lines.iter().filter(|l| r.is_match(l)).count();
                if got < *n {
                    problems.push(format!("{got} lines match /{r}/, expected at least {n}"));
                }
            }
            Check::None(r) => {
                if let Some(l) = lines.iter().find(|l| r.is_match(l)) {
                    problems.push(format!("unexpected line matching /{r}/: {l}"));
                }
            }
            Check::Stderr(r) => {
                if !out.stderr.lines().any(|l| r.is_match(l)) {
                    problems.push(format!("no stderr line matching /{r}/"));
                }
            }
            Check::Adjacent(a, b) => {
                for (i, l) in lines.iter().enumerate() {
                    let Some(caps) = a.captures(l) else { continue };
                    let group = caps.get(1).map(|m| regex::escape(m.as_str())).unwrap_or_default();
                    let next = Regex::new(&b.replace("$1", &group)).map_err(|e| e.to_string())?;
                    if !lines.get(i + 1).is_some_and(|n| next.is_match(n)) {
                        problems.push(format!("line {} /{a}/ is not followed by /{next}/", i + 1));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok((out, spec.args));
    }
    let indent = |s: &str| s.lines().map(|l| format!("      | {l}\n")).collect::<String>();
    Err(format!(
        "      {} (package {})\n      - {}\n      stdout:\n{}      stderr:\n{}",
        bin.display(),
        ex.package,
        problems.join("\n      - "),
        indent(&out.stdout),
        indent(&out.stderr)
    ))
}
