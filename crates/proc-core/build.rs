//! Build script: exists so that `links = "proc-core"` can forbid two copies of proc-core in one binary.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
}
