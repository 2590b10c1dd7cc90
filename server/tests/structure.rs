//! The server's structure, checked (ARCHITECTURE.md: "Only `db` speaks SQL, and rooms point down"):
//!
//! 1. only `db/` speaks SQL: no other module names `rusqlite` or holds SQL text;
//! 2. `db/` depends on nothing else in the crate;
//! 3. no room imports from a room above it (storage < the product's rooms < the HTTP edge);
//! 4. no import circles between modules.
//!
//! The server is being moved into this shape (issue 19). What has not moved yet is listed
//! below by name, and the lists only shrink: a listed module that no longer breaks its rule
//! fails the check until it is taken off, so the lists always say exactly what is left.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A failed check is a test failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Modules outside `db/` that still speak SQL.
const SQL_NOT_YET_IN_DB: &[&str] = &[];

/// The HTTP edge: routing, extractors, pages and JSON. Everything else is below it.
const EDGE_ROOMS: &[&str] = &["http", "web", "api", "desk::http", "desk::delegation::http"];

/// Modules below the edge that still import from it.
const UPWARD_NOT_YET_FIXED: &[(&str, &str)] = &[];

/// Modules still in an import circle, one group per circle.
const CIRCLES_NOT_YET_BROKEN: &[&[&str]] = &[];

/// The server's modules (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`) and their source with
/// test modules cut off.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Some(name) = module_name(&root, &path)
            {
                out.insert(name, non_test_source(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`; test-only files (`tests.rs`, `*_tests.rs`,
/// anything under a `tests/` folder) and `lib.rs` are not modules of the running server.
fn module_name(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> =
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts
        .iter()
        .any(|p| p == "tests" || p.ends_with("_tests") || p == "test_support" || p == "fixtures")
    {
        return None;
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    // lib.rs declares the modules; main.rs is the binary, another crate.
    if parts == ["lib"] || parts == ["main"] {
        return None;
    }
    Some(parts.join("::"))
}

/// The source without its test code: a `#[cfg(test)] mod x;` declaration is skipped, and an
/// inline `#[cfg(test)] mod tests { … }` ends the file (test modules sit at the end by
/// convention).
fn non_test_source(source: &str) -> String {
    let mut kept = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            while lines.peek().is_some_and(|l| l.trim_start().starts_with("#[")) {
                lines.next();
            }
            let item = lines.peek().map(|l| l.trim()).unwrap_or("");
            if item.starts_with("mod ") && item.ends_with(';') {
                lines.next();
                continue;
            }
            if item.starts_with("mod ") {
                break;
            }
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Every `crate::…` path the source names in code (comments, doc links included, are not
/// dependencies), including the members of `use crate::{…}` trees.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| [line, "\n"])
        .collect();
    let source = code.as_str();
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("use crate::") {
        let tail = &rest[at + "use crate::".len()..];
        let end = tail.find(';').unwrap_or(tail.len());
        let tree: String = tail[..end].chars().filter(|c| !c.is_whitespace()).collect();
        expand("", &tree, &mut out);
        rest = &tail[end..];
    }
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].trim_end_matches(':').to_owned());
        rest = &tail[end..];
    }
    out
}

/// Expands a use tree (`a::{b, c::{d}}`) under `prefix` into full paths.
fn expand(prefix: &str, tree: &str, out: &mut BTreeSet<String>) {
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        for member in top_level_members(inner) {
            expand(prefix, member, out);
        }
    } else if let Some(open) = tree.find("::{").filter(|_| tree.ends_with('}')) {
        expand(&format!("{prefix}{}::", &tree[..open]), &tree[open + 2..], out);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap_or(tree);
        out.insert(format!("{prefix}{}", path.trim_end_matches("::self")));
    }
}

/// `b, c::{d, e}` → [`b`, `c::{d, e}`].
fn top_level_members(inner: &str) -> Vec<&str> {
    let mut members = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                members.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    members.push(&inner[start..]);
    members
}

/// The module a path names: its longest prefix that is a module.
fn owning_module(path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// Module → the modules it imports (a module's own submodules and ancestors excluded: a
/// parent declares its children and children use their parent's items).
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (name, source) in modules {
        let targets: BTreeSet<String> = crate_paths(source)
            .iter()
            .filter_map(|path| owning_module(path, modules))
            .filter(|t| t != name && !name.starts_with(&format!("{t}::")))
            .filter(|t| !t.starts_with(&format!("{name}::")))
            .collect();
        graph.insert(name.clone(), targets);
    }
    graph
}

fn in_room(module: &str, room: &str) -> bool {
    module == room || module.starts_with(&format!("{room}::"))
}

fn is_edge(module: &str) -> bool {
    EDGE_ROOMS.iter().any(|room| in_room(module, room))
}

/// Whether the source names rusqlite or holds SQL text (a statement's keywords outside a
/// comment): SQL strings handed to some other module's connection are SQL all the same.
fn speaks_sql(source: &str) -> bool {
    const STATEMENTS: [&str; 6] =
        ["SELECT ", "INSERT INTO ", "DELETE FROM ", "CREATE TABLE ", "PRAGMA ", "SAVEPOINT "];
    source.contains("rusqlite")
        || source.lines().map(str::trim_start).filter(|line| !line.starts_with("//")).any(|line| {
            STATEMENTS.iter().any(|s| line.contains(s))
                || (line.contains("UPDATE ") && line.contains(" SET "))
        })
}

#[test]
fn only_db_speaks_sql() {
    let modules = modules();
    let speaking: BTreeSet<&str> = modules
        .iter()
        .filter(|(name, source)| !in_room(name, "db") && speaks_sql(source))
        .map(|(name, _)| name.as_str())
        .collect();
    let listed: BTreeSet<&str> = SQL_NOT_YET_IN_DB.iter().copied().collect();
    let new: Vec<_> = speaking.difference(&listed).collect();
    let moved: Vec<_> = listed.difference(&speaking).collect();
    assert!(new.is_empty(), "modules outside db/ that name rusqlite: {new:?}; SQL belongs in db/");
    assert!(moved.is_empty(), "no longer speak SQL, take them off SQL_NOT_YET_IN_DB: {moved:?}");
}

#[test]
fn storage_depends_on_nothing_above_it() {
    let modules = modules();
    let graph = imports(&modules);
    for (module, targets) in graph.iter().filter(|(m, _)| in_room(m, "db")) {
        let above: Vec<_> = targets.iter().filter(|t| !in_room(t, "db")).collect();
        assert!(above.is_empty(), "{module} (storage) imports {above:?}");
    }
}

#[test]
fn no_room_imports_from_a_room_above_it() {
    let modules = modules();
    let graph = imports(&modules);
    let mut upward = BTreeSet::new();
    for (module, targets) in &graph {
        if is_edge(module) {
            continue;
        }
        for target in targets.iter().filter(|t| is_edge(t)) {
            upward.insert((module.clone(), target.clone()));
        }
    }
    let listed: BTreeSet<(String, String)> =
        UPWARD_NOT_YET_FIXED.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    let new: Vec<_> = upward.difference(&listed).collect();
    let fixed: Vec<_> = listed.difference(&upward).collect();
    assert!(new.is_empty(), "imports from the HTTP edge into a room below it: {new:?}");
    assert!(fixed.is_empty(), "no longer upward, take them off UPWARD_NOT_YET_FIXED: {fixed:?}");
}

#[test]
fn no_import_circles() {
    let modules = modules();
    let graph = imports(&modules);
    let circles = strongly_connected(&graph);
    let listed: Vec<BTreeSet<String>> = CIRCLES_NOT_YET_BROKEN
        .iter()
        .map(|group| group.iter().map(|m| (*m).to_owned()).collect())
        .collect();
    for circle in &circles {
        assert!(
            listed.iter().any(|group| circle.is_subset(group)),
            "an import circle not listed (or grown): {circle:?}"
        );
    }
    for group in &listed {
        assert!(
            circles.iter().any(|circle| circle == group),
            "CIRCLES_NOT_YET_BROKEN lists {group:?}, but the circle now is {:?}: list what is left",
            circles.iter().filter(|c| !c.is_disjoint(group)).collect::<Vec<_>>()
        );
    }
}

/// Tarjan's strongly connected components with more than one module.
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<BTreeSet<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.insert(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.out.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.out
}

#[test]
fn the_checks_see_what_they_check() {
    // The parser must find the imports this file's rules are about, or every check passes
    // vacuously.
    let modules = modules();
    assert!(modules.contains_key("db::sqlite::hq") && modules.contains_key("http::routes"));
    let graph = imports(&modules);
    assert!(graph["hq::overview"].contains("db"), "{:?}", graph["hq::overview"]);
    assert!(graph["http::routes"].contains("http::edge::caller"), "{:?}", graph["http::routes"]);
    let mut paths = BTreeSet::new();
    expand("", "a::{b,c::{d,e},f::self}", &mut paths);
    expand("", "{g,h::i}", &mut paths);
    let expected: BTreeSet<String> = ["a::b", "a::c::d", "a::c::e", "a::f", "g", "h::i"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(paths, expected);
}
