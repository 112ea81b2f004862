//! `cargo xtask test`: what CI runs, in the order that fails fastest.

use std::process::Command;

use crate::{examples, run};

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
    examples::run_all(&[])?;
    run::step(
        "API docs, warnings denied",
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("\nxtask test: all checks passed");
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
