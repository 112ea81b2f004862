//! `cargo xtask docs [--check]`: the guide (an mdBook in `docs/`) and the API docs, built into one
//! static site in `docs/book/build`, with every internal link checked.
//!
//! The book's sources are copied to a staging directory in the target directory, where the
//! generated parts are filled in: the porting guide's examples (each example's Python twin from its
//! seed, its Rust source, and the output of a real run of it) and the performance page (the table
//! and chart from `cargo xtask bench`'s `results.json`). mdbook builds the staged book; the API docs
//! (`cargo doc --no-deps`) are copied in under `api/`. `--check` then opens two pages in headless
//! Chromium and keeps screenshots of them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{docs_links, docs_pages, examples, run};

/// The mdbook release the site is built with, installed into `<target>/tools` when missing.
const MDBOOK_VERSION: &str = "0.5.4";

/// Where the site goes.
pub(crate) fn site_dir() -> PathBuf {
    crate::root().join("docs/book/build")
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut check = false;
    for a in args {
        match a.as_str() {
            "--check" => check = true,
            other => return Err(format!("`docs` takes only --check (got {other:?})")),
        }
    }
    let outcomes = examples::run_all(&[])?;
    build(&outcomes)?;
    if check {
        screenshots()?;
    }
    eprintln!("\nxtask docs: the site is in {}", site_dir().display());
    Ok(())
}

/// Builds the site from the example runs in `outcomes` and checks its links.
pub(crate) fn build(outcomes: &[examples::Outcome]) -> Result<(), String> {
    let mdbook = ensure_mdbook()?;
    run::step(
        "API docs, warnings denied",
        Command::new("cargo")
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;

    eprintln!("\n==> generate the book's pages");
    let root = crate::root();
    let stage = crate::target_dir().join("docs-stage");
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    copy_dir(&root.join("docs/src"), &stage.join("src"))?;
    copy_dir(&root.join("docs/css"), &stage.join("css"))?;
    copy_file(&root.join("docs/book.toml"), &stage.join("book.toml"))?;
    let porting = docs_pages::porting(&stage.join("src/porting.md"), outcomes)?;
    eprintln!(
        "    porting.md: {} examples beside their Python, {} multiproc-only",
        porting.paired, porting.only_rust
    );
    let perf = docs_pages::performance(&stage.join("src/performance.md"), &bench_results())?;
    eprintln!("    performance.md: {perf}");

    let site = site_dir();
    if site.exists() {
        std::fs::remove_dir_all(&site).map_err(|e| format!("{}: {e}", site.display()))?;
    }
    run::step(
        "build the book",
        Command::new(&mdbook).arg("build").arg(&stage).arg("--dest-dir").arg(&site),
    )?;
    let api = crate::target_dir().join("doc");
    copy_dir(&api, &site.join("api"))?;
    eprintln!("    copied the API docs from {} to {}", api.display(), site.join("api").display());

    eprintln!("\n==> check the site's links");
    let (checked, broken) = docs_links::check(&site, &["api"])?;
    if !broken.is_empty() {
        for b in &broken {
            eprintln!(
                "    BROKEN {}: {} ({})",
                b.page.strip_prefix(&site).unwrap_or(&b.page).display(),
                b.link,
                b.why
            );
        }
        return Err(format!("{} broken links in the book", broken.len()));
    }
    eprintln!("    {checked} internal links, none broken");
    Ok(())
}

/// Where `cargo xtask bench` leaves its results.
fn bench_results() -> PathBuf {
    crate::root().join("target/bench/results.json")
}

/// The pinned mdbook, installed into `<target>/tools` if it is not there yet.
fn ensure_mdbook() -> Result<PathBuf, String> {
    let tools = crate::target_dir().join("tools");
    let bin = tools.join("bin/mdbook");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(MDBOOK_VERSION))
        .unwrap_or(false);
    if !installed {
        // Only the `search` feature: the site is static, so mdbook's server and watcher are left
        // out (and compile time with them). The build happens in a temporary directory, not in
        // the workspace's target directory.
        run::step(
            &format!("install mdbook {MDBOOK_VERSION} into {}", tools.display()),
            Command::new("cargo")
                .args(["install", "mdbook", "--locked", "--version", MDBOOK_VERSION])
                .args(["--no-default-features", "--features", "search", "--root"])
                .arg(&tools)
                .env_remove("CARGO_TARGET_DIR"),
        )?;
    }
    Ok(bin)
}

/// The pages `--check` photographs: the front page and the porting guide.
const SCREENSHOTS: &[&str] = &["index.html", "porting.html"];
/// A PNG smaller than this shows next to nothing (a blank 1280×900 page is a few KiB).
const MIN_PNG_BYTES: u64 = 20_000;
const CHROMIUM: &str = "/usr/bin/chromium";
/// A font with Chinese glyphs: the porting guide quotes the tutorials, which are in Chinese.
const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";

/// Opens pages of the built site in headless Chromium and keeps a screenshot of each.
fn screenshots() -> Result<(), String> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CJK_FONT).exists() {
        run::step("refresh the package lists", Command::new("apt-get").arg("update"))?;
        run::step(
            "install Chromium and a Chinese font",
            Command::new("apt-get").args([
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "fonts-wqy-zenhei",
            ]),
        )?;
    }
    let out_dir = crate::target_dir().join("docs-screenshots");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    eprintln!("\n==> screenshots in headless Chromium");
    for page in SCREENSHOTS {
        let url = format!("file://{}", site_dir().join(page).display());
        let png = out_dir.join(Path::new(page).with_extension("png"));
        let _ = std::fs::remove_file(&png);
        let profile = crate::target_dir().join(format!("tmp/chromium-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(CHROMIUM);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url);
        let shot = run::capture(&mut cmd, Duration::from_secs(120))?;
        let _ = std::fs::remove_dir_all(&profile);
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        let is_png = std::fs::read(&png).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"));
        if shot.timed_out || !is_png || size < MIN_PNG_BYTES {
            return Err(format!(
                "no usable screenshot of {page} ({} bytes{}):\n{}",
                size,
                if shot.timed_out { ", Chromium timed out" } else { "" },
                shot.stderr
            ));
        }
        eprintln!("    {page}: {} ({} KiB)", png.display(), size / 1024);
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to).map(drop).map_err(|e| format!("{}: {e}", from.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            copy_file(&src, &dst)?;
        }
    }
    Ok(())
}
