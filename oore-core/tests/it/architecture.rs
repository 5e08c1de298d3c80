//! The dependency invariant of docs/ARCHITECTURE.md: oore-core does no IO, so nothing in
//! its normal dependency graph (direct or transitive) may be an IO crate.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Crates that do database, network, process or async-runtime IO.
const FORBIDDEN: &[&str] = &[
    "diesel",
    "diesel_migrations",
    "libsqlite3-sys",
    "rusqlite",
    "sqlx",
    "hyper",
    "hyper-util",
    "h2",
    "tower",
    "tower-http",
    "ureq",
    "reqwest",
    "rustls",
    "tokio",
    "mio",
    "socket2",
    "async-std",
    "smol",
    "nix",
    "process-wrap",
    "notify",
    "walkdir",
    "tempfile",
];

#[test]
fn oore_core_has_no_io_dependency() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");

    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let nodes: HashMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| (n["id"].as_str().expect("id"), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, name)| **name == "oore-core")
        .map(|(id, _)| *id)
        .expect("oore-core");

    // Walk normal (non-dev, non-build) edges from oore-core.
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().expect("pkg"));
            }
        }
    }
    let reached: BTreeSet<&str> = seen.iter().map(|id| names[id]).collect();
    let bad: Vec<&&str> = FORBIDDEN.iter().filter(|c| reached.contains(**c)).collect();
    assert!(
        bad.is_empty(),
        "oore-core must stay free of IO, but depends (maybe transitively) on {bad:?}; \
         move that code to oore-adapters behind a port"
    );
    assert!(
        reached.contains("serde"),
        "the walk found the real graph: {reached:?}"
    );
}
