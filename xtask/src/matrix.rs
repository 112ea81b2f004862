//! `cargo xtask matrix`: writes the GitHub Actions workflow that runs the same xtask commands on
//! Linux, macOS and Windows. Only Linux is verified where this project is developed; the other two
//! jobs are there so that their ports have a place to go green.

use std::fmt::Write;

const OSES: &[(&str, &str, &str)] = &[
    ("linux", "ubuntu-latest", "verified: the platform this project is developed and tested on"),
    (
        "macos",
        "macos-latest",
        "not yet implemented: the sys/ layer compiles out with a clear error",
    ),
    (
        "windows",
        "windows-latest",
        "not yet implemented: the sys/ layer compiles out with a clear error",
    ),
];

pub(crate) fn render() -> String {
    let mut y = String::new();
    y.push_str(
        "# Written by `cargo xtask matrix`; edit xtask/src/matrix.rs instead.\n\
         name: ci\n\
         on:\n  push:\n  pull_request:\n\
         env:\n  CARGO_TERM_COLOR: always\n\
         jobs:\n",
    );
    for (id, runner, note) in OSES {
        let _ = write!(
            y,
            "  {id}:\n\
             \x20   # {note}\n\
             \x20   runs-on: {runner}\n\
             \x20   continue-on-error: {}\n\
             \x20   timeout-minutes: 90\n\
             \x20   steps:\n\
             \x20     - uses: actions/checkout@v4\n\
             \x20     - name: toolchain (rust-toolchain.toml)\n\
             \x20       run: rustup show\n\
             \x20     - uses: actions/setup-python@v5\n\
             \x20       with:\n\
             \x20         python-version: '3.11'\n\
             \x20     - name: cargo xtask test\n\
             \x20       run: cargo xtask test\n",
            *id != "linux"
        );
    }
    y
}

pub(crate) fn run() -> Result<(), String> {
    let path = crate::root().join(".github/workflows/ci.yml");
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| e.to_string())?;
    std::fs::write(&path, render()).map_err(|e| e.to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_workflow_is_current() {
        let path = crate::root().join(".github/workflows/ci.yml");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(committed, super::render(), "run `cargo xtask matrix` and commit the result");
    }
}
