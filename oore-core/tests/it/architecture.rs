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

/// `cargo tree` over the workspace's root manifest, normal edges only (what a release
/// build compiles), inverted on oore-core, with features: the features oore-core is
/// built with.
fn oore_core_features_in(packages: &[&str]) -> String {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let mut args = vec![
        "tree",
        "--manifest-path",
        manifest,
        "--locked",
        "--edges",
        "features,normal",
        "--invert",
        "oore-core",
    ];
    for package in packages {
        args.extend(["--package", package]);
    }
    let output = Command::new(env!("CARGO"))
        .args(&args)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The release build (`make release`: `-p oore-server -p oore-cli`; and a plain `cargo
/// build --release`, which builds the default members) must not turn on oore-core's
/// `testing` feature: `oored` and `oore` would ship the fakes. Features unify across one
/// build, so one normal dependency with `features = ["testing"]` (oore-testkit, or a
/// crate moving it from dev-dependencies) is enough to break this.
#[test]
fn release_builds_leave_the_testing_feature_off() {
    for (build, packages) in [
        ("make release", &["oore-server", "oore-cli"][..]),
        ("cargo build --release (default members)", &[][..]),
    ] {
        let tree = oore_core_features_in(packages);
        assert!(
            tree.contains("oore-core feature \"default\"")
                && tree.contains("oore-server")
                && tree.contains("oore-cli"),
            "{build}: the tree should show oore-server and oore-cli using oore-core:\n{tree}"
        );
        assert!(
            !tree.contains("feature \"testing\""),
            "{build}: oore-core's `testing` feature is on; keep oore-core's `testing` \
             (and oore-testkit) in dev-dependencies and out of `default-members`:\n{tree}"
        );
    }
}
