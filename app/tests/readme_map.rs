//! The README's picture of the folders names only files and folders that exist: a move
//! that forgets the map fails here.

use std::path::{Path, PathBuf};

/// The names a map line gives (`pages.rs, api.rs` or `a.rs + b.txt`), before its
/// description: the description starts after two spaces or at " (".
fn names_of(entry: &str) -> Vec<String> {
    let field = entry
        .split("  ")
        .next()
        .unwrap_or_default()
        .split(" (")
        .next()
        .unwrap_or_default();
    field
        .split(", ")
        .flat_map(|part| part.split(" + "))
        .map(|name| name.trim().trim_end_matches('/').to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Every path the map in README.md's "Architecture" names, from the repository's root.
fn map_paths(readme: &str) -> Vec<(String, PathBuf)> {
    let architecture = readme
        .split("## Architecture")
        .nth(1)
        .expect("the README has an Architecture section");
    let block = architecture
        .split("```")
        .nth(1)
        .expect("the Architecture section has the folder map");
    let mut stack: Vec<String> = Vec::new();
    let mut paths = Vec::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        // Deeper lines continue the description above them.
        if line.trim().is_empty() || indent >= 20 {
            continue;
        }
        let names = names_of(line.trim());
        stack.truncate(indent / 2);
        for name in &names {
            let path: PathBuf = stack.iter().chain(std::iter::once(name)).collect();
            paths.push((line.to_string(), path));
        }
        if let Some(first) = names.first() {
            stack.push(first.clone());
        }
    }
    paths
}

#[test]
fn every_path_in_the_readme_map_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let paths = map_paths(&readme);
    assert!(paths.len() > 80, "the map was read: {} paths", paths.len());
    let missing: Vec<String> = paths
        .iter()
        .filter(|(_, path)| !root.join(path).exists())
        .map(|(line, path)| format!("{} (from: {})", path.display(), line.trim()))
        .collect();
    assert!(
        missing.is_empty(),
        "the README's folder map names what is not there:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_map_line_names_its_files_before_its_description() {
    assert_eq!(
        names_of("pages.rs, api.rs  the section"),
        ["pages.rs", "api.rs"]
    );
    assert_eq!(
        names_of("common_passwords.rs + common-passwords.txt  (ssr) the list"),
        ["common_passwords.rs", "common-passwords.txt"]
    );
    assert_eq!(names_of("sign_up/        Create an account"), ["sign_up"]);
    let paths =
        map_paths("## Architecture\n```\napp/src/\n  lib.rs   routes\n  a/\n    b.rs  x\n```\n");
    let paths: Vec<PathBuf> = paths.into_iter().map(|(_, path)| path).collect();
    assert_eq!(
        paths,
        [
            PathBuf::from("app/src"),
            PathBuf::from("app/src/lib.rs"),
            PathBuf::from("app/src/a"),
            PathBuf::from("app/src/a/b.rs")
        ]
    );
}
