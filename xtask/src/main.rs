//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask test`: everything CI checks — formatting, clippy with warnings denied, the doc
//!   audit, every test (unit, integration, doctests), the facade built with each feature alone, every example run
//!   with its output checked, the API docs built with warnings denied, and the book built and
//!   link-checked.
//! - `cargo xtask bench [FILTER…] [--quick]`: the benchmark workloads for multiproc, Python's
//!   multiprocessing and procspawn in one run; prints a table and writes `target/bench/results.json`.
//! - `cargo xtask matrix`: writes the CI workflow for Linux, macOS and Windows.
//! - `cargo xtask examples [NAME…]`: only the example runs of `test`.
//! - `cargo xtask doc-audit [CRATE…]`: every public item of the library crates documented, and
//!   every function, method and type with a code example (see `doc_audit.rs` for the rules).
//! - `cargo xtask docs [--check]`: the book and the API docs as one static site in
//!   `docs/book/build`; `--check` also takes screenshots of it in headless Chromium.

// The xtask starts tools (cargo, python3) by design; the rule against `Command::new` is for the
// library crates.
#![allow(clippy::disallowed_methods)]

mod bench;
mod doc_audit;
mod docs;
mod docs_links;
mod docs_pages;
mod docs_seeds;
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
        "examples" => examples::run_all(&rest).map(drop),
        "docs" => docs::run(&rest),
        "doc-audit" => doc_audit::run(&rest),
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
  test                 fmt, clippy -D warnings, all tests, the facade with each feature alone,
                       examples with checked output, API docs, the book (built and link-checked)
  examples [NAME...]   run the examples and check their output
  docs [--check]       build the book and the API docs into docs/book/build and check its links;
                       --check also screenshots two pages in headless Chromium
  doc-audit [CRATE...] list public items without docs or without a code example
  bench [FILTER...]    benchmarks against Python and procspawn (--quick for a short run)
  matrix               write .github/workflows/ci.yml";

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().expect("xtask lives in the workspace root").to_path_buf()
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` if set (relative to the workspace root, as
/// cargo reads it when run from there), `target/` otherwise.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}
