//! Locating the shared fixtures (`../shared/fixtures` beside the repository).

use std::path::PathBuf;

/// The shared fixtures directory.
pub(crate) fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures"
    ))
}

/// Reads a fixture file as text.
pub(crate) fn read(relative: &str) -> String {
    let path = dir().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// All Codemagic corpus files as (file name, content), sorted by name.
pub(crate) fn codemagic_corpus() -> Vec<(String, String)> {
    let dir = dir().join("codemagic");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let content = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (name, content)
        })
        .collect();
    files.sort();
    files
}
