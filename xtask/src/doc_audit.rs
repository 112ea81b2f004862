//! `cargo xtask doc-audit`: every public item of the library crates is documented, and every item a
//! user calls or names has a code example in its docs.
//!
//! rustdoc's own check for this (`missing_doc_code_examples`) needs a nightly compiler; this one
//! reads the sources with `syn` instead, so it runs on the pinned stable toolchain.
//!
//! # What is read
//! The library crates are the members under `crates/` with a `src/lib.rs`, except those with
//! `publish = false` (the benchmark workloads are not an API). From each `lib.rs` the audit follows
//! the `mod` declarations into their files (`foo.rs`, `foo/mod.rs`, or a `#[path]`), including
//! modules behind a `cfg` (every feature is audited, as with `--all-features`); a `cfg`-gated
//! module whose file does not exist is for another platform and is skipped. `#[cfg(test)]` modules
//! and items, and anything `#[doc(hidden)]`, are not part of the API and are skipped.
//!
//! # What is public
//! What a user of the crate can name: the `pub` items of the crate root and of `pub mod`s reachable
//! from it, plus whatever a `pub use` in such a module re-exports out of a private module (by name,
//! by a chain of re-exports, or by a glob). A `pub use` of another crate is that crate's business.
//! A `pub` method is public when its inherent `impl` is for a public type; `#[macro_export]`
//! macros are public wherever they are defined. `pub` items in private modules that nothing
//! re-exports are not reported.
//!
//! # What needs what
//! A code example is a fenced block that rustdoc compiles as a doctest (```` ``` ````, or
//! ```` ```rust ````, `no_run` or `should_panic`); an `ignore`d or `compile_fail` block, a block in
//! another language (```` ```text ````), or an intra-doc link to an item that has an example does not
//! count. These need an example:
//! - the crate-level `//!` docs;
//! - structs, unions, enums, traits, type aliases, functions, `#[macro_export]` macros;
//! - `pub` methods and associated functions of inherent impls, and the methods of traits.
//!
//! These need docs but not an example: `pub mod`s, enum variants (of error enums too), named fields
//! of structs and variants, consts and statics (associated ones too), and traits' associated types.
//! The methods of trait impls need neither: the trait documents them.
//!
//! Each miss is printed as `file:line kind name: no docs` or `…: no example`, and the command fails
//! if there is any.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::{Attribute, Expr, ImplItem, Item, Lit, Meta, TraitItem, UseTree, Visibility};

/// `cargo xtask doc-audit [CRATE…]`: audits the named crates (package names), or all of them.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        return Err(format!("`doc-audit` takes crate names only (got {flag:?})"));
    }
    let crates = library_crates()?;
    for a in args {
        if !crates.iter().any(|c| &c.name == a) {
            let names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
            return Err(format!("no library crate {a:?} (there are {names:?})"));
        }
    }
    let mut total = 0;
    let mut summary = Vec::new();
    for krate in crates.iter().filter(|c| args.is_empty() || args.contains(&c.name)) {
        let misses = audit_crate(krate)?;
        for m in &misses {
            println!("{m}");
        }
        let no_docs = misses.iter().filter(|m| m.lacks == Lacks::Docs).count();
        let no_example = misses.len() - no_docs;
        summary.push(format!(
            "    {:<12} {no_example:>4} without an example, {no_docs:>3} without docs",
            krate.name
        ));
        total += misses.len();
    }
    eprintln!("doc-audit:");
    for line in &summary {
        eprintln!("{line}");
    }
    if total == 0 {
        Ok(())
    } else {
        Err(format!("doc-audit: {total} public items lack docs or an example"))
    }
}

/// A published library crate of the workspace.
struct Crate {
    /// The package name, e.g. `proc-sync`.
    name: String,
    lib: PathBuf,
}

fn library_crates() -> Result<Vec<Crate>, String> {
    let dir = crate::root().join("crates");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut crates = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let (manifest, lib) = (path.join("Cargo.toml"), path.join("src/lib.rs"));
        if !manifest.is_file() || !lib.is_file() {
            continue;
        }
        let text = read(&manifest)?;
        let unpublished = text.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l == "publish=false"
        });
        if unpublished {
            continue;
        }
        let name = text
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
            })
            .ok_or_else(|| format!("{}: no package name", manifest.display()))?;
        crates.push(Crate { name, lib });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// What an item's docs are missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lacks {
    Docs,
    Example,
}

/// One public item without the docs it needs.
#[derive(Debug)]
struct Miss {
    file: PathBuf,
    line: usize,
    kind: &'static str,
    name: String,
    lacks: Lacks,
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file.strip_prefix(crate::root()).unwrap_or(&self.file);
        let lacks = match self.lacks {
            Lacks::Docs => "no docs",
            Lacks::Example => "no example",
        };
        write!(f, "{}:{} {} {}: {lacks}", file.display(), self.line, self.kind, self.name)
    }
}

/// A module of the crate being audited, with the items written in it.
struct Module {
    name: String,
    parent: Option<usize>,
    /// The file its items are in.
    file: PathBuf,
    /// Where it is declared (for the root: line 1 of `lib.rs`).
    line: usize,
    declared_pub: bool,
    hidden: bool,
    /// The `mod` item's outer attributes and the module's inner ones.
    attrs: Vec<Attribute>,
    items: Vec<Item>,
    children: BTreeMap<String, usize>,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(path: &Path) -> Result<syn::File, String> {
    syn::parse_file(&read(path)?).map_err(|e| {
        let at = e.span().start();
        format!("{}:{}:{}: {e}", path.display(), at.line, at.column + 1)
    })
}

/// Every module of the crate whose root is `lib`; index 0 is the root.
fn load_modules(lib: &Path) -> Result<Vec<Module>, String> {
    let file = parse(lib)?;
    let dir = lib.parent().expect("lib.rs is in src/").to_path_buf();
    let mut mods = vec![Module {
        name: String::new(),
        parent: None,
        file: lib.to_path_buf(),
        line: 1,
        declared_pub: true,
        hidden: false,
        attrs: file.attrs,
        items: file.items,
        children: BTreeMap::new(),
    }];
    walk(&mut mods, 0, &dir, &dir)?;
    Ok(mods)
}

/// Loads the child modules of `mods[id]`. `child_dir` is where its `mod foo;` files are;
/// `path_dir` what a `#[path]` on them is relative to.
fn walk(
    mods: &mut Vec<Module>,
    id: usize,
    child_dir: &Path,
    path_dir: &Path,
) -> Result<(), String> {
    let decls: Vec<syn::ItemMod> = mods[id]
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Mod(m) if !is_cfg_test(&m.attrs) => Some(m.clone()),
            _ => None,
        })
        .collect();
    for m in decls {
        let name = m.ident.to_string();
        let path_attr = path_attr(&m.attrs);
        let (file, items, inner, next_child_dir, next_path_dir) = match m.content {
            Some((_, items)) => {
                let d = match &path_attr {
                    Some(p) => path_dir.join(p),
                    None => child_dir.join(&name),
                };
                (mods[id].file.clone(), items, Vec::new(), d.clone(), d)
            }
            None => {
                let (file, owns_dir) = match &path_attr {
                    Some(p) => (path_dir.join(p), true),
                    None => {
                        let flat = child_dir.join(format!("{name}.rs"));
                        if flat.is_file() {
                            (flat, false)
                        } else {
                            (child_dir.join(&name).join("mod.rs"), true)
                        }
                    }
                };
                if !file.is_file() {
                    if has_cfg(&m.attrs) {
                        continue; // another platform's module
                    }
                    return Err(format!(
                        "{}: module `{name}` has no file {}",
                        mods[id].file.display(),
                        file.display()
                    ));
                }
                let parsed = parse(&file)?;
                let here = file.parent().expect("a file is in a directory").to_path_buf();
                let next_child_dir = if owns_dir { here.clone() } else { here.join(&name) };
                (file, parsed.items, parsed.attrs, next_child_dir, here)
            }
        };
        let mut attrs = m.attrs.clone();
        attrs.extend(inner);
        let child = mods.len();
        mods.push(Module {
            name: name.clone(),
            parent: Some(id),
            file,
            line: m.ident.span().start().line,
            declared_pub: matches!(m.vis, Visibility::Public(_)),
            hidden: is_hidden(&m.attrs),
            attrs,
            items,
            children: BTreeMap::new(),
        });
        mods[id].children.insert(name, child);
        walk(mods, child, &next_child_dir, &next_path_dir)?;
    }
    Ok(())
}

/// Where a `use` leaf points.
enum Target {
    Module(usize),
    Item(usize, String),
    /// Every public item of the module (`pub use m::*`).
    Glob(usize),
    /// Another crate, or something this audit does not follow (an enum's variants).
    Elsewhere,
}

/// One leaf of a `use` tree: its path, what it names (`None` for a glob) and the name it binds.
struct UseLeaf {
    segments: Vec<String>,
    name: Option<String>,
    binds: Option<String>,
}

fn use_leaves(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.to_string();
            let binds = if name == "self" { prefix.last().cloned() } else { Some(name.clone()) };
            out.push(UseLeaf { segments: prefix.clone(), name: Some(name), binds });
        }
        UseTree::Rename(r) => out.push(UseLeaf {
            segments: prefix.clone(),
            name: Some(r.ident.to_string()),
            binds: Some(r.rename.to_string()),
        }),
        UseTree::Glob(_) => out.push(UseLeaf { segments: prefix.clone(), name: None, binds: None }),
        UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// The module a `use` path's segments lead to, from module `from`; `None` if it leaves the crate.
fn resolve_module(mods: &[Module], from: usize, segments: &[String]) -> Option<usize> {
    let mut cur = from;
    for (i, s) in segments.iter().enumerate() {
        cur = match s.as_str() {
            "crate" if i == 0 => 0,
            "self" if i == 0 => from,
            "super" => mods[cur].parent?,
            name => *mods[cur].children.get(name)?,
        };
    }
    Some(cur)
}

fn resolve(mods: &[Module], from: usize, leaf: &UseLeaf) -> Target {
    let Some(module) = resolve_module(mods, from, &leaf.segments) else {
        return Target::Elsewhere;
    };
    match leaf.name.as_deref() {
        None => Target::Glob(module),
        Some("self") => Target::Module(module),
        // `use crate::…` with nothing after it: not an item.
        Some("crate" | "super") => Target::Elsewhere,
        Some(name) => match mods[module].children.get(name) {
            Some(&child) => Target::Module(child),
            // A single-segment `use foo` not naming a local module names another crate.
            None if leaf.segments.is_empty() => Target::Elsewhere,
            None => Target::Item(module, name.to_string()),
        },
    }
}

/// The `use` leaves of module `m`: all of them, or only those of `pub use` items.
fn uses(module: &Module, only_pub: bool) -> Vec<UseLeaf> {
    let mut out = Vec::new();
    for item in &module.items {
        if let Item::Use(u) = item {
            if is_cfg_test(&u.attrs) || (only_pub && !is_pub(&u.vis)) || is_hidden(&u.attrs) {
                continue;
            }
            use_leaves(&u.tree, &mut Vec::new(), &mut out);
        }
    }
    out
}

/// What a user can reach: the modules whose `pub` items are public, and items made public by name.
struct Reach {
    modules: Vec<bool>,
    items: BTreeSet<(usize, String)>,
}

fn reach(mods: &[Module]) -> Reach {
    let mut r = Reach { modules: vec![false; mods.len()], items: BTreeSet::new() };
    r.modules[0] = true;
    loop {
        let mut changed = false;
        let mut mark = |r: &mut Reach, target: Target| match target {
            Target::Module(m) | Target::Glob(m) => {
                if !r.modules[m] {
                    r.modules[m] = true;
                    changed = true;
                }
            }
            Target::Item(m, name) => changed |= r.items.insert((m, name)),
            Target::Elsewhere => {}
        };
        for (id, module) in mods.iter().enumerate() {
            if !r.modules[id] {
                continue;
            }
            for &child in module.children.values() {
                if mods[child].declared_pub && !mods[child].hidden {
                    mark(&mut r, Target::Module(child));
                }
            }
            for leaf in uses(module, true) {
                mark(&mut r, resolve(mods, id, &leaf));
            }
        }
        // A name re-exported from a module that itself imported it: follow the chain.
        for (id, name) in r.items.clone() {
            for leaf in uses(&mods[id], false) {
                if leaf.binds.as_deref() == Some(name.as_str()) {
                    mark(&mut r, resolve(mods, id, &leaf));
                }
            }
        }
        if !changed {
            return r;
        }
    }
}

fn audit_crate(krate: &Crate) -> Result<Vec<Miss>, String> {
    let mods = load_modules(&krate.lib)?;
    let reach = reach(&mods);
    let mut misses = Vec::new();
    let mut check = |file: &Path, line: usize, kind, name: String, attrs: &[Attribute], need| {
        let docs = Docs::of(attrs);
        let lacks = if !docs.present {
            Some(Lacks::Docs)
        } else if need == Lacks::Example && !docs.example {
            Some(Lacks::Example)
        } else {
            None
        };
        if let Some(lacks) = lacks {
            misses.push(Miss { file: file.to_path_buf(), line, kind, name, lacks });
        }
    };

    let root_name = krate.name.replace('-', "_");
    check(&mods[0].file, 1, "crate", root_name, &mods[0].attrs, Lacks::Example);

    // The public types, by name, for matching `impl` blocks to them.
    let mut public_types: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let exported = |id: usize, vis: &Visibility, name: &str| {
        (reach.modules[id] && is_pub(vis)) || reach.items.contains(&(id, name.to_string()))
    };
    for (id, module) in mods.iter().enumerate() {
        for item in &module.items {
            let (vis, ident, attrs) = match item {
                Item::Struct(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Enum(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Union(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Trait(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Type(i) => (&i.vis, &i.ident, &i.attrs),
                _ => continue,
            };
            if exported(id, vis, &ident.to_string()) && !skipped(attrs) {
                public_types.entry(ident.to_string()).or_default().push(id);
            }
        }
    }

    for (id, module) in mods.iter().enumerate() {
        let file = &module.file;
        if id != 0 && reach.modules[id] && module.declared_pub && !module.hidden {
            check(
                &mods[module.parent.expect("not the root")].file,
                module.line,
                "mod",
                path_of(&mods, id),
                &module.attrs,
                Lacks::Docs,
            );
        }
        // Named by its path where its module is public, by its name where it is re-exported.
        let qualified = |name: &dyn std::fmt::Display| {
            let p = path_of(&mods, id);
            if p.is_empty() || !reach.modules[id] {
                name.to_string()
            } else {
                format!("{p}::{name}")
            }
        };
        for item in &module.items {
            match item {
                Item::Macro(m)
                    if m.mac.path.is_ident("macro_rules")
                        && has_attr(&m.attrs, "macro_export")
                        && !skipped(&m.attrs) =>
                {
                    if let Some(ident) = &m.ident {
                        check(
                            file,
                            line(ident),
                            "macro",
                            format!("{ident}!"),
                            &m.attrs,
                            Lacks::Example,
                        );
                    }
                }
                Item::Impl(i) if i.trait_.is_none() && !skipped(&i.attrs) => {
                    let Some(ty) = self_type_name(&i.self_ty) else { continue };
                    let local =
                        module.items.iter().any(|it| type_name(it).as_deref() == Some(ty.as_str()));
                    let public = match public_types.get(&ty) {
                        Some(ids) => !local || ids.contains(&id),
                        None => false,
                    };
                    if !public {
                        continue;
                    }
                    for ii in &i.items {
                        match ii {
                            ImplItem::Fn(f) if is_pub(&f.vis) && !skipped(&f.attrs) => {
                                let kind = if f.sig.receiver().is_some() { "method" } else { "fn" };
                                check(
                                    file,
                                    line(&f.sig.ident),
                                    kind,
                                    format!("{ty}::{}", f.sig.ident),
                                    &f.attrs,
                                    Lacks::Example,
                                );
                            }
                            ImplItem::Const(c) if is_pub(&c.vis) && !skipped(&c.attrs) => {
                                check(
                                    file,
                                    line(&c.ident),
                                    "const",
                                    format!("{ty}::{}", c.ident),
                                    &c.attrs,
                                    Lacks::Docs,
                                );
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            let (vis, ident, attrs) = match item {
                Item::Struct(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Enum(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Union(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Trait(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Type(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Fn(i) => (&i.vis, &i.sig.ident, &i.attrs),
                Item::Const(i) => (&i.vis, &i.ident, &i.attrs),
                Item::Static(i) => (&i.vis, &i.ident, &i.attrs),
                _ => continue,
            };
            if !exported(id, vis, &ident.to_string()) || skipped(attrs) {
                continue;
            }
            let name = qualified(ident);
            let at = line(ident);
            match item {
                Item::Struct(s) => {
                    check(file, at, "struct", name.clone(), attrs, Lacks::Example);
                    for f in &s.fields {
                        if let Some(fi) = &f.ident
                            && is_pub(&f.vis)
                            && !skipped(&f.attrs)
                        {
                            let field = format!("{name}::{fi}");
                            check(file, line(fi), "field", field, &f.attrs, Lacks::Docs);
                        }
                    }
                }
                Item::Union(_) => check(file, at, "union", name, attrs, Lacks::Example),
                Item::Enum(e) => {
                    check(file, at, "enum", name.clone(), attrs, Lacks::Example);
                    for v in e.variants.iter().filter(|v| !skipped(&v.attrs)) {
                        let vname = format!("{name}::{}", v.ident);
                        check(
                            file,
                            line(&v.ident),
                            "variant",
                            vname.clone(),
                            &v.attrs,
                            Lacks::Docs,
                        );
                        for f in &v.fields {
                            if let Some(fi) = &f.ident
                                && !skipped(&f.attrs)
                            {
                                let field = format!("{vname}::{fi}");
                                check(file, line(fi), "field", field, &f.attrs, Lacks::Docs);
                            }
                        }
                    }
                }
                Item::Trait(t) => {
                    check(file, at, "trait", name.clone(), attrs, Lacks::Example);
                    for ti in &t.items {
                        match ti {
                            TraitItem::Fn(f) if !skipped(&f.attrs) => {
                                let kind = if f.sig.receiver().is_some() { "method" } else { "fn" };
                                check(
                                    file,
                                    line(&f.sig.ident),
                                    kind,
                                    format!("{}::{}", t.ident, f.sig.ident),
                                    &f.attrs,
                                    Lacks::Example,
                                );
                            }
                            TraitItem::Const(c) if !skipped(&c.attrs) => {
                                check(
                                    file,
                                    line(&c.ident),
                                    "const",
                                    format!("{}::{}", t.ident, c.ident),
                                    &c.attrs,
                                    Lacks::Docs,
                                );
                            }
                            TraitItem::Type(ty) if !skipped(&ty.attrs) => {
                                check(
                                    file,
                                    line(&ty.ident),
                                    "type",
                                    format!("{}::{}", t.ident, ty.ident),
                                    &ty.attrs,
                                    Lacks::Docs,
                                );
                            }
                            _ => {}
                        }
                    }
                }
                Item::Type(_) => check(file, at, "type", name, attrs, Lacks::Example),
                Item::Fn(_) => check(file, at, "fn", name, attrs, Lacks::Example),
                Item::Const(_) => check(file, at, "const", name, attrs, Lacks::Docs),
                Item::Static(_) => check(file, at, "static", name, attrs, Lacks::Docs),
                _ => {}
            }
        }
    }
    misses.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(misses)
}

/// A module's path from the crate root, `a::b` (empty for the root).
fn path_of(mods: &[Module], mut id: usize) -> String {
    let mut parts = Vec::new();
    while let Some(parent) = mods[id].parent {
        parts.push(mods[id].name.clone());
        id = parent;
    }
    parts.reverse();
    parts.join("::")
}

fn line(ident: &syn::Ident) -> usize {
    ident.span().start().line
}

fn type_name(item: &Item) -> Option<String> {
    match item {
        Item::Struct(i) => Some(i.ident.to_string()),
        Item::Enum(i) => Some(i.ident.to_string()),
        Item::Union(i) => Some(i.ident.to_string()),
        Item::Type(i) => Some(i.ident.to_string()),
        _ => None,
    }
}

/// The name of the type an inherent `impl` is for (`Value` for `impl<T> Value<T>`).
fn self_type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Group(g) => self_type_name(&g.elem),
        syn::Type::Paren(p) => self_type_name(&p.elem),
        _ => None,
    }
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// Not part of the API: test-only or hidden.
fn skipped(attrs: &[Attribute]) -> bool {
    is_cfg_test(attrs) || is_hidden(attrs)
}

fn has_attr(attrs: &[Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

fn has_cfg(attrs: &[Attribute]) -> bool {
    has_attr(attrs, "cfg")
}

/// `#[cfg(test)]` exactly (not `cfg(any(test, …))`, which is also built outside tests).
fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Path>().map(|p| p.is_ident("test")).unwrap_or(false)
    })
}

/// `#[doc(hidden)]`.
fn is_hidden(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        let Meta::List(list) = &a.meta else { return false };
        list.path.is_ident("doc")
            && list
                .parse_args_with(
                    syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
                )
                .map(|metas| metas.iter().any(|m| m.path().is_ident("hidden")))
                .unwrap_or(false)
    })
}

/// `#[path = "…"]`.
fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            Expr::Lit(l) => match &l.lit {
                Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    })
}

/// What an item's doc comment holds.
struct Docs {
    present: bool,
    example: bool,
}

impl Docs {
    fn of(attrs: &[Attribute]) -> Docs {
        let mut text = String::new();
        // `#[doc = include_str!(…)]` cannot be read here: taken as documented, with an example.
        let mut opaque = false;
        for a in attrs {
            let Meta::NameValue(nv) = &a.meta else { continue };
            if !nv.path.is_ident("doc") {
                continue;
            }
            match &nv.value {
                Expr::Lit(l) => match &l.lit {
                    Lit::Str(s) => {
                        text.push_str(&s.value());
                        text.push('\n');
                    }
                    _ => opaque = true,
                },
                _ => opaque = true,
            }
        }
        if opaque {
            return Docs { present: true, example: true };
        }
        Docs { present: !text.trim().is_empty(), example: has_example(&text) }
    }
}

/// Whether markdown `text` has a fenced code block that rustdoc compiles as a doctest.
fn has_example(text: &str) -> bool {
    let mut open: Option<(char, usize)> = None;
    for line in text.lines() {
        let t = line.trim_start();
        let fence_char = match t.chars().next() {
            Some(c @ ('`' | '~')) => c,
            _ => continue,
        };
        let len = t.chars().take_while(|&c| c == fence_char).count();
        if len < 3 {
            continue;
        }
        match open {
            Some((c, n)) => {
                if c == fence_char && len >= n && t[len..].trim().is_empty() {
                    open = None;
                }
            }
            None => {
                if is_doctest(&t[len..]) {
                    return true;
                }
                open = Some((fence_char, len));
            }
        }
    }
    false
}

/// Whether a fence's info string makes a block that rustdoc compiles and runs (or, with `no_run`,
/// compiles).
fn is_doctest(info: &str) -> bool {
    let mut doctest = true;
    for token in info.split([',', ' ', '\t']).map(str::trim).filter(|t| !t.is_empty()) {
        let rust_attr = matches!(
            token,
            "rust" | "no_run" | "should_panic" | "test_harness" | "standalone_crate"
        ) || token.starts_with("edition")
            || (token.starts_with('E') && token[1..].chars().all(|c| c.is_ascii_digit()));
        if !rust_attr {
            // `ignore`, `compile_fail`, `text`, another language.
            doctest = false;
        }
    }
    doctest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_that_count_as_examples() {
        assert!(has_example("Does.\n\n```\nlet x = 1;\n```\n"));
        assert!(has_example(" ```rust\nx\n ```"));
        assert!(has_example("```no_run\nx\n```"));
        assert!(has_example("```should_panic,edition2024\nx\n```"));
        assert!(has_example("~~~\nx\n~~~"));
        assert!(!has_example("See [`Lock::acquire`] for an example."));
        assert!(!has_example("```text\nx\n```"));
        assert!(!has_example("```ignore\nx\n```"));
        assert!(!has_example("```compile_fail\nx\n```"));
        assert!(!has_example("```sh\ncargo run\n```"));
        assert!(!has_example("Inline `code` is not a block."));
        // A fence inside another block's body is text of that block.
        assert!(!has_example("````text\n```\nx\n```\n````"));
        assert!(has_example("```text\nx\n```\n\n```\ny\n```"));
    }

    fn audit_source(files: &[(&str, &str)]) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("doc-audit-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let krate = Crate { name: "demo".into(), lib: dir.join("src/lib.rs") };
        let out = audit_crate(&krate)
            .unwrap()
            .iter()
            .map(|m| format!("{} {}: {:?}", m.kind, m.name, m.lacks))
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        out
    }

    #[test]
    fn reaches_reexports_and_public_modules_only() {
        let lib = "//! Demo.\n//! ```\n//! ```\n\
                   mod private;\npub mod open;\n#[cfg(test)] mod tests;\n\
                   #[cfg(not(unix))] mod other_platform;\n\
                   #[path = \"elsewhere/imp.rs\"] mod imp;\n\
                   pub use private::{Shown, Chained as Renamed};\npub use imp::*;\n\
                   pub use std::vec::Vec;\n";
        let private = "mod deep;\npub use deep::Chained;\n\
                       /// Shown.\npub struct Shown;\npub struct NotReexported;\n\
                       impl Shown {\n    /// Documented, no example.\n    pub fn a(&self) {}\n    fn private(&self) {}\n    #[doc(hidden)] pub fn hidden() {}\n}\n\
                       impl NotReexported { pub fn b(&self) {} }\n";
        let deep = "/// Chained.\n/// ```\n/// ```\npub fn Chained() {}\n";
        let open = "//! Open.\n/// Variants.\n/// ```\n/// ```\npub enum E { A, /// Doc.\n B { x: u8 } }\n\
                    pub(crate) fn crate_only() {}\n#[doc(hidden)] pub fn hidden() {}\n\
                    /// A trait.\n/// ```\n/// ```\npub trait T { /// No example.\n fn m(&self); type Out; }\n\
                    impl T for E { fn m(&self) {} type Out = (); }\n";
        let imp = "pub const C: u8 = 0;\n";
        let misses = audit_source(&[
            ("src/lib.rs", lib),
            ("src/private.rs", private),
            ("src/private/deep.rs", deep),
            ("src/open.rs", open),
            ("src/elsewhere/imp.rs", imp),
        ]);
        assert_eq!(
            misses,
            [
                "const imp::C: Docs",
                "variant open::E::A: Docs",
                "field open::E::B::x: Docs",
                "method T::m: Example",
                "type T::Out: Docs",
                "struct Shown: Example",
                "method Shown::a: Example",
            ]
        );
    }
}
