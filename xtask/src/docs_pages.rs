//! The book's generated parts: the examples of the porting guide and the performance page.
//!
//! Each hand-written page holds a marker comment where its generated part goes; a page without its
//! marker is an error, so a generated part cannot silently disappear.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::docs_seeds::{self, Seed, SeedRef};
use crate::examples::{self, Outcome};

const PORTING_MARKER: &str = "<!-- generated: porting-examples -->";
const BENCH_MARKER: &str = "<!-- generated: bench-results -->";
/// In the porting guide, after an erratum's heading: the seed lines it is about.
const ERRATUM_MARKER: &str = "<!-- erratum:";

/// What the porting guide ended up with.
pub(crate) struct Porting {
    pub(crate) paired: usize,
    pub(crate) only_rust: usize,
}

/// A "what the tutorial gets wrong" entry: its heading, anchor, and the seed lines it concerns.
struct Erratum {
    title: String,
    id: String,
    refs: Vec<SeedRef>,
}

/// An example with a seed marker, ready to render.
struct Paired<'a> {
    ex: &'a examples::Example,
    prose: Vec<String>,
    refs: Vec<SeedRef>,
    snippets: Vec<String>,
    code: String,
    outcome: &'a Outcome,
}

/// Fills in the examples of the staged `porting.md`.
pub(crate) fn porting(page: &Path, outcomes: &[Outcome]) -> Result<Porting, String> {
    let text = std::fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
    if !text.contains(PORTING_MARKER) {
        return Err(format!("{} has no {PORTING_MARKER} line", page.display()));
    }
    // Without the tutorials (a checkout on its own), the guide is built with the Rust side only,
    // and says so; with them, every marker and erratum is checked against the seed's lines.
    let dir = match docs_seeds::seeds_dir() {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("xtask docs: warning: {e}; the porting guide shows the Rust side only");
            None
        }
    };
    let mut seeds: HashMap<String, Seed> = HashMap::new();

    let errata = parse_errata(&text)?;
    for e in errata.iter().filter(|_| dir.is_some()) {
        let dir = dir.as_deref().expect("filtered");
        for r in &e.refs {
            let lines = load(&mut seeds, dir, &r.file)?.line_count();
            if r.last > lines {
                return Err(format!("erratum {:?}: {r} is past the end ({lines} lines)", e.title));
            }
        }
    }

    // The examples that ran for this build, not a fresh look at the tree: examples added while
    // the build runs wait for the next one.
    let mut paired = Vec::new();
    let mut only_rust = Vec::new();
    for outcome in outcomes {
        let ex = &outcome.example;
        let source = std::fs::read_to_string(&ex.source)
            .map_err(|e| format!("{}: {e}", ex.source.display()))?;
        let header = docs_seeds::read_header(&source)
            .map_err(|e| format!("{}: {e}", ex.source.display()))?;
        if header.refs.is_empty() {
            only_rust.push((ex, header.prose));
            continue;
        }
        let mut snippets = Vec::new();
        for r in &header.refs {
            let s = match dir.as_deref() {
                Some(dir) => load(&mut seeds, dir, &r.file)
                    .and_then(|seed| seed.snippet(r))
                    .map_err(|e| format!("{}: {e}", ex.source.display()))?,
                None => {
                    format!("# {r}: the seed tutorials were not found when this page was built")
                }
            };
            snippets.push(s);
        }
        paired.push(Paired {
            ex,
            prose: header.prose,
            refs: header.refs,
            snippets,
            code: body_of(&source),
            outcome,
        });
    }
    paired.sort_by(|a, b| {
        let key = |p: &Paired<'_>| (p.refs[0].file.clone(), p.refs[0].first, p.ex.name.clone());
        key(a).cmp(&key(b))
    });

    let mut out = String::new();
    let mut current_seed = String::new();
    for p in &paired {
        let first = &p.refs[0];
        if first.file != current_seed {
            current_seed = first.file.clone();
            let _ = writeln!(out, "### Seed {} {{#seed-{}}}\n", first.seed_no(), first.seed_no());
            let _ = writeln!(out, "From `{}`.\n", first.file);
        }
        render_pair(&mut out, p, &errata);
    }
    let _ = writeln!(out, "## Examples that are multiproc's own {{#multiproc-only}}\n");
    if only_rust.is_empty() {
        let _ = writeln!(out, "Every example twins a seed.\n");
    } else {
        let _ = writeln!(
            out,
            "These examples have no `//! Seed:` line: they show multiproc itself rather than port a \
             tutorial. Run one with `cargo run --example NAME`.\n"
        );
        for (ex, prose) in &only_rust {
            let summary = first_sentence(&prose.join(" "));
            let _ = writeln!(
                out,
                "- `{}` (`crates/{}/examples/{}.rs`): {}",
                ex.name,
                ex.package,
                ex.name,
                inline_md(&summary)
            );
        }
        out.push('\n');
    }

    let text = text.replace(PORTING_MARKER, &out);
    std::fs::write(page, text).map_err(|e| format!("{}: {e}", page.display()))?;
    Ok(Porting { paired: paired.len(), only_rust: only_rust.len() })
}

/// A seed, read on first use.
fn load<'a>(
    seeds: &'a mut HashMap<String, Seed>,
    dir: &Path,
    file: &str,
) -> Result<&'a Seed, String> {
    if !seeds.contains_key(file) {
        seeds.insert(file.to_string(), Seed::load(dir, file)?);
    }
    Ok(&seeds[file])
}

fn render_pair(out: &mut String, p: &Paired<'_>, errata: &[Erratum]) {
    let ex = p.ex;
    let _ = writeln!(out, "#### `{}` {{#example-{}}}\n", ex.name, ex.name);
    let _ = writeln!(out, "{}\n", inline_md(&p.prose.join("\n")));
    let wrong: Vec<&Erratum> = errata
        .iter()
        .filter(|e| e.refs.iter().any(|r| p.refs.iter().any(|q| q.overlaps(r))))
        .collect();
    if !wrong.is_empty() {
        let links: Vec<String> =
            wrong.iter().map(|e| format!("[{}](#{})", e.title, e.id)).collect();
        let _ = writeln!(
            out,
            "<div class=\"porting-note\">\n\n**The tutorial gets something wrong here:** {}.\n\n</div>\n",
            links.join("; ")
        );
    }
    out.push_str("<div class=\"porting-pair\">\n<div class=\"porting-python\">\n\n");
    for (r, snippet) in p.refs.iter().zip(&p.snippets) {
        let lines = if r.first == r.last {
            format!("line {}", r.first)
        } else {
            format!("lines {}–{}", r.first, r.last)
        };
        let _ =
            writeln!(out, "<p class=\"porting-label\">Python: seed {}, {lines}</p>\n", r.seed_no());
        fenced(out, "python", snippet);
    }
    out.push_str("</div>\n<div class=\"porting-rust\">\n\n");
    let _ = writeln!(
        out,
        "<p class=\"porting-label\">Rust: <code>crates/{}/examples/{}.rs</code></p>\n",
        ex.package, ex.name
    );
    fenced(out, "rust,ignore", &p.code);
    out.push_str("</div>\n</div>\n\n");

    let run = &p.outcome.run;
    let mut cmd = format!("cargo run --example {}", ex.name);
    if !p.outcome.args.is_empty() {
        let _ = write!(cmd, " -- {}", p.outcome.args.join(" "));
    }
    let status = match run.code {
        Some(0) => String::new(),
        Some(c) => format!(", exit code {c}"),
        None => ", ended by a signal".to_string(),
    };
    let _ = writeln!(
        out,
        "<p class=\"porting-label\">Output of <code>{cmd}</code>, captured when this page was \
         built ({:.2} s{status})</p>\n",
        run.elapsed.as_secs_f64()
    );
    let stdout = run.stdout.trim_end();
    fenced(out, "text", if stdout.is_empty() { "(nothing on stdout)" } else { stdout });
    let stderr = run.stderr.trim_end();
    if !stderr.is_empty() {
        out.push_str("<p class=\"porting-label\">and on stderr:</p>\n\n");
        fenced(out, "text", stderr);
    }
}

/// A fenced code block whose fence is longer than any run of backticks inside it.
fn fenced(out: &mut String, lang: &str, body: &str) {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(out, "{fence}{lang}\n{body}\n{fence}\n");
}

/// The source after its `//!` header (which the page shows as prose).
fn body_of(source: &str) -> String {
    let lines: Vec<&str> = source.lines().skip_while(|l| l.starts_with("//!")).collect();
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    lines[start..].join("\n").trim_end().to_string()
}

/// Rustdoc's intra-doc links (`[text](path::Item)`) mean nothing in the book: keep their text.
fn inline_md(s: &str) -> String {
    let re = regex::Regex::new(r"\[([^\]]+)\]\(([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z0-9_]+)+)\)")
        .expect("regex");
    re.replace_all(s, "$1").into_owned()
}

fn first_sentence(s: &str) -> String {
    match s.find(". ") {
        Some(i) => s[..=i].to_string(),
        None => s.trim().to_string(),
    }
}

/// Reads the errata: each is a heading with an explicit `{#id}` followed by an
/// `<!-- erratum: FILE#La-Lb, … -->` line.
fn parse_errata(text: &str) -> Result<Vec<Erratum>, String> {
    let mut out = Vec::new();
    let mut heading: Option<(String, String)> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            let t = line.trim_start_matches('#').trim();
            heading = t.rsplit_once("{#").and_then(|(title, id)| {
                id.strip_suffix('}').map(|id| (title.trim().to_string(), id.to_string()))
            });
        } else if let Some(rest) = line.trim().strip_prefix(ERRATUM_MARKER) {
            let refs = rest.trim().strip_suffix("-->").ok_or("an erratum marker without -->")?;
            let (title, id) = heading
                .clone()
                .ok_or_else(|| format!("{line}: not under a heading with an explicit {{#id}}"))?;
            let refs = docs_seeds::parse_refs(refs).map_err(|e| format!("{line}: {e}"))?;
            out.push(Erratum { title: plain_title(&title), id, refs });
        }
    }
    Ok(out)
}

/// A heading's text without emphasis marks, for use inside a link (code spans stay).
fn plain_title(s: &str) -> String {
    s.replace('*', "")
}

/// Fills in the staged `performance.md` (and writes the chart beside it). Returns a summary.
pub(crate) fn performance(page: &Path, results: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
    if !text.contains(BENCH_MARKER) {
        return Err(format!("{} has no {BENCH_MARKER} line", page.display()));
    }
    let (generated, summary) = match std::fs::read_to_string(results) {
        Err(_) => (
            "*No benchmark results were found when this site was built.* To put them here, run \
             `cargo xtask bench` (it writes `target/bench/results.json`; about twenty minutes \
             on two cores, or `cargo xtask bench --quick` for a shorter run) and then \
             `cargo xtask docs`.\n"
                .to_string(),
            "no results.json: the page says how to make one".to_string(),
        ),
        Ok(json) => {
            let doc: Value =
                serde_json::from_str(&json).map_err(|e| format!("{}: {e}", results.display()))?;
            let (svg, charted, left_out) = chart(&doc);
            let dir = page.parent().expect("a page is in a directory");
            std::fs::write(dir.join("performance.svg"), svg).map_err(|e| e.to_string())?;
            let mut md = String::new();
            let when = std::fs::metadata(results)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| utc_date(d.as_secs()))
                .unwrap_or_else(|| "an unknown date".into());
            let m = &doc["machine"];
            let s = |v: &Value| v.as_str().unwrap_or("?").to_string();
            let _ = writeln!(
                md,
                "These figures come from the `results.json` that `cargo xtask bench` wrote on \
                 {when}, on this machine: {} ({} CPUs), Linux {}, {}.\n",
                s(&m["cpu"]),
                m["cpus"].as_u64().unwrap_or(0),
                s(&m["kernel"]),
                s(&m["python"])
            );
            let _ = writeln!(
                md,
                "![multiproc against Python's multiprocessing, workload by workload: how many \
                 times faster multiproc is, on a logarithmic scale](performance.svg)\n"
            );
            if !left_out.is_empty() {
                let _ = writeln!(
                    md,
                    "Not in the chart, for want of a figure on one side: {}.\n",
                    left_out.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
                );
            }
            let _ = writeln!(md, "### The table\n");
            md.push_str(doc["table"].as_str().unwrap_or("(the results hold no table)\n"));
            md.push('\n');
            (md, format!("{charted} workloads charted from {}", results.display()))
        }
    };
    let text = text.replace(BENCH_MARKER, &generated);
    std::fs::write(page, text).map_err(|e| format!("{}: {e}", page.display()))?;
    Ok(summary)
}

/// One row of the chart.
struct Row {
    id: String,
    ratio: f64,
    ours: f64,
    python: f64,
    unit: String,
}

/// The SVG chart: per workload, how many times faster multiproc is than Python (log scale),
/// with both medians written beside the bar. Returns the SVG, the rows charted, and the workloads
/// left out for want of a figure on one side.
fn chart(doc: &Value) -> (String, usize, Vec<String>) {
    let empty = Vec::new();
    let figures = doc["figures"].as_array().unwrap_or(&empty);
    let mut ids: Vec<String> = Vec::new();
    let mut medians: HashMap<(String, String), (f64, String, bool)> = HashMap::new();
    for f in figures {
        let (Some(id), Some(imp), Some(median)) =
            (f["id"].as_str(), f["impl"].as_str(), f["median"].as_f64())
        else {
            continue;
        };
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
        let lower = f["better"].as_str() == Some("lower");
        let unit = f["unit"].as_str().unwrap_or("").to_string();
        medians.insert((id.to_string(), imp.to_string()), (median, unit, lower));
    }
    let mut rows = Vec::new();
    let mut left_out = Vec::new();
    for id in ids {
        let ours = medians.get(&(id.clone(), "multiproc".into()));
        let python = medians.get(&(id.clone(), "python".into()));
        match (ours, python) {
            (Some((a, unit, lower)), Some((b, _, _))) if *a > 0.0 && *b > 0.0 => {
                let ratio = if *lower { b / a } else { a / b };
                rows.push(Row { id, ratio, ours: *a, python: *b, unit: unit.clone() });
            }
            _ => left_out.push(id),
        }
    }

    let (label_w, bars_w, text_w, row_h, top) = (200.0, 420.0, 240.0, 24.0, 56.0);
    let width = label_w + bars_w + text_w;
    let height = top + row_h * rows.len() as f64 + 40.0;
    let lo = rows.iter().map(|r| r.ratio.log10().floor()).fold(-1.0f64, f64::min);
    let hi = rows.iter().map(|r| r.ratio.log10().ceil()).fold(1.0f64, f64::max);
    let x = |ratio: f64| label_w + (ratio.log10() - lo) / (hi - lo) * bars_w;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        svg,
        r##"<text x="{label_w}" y="20" font-size="14" font-weight="bold" fill="#222">multiproc against Python's multiprocessing (median of each)</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="{label_w}" y="38" fill="#555">times faster than Python, log scale; a bar left of 1× means slower</text>"##
    );
    let mut decade = lo;
    while decade <= hi {
        let gx = x(10f64.powf(decade));
        let strong = decade == 0.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{}" stroke="{}" stroke-width="{}"/>"##,
            top - 6.0,
            top + row_h * rows.len() as f64,
            if strong { "#333" } else { "#ccc" },
            if strong { 1.5 } else { 1.0 }
        );
        let _ = writeln!(
            svg,
            r##"<text x="{gx:.1}" y="{}" text-anchor="middle" fill="#555">{}×</text>"##,
            top + row_h * rows.len() as f64 + 16.0,
            fmt_ratio(10f64.powf(decade))
        );
        decade += 1.0;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let (x0, x1) = (x(1.0), x(r.ratio));
        let (left, w) = if x1 >= x0 { (x0, x1 - x0) } else { (x1, x0 - x1) };
        let colour = if r.ratio >= 1.0 { "#2f7d4f" } else { "#c2571a" };
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#222">{}</text>"##,
            label_w - 8.0,
            y + row_h * 0.65,
            xml(&r.id)
        );
        let _ = writeln!(
            svg,
            r##"<rect x="{left:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"##,
            y + 4.0,
            w.max(1.0),
            row_h - 8.0
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" fill="#222">{}× ({} vs {} {})</text>"##,
            label_w + bars_w + 8.0,
            y + row_h * 0.65,
            fmt_ratio(r.ratio),
            crate::bench::fmt(r.ours),
            crate::bench::fmt(r.python),
            xml(&r.unit)
        );
    }
    svg.push_str("</svg>\n");
    (svg, rows.len(), left_out)
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}")
    } else if r >= 1.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn utc_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    // Civil date from days since 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_798_675_200), "2026-12-31");
    }

    #[test]
    fn intra_doc_links_keep_their_text() {
        assert_eq!(
            inline_md("a [`try_clone`](multiproc::Connection::try_clone) and [x](https://a.b)"),
            "a `try_clone` and [x](https://a.b)"
        );
    }

    #[test]
    fn errata_need_an_explicit_anchor() {
        let ok = parse_errata(
            "### `get_nowait` is *not* async {#map}\n<!-- erratum: 003_x.txt#L5-L6 -->\n",
        )
        .unwrap();
        assert_eq!((ok[0].title.as_str(), ok[0].id.as_str()), ("`get_nowait` is not async", "map"));
        assert!(parse_errata("### No anchor\n<!-- erratum: 003_x.txt#L5 -->\n").is_err());
    }

    #[test]
    fn the_chart_puts_lower_is_better_the_right_way_round() {
        let doc = serde_json::json!({"figures": [
            {"id": "rtt", "impl": "multiproc", "median": 2.0, "unit": "µs", "better": "lower"},
            {"id": "rtt", "impl": "python", "median": 20.0, "unit": "µs", "better": "lower"},
            {"id": "pool", "impl": "python", "median": 5.0, "unit": "x"},
        ]});
        let (svg, n, left_out) = chart(&doc);
        assert_eq!(n, 1);
        assert_eq!(left_out, ["pool"]);
        assert!(svg.contains("10× (2.00 vs 20.0 µs)"), "{svg}");
    }
}
