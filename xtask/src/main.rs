//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask test`: everything CI checks — formatting, clippy with warnings denied, every test
//!   (unit, integration, doctests), every example run with its output checked, and the API docs
//!   built with warnings denied.
//! - `cargo xtask bench [FILTER…] [--quick]`: the benchmark workloads for multiproc, Python's
//!   multiprocessing and procspawn in one run; prints a table and writes `target/bench/results.json`.
//! - `cargo xtask matrix`: writes the CI workflow for Linux, macOS and Windows.
//! - `cargo xtask examples [NAME…]`: only the example runs of `test`.

// The xtask starts tools (cargo, python3) by design; the rule against `Command::new` is for the
// library crates.
#![allow(clippy::disallowed_methods)]

mod bench;
mod examples;
mod matrix;
mod run;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r.to_vec()),
        None => ("help", Vec::new()),
    };
    let result = match cmd {
        "test" | "ci" => test::run(&rest),
        "examples" => examples::run_all(&rest),
        "bench" => bench::run(&rest),
        "matrix" => matrix::run(),
        "help" | "--help" | "-h" => {
            println!("{}", HELP);
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const HELP: &str = "usage: cargo xtask <command>

commands:
  test                 fmt, clippy -D warnings, all tests, examples with checked output, docs
  examples [NAME...]   run the examples and check their output
  bench [FILTER...]    benchmarks against Python and procspawn (--quick for a short run)
  matrix               write .github/workflows/ci.yml";

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().expect("xtask lives in the workspace root").to_path_buf()
}
