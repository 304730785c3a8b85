//! The layers point down: `identity/` (who someone is, how they prove it) sits below every
//! feature slice and may import only the database layer (`server`), `audit` and `error`.
//! Read from the source, so a new `use crate::accounts::…` in `identity/` fails here.

use std::{fs, path::Path};

/// What `identity/` may import from the crate.
const IDENTITY_MAY_IMPORT: [&str; 4] = ["identity", "server", "audit", "error"];

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
fn identity_imports_only_the_layers_below_it() {
    let identity = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/identity");
    let mut files = Vec::new();
    sources_under(&identity, &mut files);
    assert!(!files.is_empty(), "identity/ has sources");
    let mut upward = Vec::new();
    for file in files {
        let source = fs::read_to_string(&file).expect("readable source");
        for (line, module) in crate_imports(&source) {
            if !IDENTITY_MAY_IMPORT.contains(&module.as_str()) {
                upward.push(format!("{}:{line}: crate::{module}", file.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "identity/ must not import a feature slice:\n{}",
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
