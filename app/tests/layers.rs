//! The layers point down. At the bottom, `kinds` (the stored enums) and `addresses` (how
//! addresses compare) import nothing of the app; the database layer (`server`) imports only
//! those and `error`; `identity/` (who someone is, how they prove it) sits below every
//! feature slice and may import only the database layer, `audit` and `error` besides;
//! `members/` (memberships and access) sits below the slices that add or check members.
//! Read from the source, so a new `use crate::accounts::…` in `identity/` fails here.

use std::{fs, path::Path};

/// Each low layer (a folder or a file under `src/`) and what it may import from the crate.
const LAYERS: [(&str, &[&str]); 5] = [
    ("kinds.rs", &[]),
    ("addresses.rs", &[]),
    ("server", &["server", "error", "kinds", "addresses"]),
    (
        "identity",
        &["identity", "server", "audit", "error", "kinds", "addresses"],
    ),
    // Memberships and who may act: below invitations, SSO, domains and organizations,
    // which all add or check members.
    (
        "members",
        &[
            "members",
            "identity",
            "audit",
            "ui",
            "server",
            "error",
            "kinds",
            "addresses",
        ],
    ),
];

/// Every `crate::<module>` a Rust source names, with its line: `crate::a::…` and the
/// top-level names of `use crate::{a::…, b::{…}}` (which may span lines).
fn crate_imports(source: &str) -> Vec<(usize, String)> {
    // Comments removed, line by line, so a commented name does not count.
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = code[from..].find("crate::") {
        let at = from + offset + "crate::".len();
        from = at;
        if code[at..].starts_with('{') {
            // The names at the braces' first level.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in code[at..].char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item_start = depth == 1;
                        continue;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    _ => {}
                }
                if item_start && depth == 1 && !c.is_whitespace() {
                    let module = ident(&code[at + i..]);
                    if !module.is_empty() {
                        found.push((line_of(at + i), module));
                    }
                    item_start = false;
                }
            }
        } else {
            let module = ident(&code[at..]);
            if !module.is_empty() {
                found.push((line_of(at), module));
            }
        }
    }
    found
}

fn sources_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            sources_under(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_low_layers_import_only_what_is_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut upward = Vec::new();
    for (layer, may_import) in LAYERS {
        let path = src.join(layer);
        let mut files = Vec::new();
        if path.is_dir() {
            sources_under(&path, &mut files);
        } else {
            files.push(path.clone());
        }
        assert!(
            files.iter().all(|file| file.exists()) && !files.is_empty(),
            "{layer} has sources"
        );
        for file in files {
            let source = fs::read_to_string(&file).expect("readable source");
            for (line, module) in crate_imports(&source) {
                if !may_import.contains(&module.as_str()) {
                    upward.push(format!("{}:{line}: crate::{module}", file.display()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "a low layer imports a layer above it (a feature slice):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_import_reader_sees_plain_and_braced_imports() {
    let found: Vec<String> = crate_imports(
        "use crate::{\n    audit::{x, y},\n    accounts::y,\n};\nlet a = crate::sso::z(); // crate::members",
    )
    .into_iter()
    .map(|(_, module)| module)
    .collect();
    assert!(found.contains(&"audit".to_string()));
    assert!(found.contains(&"accounts".to_string()));
    assert!(found.contains(&"sso".to_string()));
    assert!(
        !found.contains(&"members".to_string()),
        "comments do not count"
    );
    assert!(
        !found.contains(&"x".to_string()),
        "only the first level of braces"
    );
}

/// A module path (`["accounts", "sign_up", "service"]`) for each source file.
fn module_files(src: &Path) -> Vec<(Vec<String>, std::path::PathBuf)> {
    let mut files = Vec::new();
    sources_under(src, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src).expect("under src");
            let mut path: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if path
                .last()
                .is_some_and(|last| last == "mod" || last == "lib")
            {
                path.pop();
            }
            (path, file)
        })
        .collect()
}

/// Every path a file names that starts at `crate`, `super`, `self` or one of its own child
/// modules, made absolute: `use` trees (braces, globs, renames) and paths in code.
struct PathsNamed<'a> {
    /// The module the code being read is in (inline `mod` blocks push onto it).
    module: Vec<String>,
    modules: &'a std::collections::HashSet<Vec<String>>,
    found: Vec<Vec<String>>,
}

impl PathsNamed<'_> {
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.module.clone(),
            "super" => {
                let mut base = self.module.clone();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return Some(base);
            }
            child => {
                // `use service::x` from the module that declares `service`.
                let mut candidate = self.module.clone();
                candidate.push(child.to_string());
                if !self.modules.contains(&candidate) {
                    return None;
                }
                let mut base = self.module.clone();
                base.extend(segments.iter().cloned());
                return Some(base);
            }
        };
        base.extend(segments[1..].iter().cloned());
        Some(base)
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                prefix.push(name.ident.to_string());
                self.record(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(rename) => {
                prefix.push(rename.ident.to_string());
                self.record(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.record(prefix),
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// Every `crate::…`, `super::…` or `self::…` path in a token stream.
    fn paths_in_tokens(&mut self, tokens: proc_macro2::TokenStream) {
        use proc_macro2::TokenTree;
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let is_colon = |tree: Option<&TokenTree>| matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == ':');
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(group) => self.paths_in_tokens(group.stream()),
                TokenTree::Ident(first)
                    if matches!(first.to_string().as_str(), "crate" | "super" | "self") =>
                {
                    let mut segments = vec![first.to_string()];
                    while is_colon(trees.get(i + 1)) && is_colon(trees.get(i + 2)) {
                        let Some(TokenTree::Ident(next)) = trees.get(i + 3) else {
                            break;
                        };
                        segments.push(next.to_string());
                        i += 3;
                    }
                    if segments.len() > 1 {
                        self.record(&segments);
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn record(&mut self, segments: &[String]) {
        if let Some(path) = self.absolute(segments) {
            self.found.push(path);
        }
    }
}

impl<'ast> syn::visit::Visit<'ast> for PathsNamed<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.module.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.module.pop();
        }
    }

    // Macro arguments (`format!`, `view!`) are tokens, not syntax: their paths are read
    // from the tokens.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.paths_in_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.record(&segments);
        }
        syn::visit::visit_path(self, path);
    }
}

/// Which file each file takes names from: the longest module path a named path starts
/// with, other than the file itself.
fn file_imports(src: &Path) -> Vec<(String, std::collections::BTreeSet<String>)> {
    use syn::visit::Visit;

    let files = module_files(src);
    let modules: std::collections::HashSet<Vec<String>> =
        files.iter().map(|(module, _)| module.clone()).collect();
    let name = |file: &Path| {
        file.strip_prefix(src)
            .expect("under src")
            .display()
            .to_string()
    };
    let by_module: std::collections::HashMap<&Vec<String>, String> = files
        .iter()
        .map(|(module, file)| (module, name(file)))
        .collect();
    files
        .iter()
        .map(|(module, file)| {
            let source = fs::read_to_string(file).expect("readable source");
            let parsed = syn::parse_file(&source).expect("the crate's sources parse");
            let mut named = PathsNamed {
                module: module.clone(),
                modules: &modules,
                found: Vec::new(),
            };
            named.visit_file(&parsed);
            let targets = named
                .found
                .iter()
                .filter_map(|path| {
                    (1..=path.len())
                        .rev()
                        .find_map(|len| by_module.get(&path[..len].to_vec()))
                        .filter(|target| **target != name(file))
                        .cloned()
                })
                .collect();
            (name(file), targets)
        })
        .collect()
}

/// The import circles among files: each strongly connected group of more than one file.
fn circles(imports: &[(String, std::collections::BTreeSet<String>)]) -> Vec<Vec<String>> {
    let index: std::collections::HashMap<&str, usize> = imports
        .iter()
        .enumerate()
        .map(|(i, (file, _))| (file.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = imports
        .iter()
        .map(|(_, targets)| {
            targets
                .iter()
                .filter_map(|t| index.get(t.as_str()).copied())
                .collect()
        })
        .collect();
    // Reachability by depth-first search from each file: small graphs, plain code.
    let reach = |from: usize| {
        let mut seen = vec![false; edges.len()];
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            for &next in &edges[at] {
                if !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reachable: Vec<Vec<bool>> = (0..edges.len()).map(reach).collect();
    let mut grouped = vec![false; edges.len()];
    let mut found = Vec::new();
    for a in 0..edges.len() {
        if grouped[a] || !reachable[a][a] {
            continue;
        }
        let group: Vec<usize> = (0..edges.len())
            .filter(|&b| reachable[a][b] && reachable[b][a])
            .collect();
        for &b in &group {
            grouped[b] = true;
        }
        found.push(group.iter().map(|&b| imports[b].0.clone()).collect());
    }
    found
}

#[test]
fn no_two_files_import_each_other_even_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = circles(&file_imports(&src));
    assert!(
        found.is_empty(),
        "import circles (each group's files reach one another through imports):\n{}",
        found
            .iter()
            .map(|group| group.join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_circle_finder_sees_a_circle_through_a_third_file() {
    let file = |name: &str, targets: &[&str]| {
        (
            name.to_string(),
            targets.iter().map(|t| t.to_string()).collect(),
        )
    };
    let found = circles(&[
        file("a.rs", &["b.rs"]),
        file("b.rs", &["c.rs"]),
        file("c.rs", &["a.rs"]),
        file("d.rs", &["a.rs"]),
    ]);
    assert_eq!(found, vec![vec!["a.rs", "b.rs", "c.rs"]]);
}

#[test]
fn the_path_reader_sees_paths_inside_macro_arguments() {
    use syn::visit::Visit;
    let modules = std::collections::HashSet::new();
    let mut named = PathsNamed {
        module: vec!["server".into(), "provider_http".into()],
        modules: &modules,
        found: Vec::new(),
    };
    let parsed = syn::parse_file(
        "fn f(e: E) -> String { format!(\"{}\", super::identity_providers::error_chain(&e)) }",
    )
    .expect("parses");
    named.visit_file(&parsed);
    assert!(
        named.found.contains(&vec![
            "server".to_string(),
            "identity_providers".to_string(),
            "error_chain".to_string()
        ]),
        "{:?}",
        named.found
    );
}
