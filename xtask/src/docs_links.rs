//! The link check of the built site: every relative `href`/`src` in the book's HTML pages must
//! name a file that exists, and every `#fragment` an `id` (or `name`) in the page it points to.
//! External links (with a scheme, or protocol-relative) are not fetched.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use regex::Regex;

/// A link that leads nowhere.
pub(crate) struct Broken {
    pub(crate) page: PathBuf,
    pub(crate) link: String,
    pub(crate) why: String,
}

/// Checks the HTML pages under `site`, except those under the directories in `skip` (relative to
/// `site`; their pages are still link *targets*). Returns the number of links checked.
pub(crate) fn check(site: &Path, skip: &[&str]) -> Result<(usize, Vec<Broken>), String> {
    let attr = Regex::new(r#"(?i)\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("regex");
    let tag = tag_regex();
    let mut pages = Vec::new();
    collect_html(site, site, skip, &mut pages)?;
    pages.sort();
    let mut ids: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let html = std::fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
        // Attributes of real tags only: markup shown as text (in code) is escaped, `&lt;a href=…`.
        for caps in tag.find_iter(&html).flat_map(|t| attr.captures_iter(t.as_str())) {
            let raw = caps.get(1).or(caps.get(2)).map_or("", |m| m.as_str());
            let link = decode_entities(raw);
            if link.is_empty() || is_external(&link) {
                continue;
            }
            checked += 1;
            let (path_part, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let path_part = path_part.split('?').next().unwrap_or("");
            let target = if path_part.is_empty() {
                page.clone()
            } else {
                let base = if path_part.starts_with('/') {
                    site.to_path_buf()
                } else {
                    page.parent().expect("a page is in a directory").to_path_buf()
                };
                let mut t =
                    normalize(&base.join(percent_decode(path_part.trim_start_matches('/'))));
                if t.is_dir() {
                    t = t.join("index.html");
                }
                t
            };
            let fail = |why: String| Broken { page: page.clone(), link: link.clone(), why };
            if !target.starts_with(site) {
                broken.push(fail("points outside the site".into()));
                continue;
            }
            if !target.is_file() {
                broken.push(fail(format!("{} does not exist", rel(site, &target))));
                continue;
            }
            let Some(fragment) = fragment.filter(|f| !f.is_empty()) else { continue };
            if target.extension().is_none_or(|e| e != "html") {
                continue;
            }
            let fragment = percent_decode(fragment);
            let known = match ids.get(&target) {
                Some(set) => set,
                None => {
                    let text = std::fs::read_to_string(&target).unwrap_or_default();
                    ids.entry(target.clone()).or_insert_with(|| anchors(&text))
                }
            };
            if !known.contains(&fragment) {
                broken.push(fail(format!("no anchor #{fragment} in {}", rel(site, &target))));
            }
        }
    }
    Ok((checked, broken))
}

fn collect_html(
    site: &Path,
    dir: &Path,
    skip: &[&str],
    out: &mut Vec<PathBuf>,
) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            if !skip.iter().any(|s| path == site.join(s)) {
                collect_html(site, &path, skip, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
    Ok(())
}

fn is_external(link: &str) -> bool {
    if link.starts_with("//") {
        return true;
    }
    // A scheme: letters, digits, `+`, `-`, `.` before the first `:`, and no `/` before it.
    match link.find(':') {
        Some(i) => {
            let scheme = &link[..i];
            !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// An opening tag with its attributes.
fn tag_regex() -> Regex {
    Regex::new(r"<[A-Za-z][^<>]*>").expect("regex")
}

/// Every `id="…"` and `name="…"` of a tag in a page.
fn anchors(html: &str) -> HashSet<String> {
    let re = Regex::new(r#"(?i)\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("regex");
    tag_regex()
        .find_iter(html)
        .flat_map(|t| re.captures_iter(t.as_str()))
        .filter_map(|c| c.get(1).or(c.get(2)))
        .map(|m| decode_entities(m.as_str()))
        .collect()
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn rel(site: &Path, p: &Path) -> String {
    p.strip_prefix(site).unwrap_or(p).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_files_and_anchors_are_found_and_external_links_skipped() {
        let site = std::env::temp_dir().join(format!("xtask-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&site);
        std::fs::create_dir_all(site.join("api/x")).unwrap();
        std::fs::write(
            site.join("index.html"),
            r##"<a href="a.html#here">ok</a> <a href="a.html#gone">no anchor</a>
               <a href="missing.html">missing</a> <img src="api/x/">
               <a href="https://example.org/x">external</a> <a href="#top">self</a>
               <p id="top"></p> <a href="api/x/index.html#item">api</a>
               <pre><code>&lt;a href="shown/as/text.html"&gt; id="not-an-anchor"</code></pre>"##,
        )
        .unwrap();
        std::fs::write(site.join("a.html"), r#"<h2 id="here">x</h2>"#).unwrap();
        std::fs::write(site.join("api/x/index.html"), r#"<a href="nowhere.html">"#).unwrap();
        let (checked, broken) = check(&site, &["api"]).unwrap();
        let links: Vec<&str> = broken.iter().map(|b| b.link.as_str()).collect();
        assert_eq!(links, ["a.html#gone", "missing.html", "api/x/index.html#item"]);
        assert_eq!(checked, 6);
        std::fs::remove_dir_all(&site).unwrap();
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("a%20b%E4%B8%AD"), "a b中");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
