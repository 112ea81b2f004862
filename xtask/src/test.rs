//! `cargo xtask test`: what CI runs, in the order that fails fastest.

use std::process::Command;

use crate::{doc_audit, docs, examples, run};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("`test` takes no arguments (got {a:?})"));
    }
    let cargo = || Command::new("cargo");
    run::step("formatting", cargo().args(["fmt", "--all", "--", "--check"]))?;
    run::step(
        "clippy, warnings denied",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Read from the sources, so it fails in a second, before the long test run.
    eprintln!("\n==> docs: every public item documented, with a code example");
    doc_audit::run(&[])?;
    let before = our_segments();
    run::step(
        "tests: unit, integration, doc",
        cargo().args(["test", "--workspace", "--all-features"]),
    )?;
    let leaked: Vec<String> = our_segments().into_iter().filter(|s| !before.contains(s)).collect();
    if !leaked.is_empty() {
        return Err(format!("the tests left named shared memory in /dev/shm: {leaked:?}"));
    }
    eprintln!("    (no named shared memory left in /dev/shm)");
    feature_matrix()?;
    let outcomes = examples::run_all(&[])?;
    // The API docs (warnings denied), then the book around them, link-checked.
    docs::build(&outcomes)?;
    eprintln!("\nxtask test: all checks passed");
    Ok(())
}

/// The facade's features, read from its manifest: every key of `[features]` except `default` and
/// `full` (which the workspace test above already builds).
fn facade_features() -> Result<Vec<String>, String> {
    let path = crate::root().join("crates/multiproc/Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut features = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[features]";
            continue;
        }
        if !in_table || line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            let is_key = !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if is_key && key != "default" && key != "full" {
                features.push(key.to_string());
            }
        }
    }
    if features.is_empty() {
        return Err(format!("no features found in {}", path.display()));
    }
    Ok(features)
}

/// "Depend on only the pieces you need", verified: the facade with no default features, and with
/// each feature alone, builds and passes its smoke test for that feature
/// (`crates/multiproc/tests/features.rs`, one `#[cfg(feature = "…")]` test per feature).
fn feature_matrix() -> Result<(), String> {
    let features = facade_features()?;
    let smoke = crate::root().join("crates/multiproc/tests/features.rs");
    let tests = std::fs::read_to_string(&smoke).map_err(|e| format!("{}: {e}", smoke.display()))?;
    let untested: Vec<&String> =
        features.iter().filter(|f| !tests.contains(&format!("feature = \"{f}\""))).collect();
    if !untested.is_empty() {
        return Err(format!(
            "facade features without a smoke test in {}: {untested:?}",
            smoke.display()
        ));
    }
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(features.iter().map(|f| Some(f.as_str())));
    for set in sets {
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "-p", "multiproc", "--no-default-features"]);
        if let Some(f) = set {
            cmd.args(["--features", f]);
        }
        cmd.args(["--test", "features"]);
        let what = match set {
            None => "the facade with no features".to_string(),
            Some(f) => format!("the facade with only `{f}`"),
        };
        run::step(&what, &mut cmd)?;
    }
    Ok(())
}

/// Named segments made by multiproc (`mp_…`) in `/dev/shm`.
fn our_segments() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|n| n.starts_with("mp_"))
                .collect()
        })
        .unwrap_or_default()
}
