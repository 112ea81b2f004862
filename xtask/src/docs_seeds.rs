//! The seed tutorials and the markers that tie an example to the Python it ports.
//!
//! An example names the Python it twins with one line in its `//!` header:
//!
//! ```text
//! //! Seed: 003_c397d4ee5c18e9b7.txt#L1832-L1843
//! //! Seed: 001_e95deaa7eb15f169.txt#L139-L151, 003_c397d4ee5c18e9b7.txt#L1032-L1090
//! ```
//!
//! Each reference is a seed file (in the seeds directory) and a 1-based, inclusive line range that
//! must hold Python code, judged by the seed's own markup:
//!
//! - a seed with ```` ``` ```` fences: every line of the range is inside a fenced block (plain or
//!   `python`), a fence, or blank, and the first and last lines are inside a block;
//! - a reStructuredText seed (`.. code:: python`): every non-blank line is inside a code block;
//! - a seed without markup (notebook dumps, indented snippets in prose): the range, dedented, is
//!   valid Python (`python3` parses it) and starts and ends on a code line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The directory holding the seed tutorials: `MULTIPROC_SEEDS`, or `../shared/seeds` beside the
/// workspace.
pub(crate) fn seeds_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("MULTIPROC_SEEDS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => crate::root().join("../shared/seeds"),
    };
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "the seed tutorials are not at {} (set MULTIPROC_SEEDS to their directory)",
            dir.display()
        ))
    }
}

/// One reference from a marker: a seed file and a line range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SeedRef {
    pub(crate) file: String,
    pub(crate) first: usize,
    pub(crate) last: usize,
}

impl SeedRef {
    /// The seed's number: the part of the file name before the first `_`.
    pub(crate) fn seed_no(&self) -> &str {
        self.file.split('_').next().unwrap_or(&self.file)
    }

    /// Whether two references share a line of the same file.
    pub(crate) fn overlaps(&self, other: &SeedRef) -> bool {
        self.file == other.file && self.first <= other.last && other.first <= self.last
    }
}

impl std::fmt::Display for SeedRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#L{}-L{}", self.file, self.first, self.last)
    }
}

/// The prefix of a marker line.
pub(crate) const MARKER: &str = "//! Seed:";

/// Parses `FILE#La-Lb[, FILE#La-Lb…]` (also `FILE#La` for one line).
pub(crate) fn parse_refs(text: &str) -> Result<Vec<SeedRef>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad seed reference {part:?} (expected FILE#L12-L34)");
        let (file, range) = part.split_once('#').ok_or_else(bad)?;
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (a, b),
            None => (range, range),
        };
        let line = |s: &str| s.strip_prefix('L').and_then(|n| n.parse::<usize>().ok());
        let (first, last) = (line(a).ok_or_else(bad)?, line(b).ok_or_else(bad)?);
        if file.contains('/') || file.is_empty() || first == 0 || last < first {
            return Err(bad());
        }
        out.push(SeedRef { file: file.to_string(), first, last });
    }
    if out.is_empty() {
        return Err("a seed marker with no reference".into());
    }
    Ok(out)
}

/// The marker of an example's header, if it has one: the references, and the header's other
/// `//!` lines (its prose), without the `//! ` prefix.
pub(crate) struct Header {
    pub(crate) refs: Vec<SeedRef>,
    pub(crate) prose: Vec<String>,
}

/// Reads the leading `//!` block of an example.
pub(crate) fn read_header(source: &str) -> Result<Header, String> {
    let mut refs = Vec::new();
    let mut prose = Vec::new();
    for line in source.lines() {
        let Some(rest) = line.strip_prefix("//!") else { break };
        if let Some(r) = line.strip_prefix(MARKER) {
            if !refs.is_empty() {
                return Err("more than one `//! Seed:` line".into());
            }
            refs = parse_refs(r)?;
        } else {
            prose.push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        }
    }
    Ok(Header { refs, prose })
}

/// How a seed marks its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Markup {
    Fenced,
    Rst,
    Plain,
}

/// Where each line of a seed stands: inside a code block, on a fence or directive, or in prose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Code,
    Fence,
    Prose,
}

/// A seed tutorial, read once.
pub(crate) struct Seed {
    path: PathBuf,
    lines: Vec<String>,
    markup: Markup,
    roles: Vec<Role>,
}

impl Seed {
    pub(crate) fn load(dir: &Path, file: &str) -> Result<Seed, String> {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("seed {}: {e}", path.display()))?;
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let markup = if lines.iter().any(|l| l.trim_start().starts_with("```")) {
            Markup::Fenced
        } else if lines.iter().any(|l| is_rst_code_directive(l)) {
            Markup::Rst
        } else {
            Markup::Plain
        };
        let roles = match markup {
            Markup::Fenced => fenced_roles(&lines),
            Markup::Rst => rst_roles(&lines),
            Markup::Plain => vec![Role::Code; lines.len()],
        };
        Ok(Seed { path, lines, markup, roles })
    }

    /// How many lines the seed has.
    pub(crate) fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Checks that `r` points at Python in this seed, and returns that Python, dedented.
    pub(crate) fn snippet(&self, r: &SeedRef) -> Result<String, String> {
        let here = || format!("{} lines {}-{}", self.path.display(), r.first, r.last);
        if r.last > self.lines.len() {
            return Err(format!("{}: the seed has only {} lines", here(), self.lines.len()));
        }
        let range = r.first - 1..r.last;
        let roles = &self.roles[range.clone()];
        let lines = &self.lines[range];
        let blank = |i: usize| lines[i].trim().is_empty();
        match self.markup {
            Markup::Fenced | Markup::Rst => {
                if let Some(i) = (0..lines.len()).find(|&i| roles[i] == Role::Prose && !blank(i)) {
                    return Err(format!(
                        "{}: line {} is not inside a Python code block: {:?}",
                        here(),
                        r.first + i,
                        lines[i]
                    ));
                }
                if roles[0] != Role::Code || roles[lines.len() - 1] != Role::Code {
                    return Err(format!(
                        "{}: the range must start and end inside a Python code block",
                        here()
                    ));
                }
            }
            Markup::Plain => {
                if blank(0) || blank(lines.len() - 1) {
                    return Err(format!("{}: the range starts or ends on a blank line", here()));
                }
            }
        }
        // Keep the code lines: the fences go, and so do blank lines between two blocks.
        let code: Vec<&str> = lines
            .iter()
            .zip(roles)
            .filter(|(_, role)| **role == Role::Code)
            .map(|(l, _)| l.as_str())
            .collect();
        let text = dedent(&code);
        if self.markup == Markup::Plain {
            check_python(&text)
                .map_err(|why| format!("{}: not Python (python3 says: {why}):\n{text}", here()))?;
        }
        Ok(text)
    }
}

fn is_rst_code_directive(line: &str) -> bool {
    let t = line.trim();
    t == ".. code:: python" || t == ".. code-block:: python"
}

fn fenced_roles(lines: &[String]) -> Vec<Role> {
    let mut roles = Vec::with_capacity(lines.len());
    // `Some(python)` inside a block: whether its info string allows Python.
    let mut inside: Option<bool> = None;
    for l in lines {
        let t = l.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            inside = match inside {
                Some(_) => None,
                None => {
                    let info = info.trim().to_ascii_lowercase();
                    Some(matches!(info.as_str(), "" | "python" | "py" | "python3"))
                }
            };
            roles.push(Role::Fence);
        } else {
            roles.push(if inside == Some(true) { Role::Code } else { Role::Prose });
        }
    }
    roles
}

fn rst_roles(lines: &[String]) -> Vec<Role> {
    let mut roles = vec![Role::Prose; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if !is_rst_code_directive(&lines[i]) {
            i += 1;
            continue;
        }
        roles[i] = Role::Fence;
        let indent = indent_of(&lines[i]);
        i += 1;
        // The body: blank lines and lines indented deeper than the directive.
        while i < lines.len() && (lines[i].trim().is_empty() || indent_of(&lines[i]) > indent) {
            roles[i] = Role::Code;
            i += 1;
        }
        // Trailing blank lines belong to the prose that follows.
        let mut j = i;
        while j > 0 && roles[j - 1] == Role::Code && lines[j - 1].trim().is_empty() {
            roles[j - 1] = Role::Prose;
            j -= 1;
        }
    }
    roles
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Removes the indentation every non-blank line shares, and blank lines at either end.
fn dedent(lines: &[&str]) -> String {
    let common = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| indent_of(l)).min();
    let common = common.unwrap_or(0);
    let mut out: Vec<&str> =
        lines.iter().map(|l| if l.trim().is_empty() { "" } else { &l[common..] }).collect();
    while out.first() == Some(&"") {
        out.remove(0);
    }
    while out.last() == Some(&"") {
        out.pop();
    }
    out.join("\n")
}

/// Asks `python3` whether `code` parses.
fn check_python(code: &str) -> Result<(), String> {
    let mut child = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run python3 to check a seed snippet: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(code.as_bytes()).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().last().unwrap_or("syntax error").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(text: &str) -> Seed {
        let dir = std::env::temp_dir().join(format!("xtask-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{:x}.txt", text.len() * 31 + text.lines().count());
        std::fs::write(dir.join(&name), text).unwrap();
        Seed::load(&dir, &name).unwrap()
    }

    fn r(first: usize, last: usize) -> SeedRef {
        SeedRef { file: "x.txt".into(), first, last }
    }

    #[test]
    fn markers_parse_one_or_many_references() {
        assert_eq!(
            parse_refs(" a_1.txt#L3-L9").unwrap(),
            vec![SeedRef { file: "a_1.txt".into(), first: 3, last: 9 }]
        );
        assert_eq!(parse_refs("a.txt#L3, b.txt#L1-L2").unwrap().len(), 2);
        for bad in ["a.txt", "a.txt#3-4", "a.txt#L4-L3", "a.txt#L0-L1", "../a.txt#L1", ""] {
            assert!(parse_refs(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn fenced_ranges_must_stay_inside_blocks() {
        let s = seed("prose\n```\nimport os\n```\n\n```\nprint(1)\n```\nmore prose\n");
        assert_eq!(s.snippet(&r(3, 7)).unwrap(), "import os\nprint(1)");
        assert!(s.snippet(&r(1, 3)).is_err(), "starts in prose");
        assert!(s.snippet(&r(3, 9)).is_err(), "ends in prose");
        assert!(s.snippet(&r(3, 20)).is_err(), "past the end");
        let s = seed("```bash\nls\n```\n");
        assert!(s.snippet(&r(2, 2)).is_err(), "not a Python block");
    }

    #[test]
    fn rst_blocks_are_the_directive_bodies() {
        let s = seed("Title\n\n.. code:: python\n\n    def f():\n        return 1\n\nprose\n");
        assert_eq!(s.snippet(&r(5, 6)).unwrap(), "def f():\n    return 1");
        assert!(s.snippet(&r(5, 8)).is_err());
    }

    #[test]
    fn plain_ranges_must_parse_as_python() {
        let s = seed("这是说明:\n    x = 1\n    print(x)\n");
        assert_eq!(s.snippet(&r(2, 3)).unwrap(), "x = 1\nprint(x)");
        assert!(s.snippet(&r(1, 3)).is_err());
    }
}
