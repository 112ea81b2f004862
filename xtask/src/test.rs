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
    run::step(
        "tests: unit, integration, doc",
        cargo().args(["test", "--workspace", "--all-features"]),
    )?;
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
