//! `FsArtifacts`: glob semantics, stored names, `$VAR` expansion, symbolic links, streamed
//! copies with SHA-256, and retention.

use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use oore_adapters::artifacts::FsArtifacts;
use oore_core::ports::{ArtifactCollector, BuildDirectories, CollectOutcome, CollectRequest};
use sha2::{Digest, Sha256};

use crate::new_build;

struct Setup {
    dir: tempfile::TempDir,
    workspace: PathBuf,
    artifacts: FsArtifacts,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws");
    for (path, content) in [
        ("build/top.apk", "top"),
        ("build/ios/ipa/App.ipa", "ipa"),
        ("build/app/outputs/flutter-apk/app-release.apk", "apk"),
        ("build/app/outputs/bundle/release/app.aab", "aab"),
        ("app/build/inner.apk", "inner"),
        (".hidden/x.apk", "hidden"),
    ] {
        write(&workspace.join(path), content.as_bytes());
    }
    let artifacts = FsArtifacts::new(dir.path().join("logs/artifacts"));
    Setup {
        dir,
        workspace,
        artifacts,
    }
}

fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Setup {
    fn request(&self, patterns: &[&str]) -> CollectRequest {
        CollectRequest {
            build: new_build(),
            patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
            base_dir: self.workspace.clone(),
            workspace: self.workspace.clone(),
            env: vec![(
                "HOME".into(),
                self.dir.path().join("home").display().to_string(),
            )],
        }
    }

    async fn collect(&self, request: &CollectRequest) -> CollectOutcome {
        self.artifacts.collect(request).await.unwrap()
    }

    async fn names(&self, patterns: &[&str]) -> (Vec<String>, Vec<String>) {
        let outcome = self.collect(&self.request(patterns)).await;
        let names = outcome.files.iter().map(|f| f.path.clone()).collect();
        (names, outcome.warnings)
    }
}

#[tokio::test]
async fn star_stays_in_a_segment_and_double_star_crosses_them() {
    let s = setup();
    let (names, warnings) = s.names(&["build/*.apk"]).await;
    assert_eq!(names, ["build/top.apk"]);
    assert!(warnings.is_empty(), "{warnings:?}");

    let (names, _) = s.names(&["build/**/*.apk"]).await;
    assert_eq!(
        names,
        [
            "build/app/outputs/flutter-apk/app-release.apk",
            "build/top.apk"
        ]
    );

    let (names, _) = s.names(&["**/*.apk"]).await;
    assert_eq!(
        names,
        [
            ".hidden/x.apk",
            "app/build/inner.apk",
            "build/app/outputs/flutter-apk/app-release.apk",
            "build/top.apk"
        ]
    );

    let (names, _) = s
        .names(&["build/app/outputs/*/*/*.{apk,aab}", "build/ios/ipa/App.ip?"])
        .await;
    assert_eq!(
        names,
        [
            "build/app/outputs/bundle/release/app.aab",
            "build/ios/ipa/App.ipa"
        ]
    );
}

#[tokio::test]
async fn files_are_copied_with_size_and_sha256() {
    let s = setup();
    let request = s.request(&["build/ios/ipa/*.ipa"]);
    let outcome = s.collect(&request).await;
    assert_eq!(outcome.files.len(), 1);
    let file = &outcome.files[0];
    assert_eq!(file.path, "build/ios/ipa/App.ipa");
    assert_eq!(file.size, 3);
    assert_eq!(file.sha256, sha256(b"ipa"));
    let stored = s
        .artifacts
        .artifact_path(request.build, &file.path)
        .unwrap();
    assert_eq!(fs::read(&stored).unwrap(), b"ipa");
    assert!(
        stored.starts_with(
            s.dir
                .path()
                .join("logs/artifacts")
                .join(request.build.to_string())
        )
    );
}

#[tokio::test]
async fn a_matched_directory_is_collected_recursively() {
    let s = setup();
    let (names, _) = s.names(&["build/app/outputs"]).await;
    assert_eq!(
        names,
        [
            "build/app/outputs/bundle/release/app.aab",
            "build/app/outputs/flutter-apk/app-release.apk"
        ]
    );
}

#[tokio::test]
async fn absolute_patterns_keep_the_path_below_their_literal_prefix() {
    let mut s = setup();
    s.artifacts = s
        .artifacts
        .clone()
        .with_allowed_roots(vec![s.dir.path().join("tmp")]);
    let logs = s.dir.path().join("tmp/xcodebuild_logs");
    write(&logs.join("a.log"), b"log a");
    write(&logs.join("nested/b.log"), b"log b");
    let pattern = format!("{}/*.log", logs.display());
    let (names, _) = s.names(&[&pattern]).await;
    assert_eq!(names, ["xcodebuild_logs/a.log"]);

    let pattern = format!("{}/**", logs.display());
    let (names, _) = s.names(&[&pattern]).await;
    assert_eq!(
        names,
        ["xcodebuild_logs/a.log", "xcodebuild_logs/nested/b.log"]
    );

    // An absolute pattern into the workspace is named relative to it.
    let pattern = format!("{}/build/*.apk", s.workspace.display());
    let (names, _) = s.names(&[&pattern]).await;
    assert_eq!(names, ["build/top.apk"]);
}

#[tokio::test]
async fn variables_and_home_are_expanded_from_the_build_env() {
    let mut s = setup();
    s.artifacts = s
        .artifacts
        .clone()
        .with_allowed_roots(vec![s.dir.path().join("home")]);
    write(&s.dir.path().join("home/reports/r.txt"), b"report");
    let mut request = s.request(&[
        "$OUT/**/*.aab",
        "${OUT}/flutter-apk/*.apk",
        "$CM_BUILD_DIR/build/*.apk",
        "~/reports/*.txt",
        "$UNSET/*.apk",
    ]);
    request.env.push(("OUT".into(), "build/app/outputs".into()));
    request
        .env
        .push(("CM_BUILD_DIR".into(), s.workspace.display().to_string()));
    let outcome = s.collect(&request).await;
    let names: Vec<&str> = outcome.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "build/app/outputs/bundle/release/app.aab",
            "build/app/outputs/flutter-apk/app-release.apk",
            "build/top.apk",
            "reports/r.txt",
        ]
    );
    assert_eq!(
        outcome.warnings,
        ["artifact pattern '$UNSET/*.apk' uses UNSET, which is not set; the pattern was skipped"]
    );
}

#[tokio::test]
async fn a_pattern_matching_nothing_is_a_warning() {
    let s = setup();
    let (names, warnings) = s
        .names(&["build/*.ipa", "missing/dir/**", "build/top.apk", " "])
        .await;
    assert_eq!(names, ["build/top.apk"]);
    assert_eq!(
        warnings,
        [
            "artifact pattern 'build/*.ipa' matched no files",
            "artifact pattern 'missing/dir/**' matched no files",
            "an artifact pattern is empty; it was skipped"
        ]
    );
}

#[tokio::test]
async fn relative_patterns_start_at_the_base_dir() {
    let s = setup();
    write(&s.workspace.join("build/inner.apk"), b"outer");
    let mut request = s.request(&["build/*.apk", "../build/top.apk", "../build/inner.apk"]);
    request.base_dir = s.workspace.join("app");
    let outcome = s.collect(&request).await;
    let names: Vec<&str> = outcome.files.iter().map(|f| f.path.as_str()).collect();
    // Below the base dir: relative to it; elsewhere in the workspace: relative to that.
    assert_eq!(names, ["build/inner.apk", "build/top.apk"]);
    assert_eq!(outcome.files[0].sha256, sha256(b"inner"));
    // Same name from two different files: the first wins, with a warning.
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].contains("is already stored as build/inner.apk"));
}

#[tokio::test]
async fn links_outside_the_workspace_are_skipped_with_a_warning() {
    let s = setup();
    let secret = s.dir.path().join("outside/secret.apk");
    write(&secret, b"secret");
    symlink(&secret, s.workspace.join("build/leak.apk")).unwrap();
    symlink(
        s.dir.path().join("outside"),
        s.workspace.join("build/outdir"),
    )
    .unwrap();
    symlink(
        s.workspace.join("build/top.apk"),
        s.workspace.join("build/alias.apk"),
    )
    .unwrap();
    symlink("ios", s.workspace.join("build/ios-link")).unwrap();

    let (names, warnings) = s
        .names(&[
            "build/*.apk",
            "build/outdir/*.apk",
            "build/ios-link/**/*.ipa",
        ])
        .await;
    assert_eq!(
        names,
        [
            "build/alias.apk",
            "build/top.apk",
            "build/ios-link/ipa/App.ipa"
        ]
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("build/leak.apk") && warnings[0].contains("outside the workspace"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("build/outdir") && warnings[1].contains("outside the workspace"),
        "{warnings:?}"
    );

    // `**` does not wander into linked directories outside the workspace.
    let (names, warnings) = s.names(&["build/**/secret.apk"]).await;
    assert!(names.is_empty());
    assert_eq!(
        warnings,
        ["artifact pattern 'build/**/secret.apk' matched no files"]
    );
}

#[tokio::test]
async fn absolute_patterns_collect_only_under_the_allowed_roots() {
    let mut s = setup();
    let env_file = s.dir.path().join("etc/oore.env");
    write(&env_file, b"OORE_ADMIN_TOKEN=secret");
    let allowed = s.dir.path().join("allowed");
    write(&allowed.join("report.txt"), b"report");
    symlink(&env_file, allowed.join("leak.txt")).unwrap();
    symlink("../etc", allowed.join("up")).unwrap();

    // Without OORE_ARTIFACT_ROOTS an absolute pattern, or a relative one leaving the
    // workspace, collects nothing and says why.
    let absolute = env_file.display().to_string();
    let (names, warnings) = s.names(&[&absolute, "../etc/oore.env"]).await;
    assert!(names.is_empty(), "{names:?}");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for w in &warnings {
        assert!(
            w.contains("outside the workspace") && w.contains("OORE_ARTIFACT_ROOTS"),
            "{w}"
        );
    }

    // Under an allowed root: what is inside it, never a link out of it.
    s.artifacts = s
        .artifacts
        .clone()
        .with_allowed_roots(vec![allowed.clone()]);
    let (names, warnings) = s
        .names(&[
            &format!("{}/*.txt", allowed.display()),
            &format!("{}/up/oore.env", allowed.display()),
            &absolute,
        ])
        .await;
    assert_eq!(names, ["allowed/report.txt"]);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].contains("leak.txt") && warnings[0].contains("outside"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("up/oore.env"), "{warnings:?}");
    assert!(warnings[2].contains("OORE_ARTIFACT_ROOTS"), "{warnings:?}");
}

#[tokio::test]
async fn with_a_build_user_only_what_it_may_read_is_collected() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = setup();
    // Another account than the one running the test: permissions decide, as for root.
    let me = oore_adapters::build_user::effective_uid();
    let other = oore_adapters::build_user::BuildUser {
        name: "builder".into(),
        uid: me.wrapping_add(4242),
        gid: 4242,
        groups: vec![4242],
        home: "/nonexistent".into(),
    };
    s.artifacts = s.artifacts.clone().readable_by(other);
    let ws = &s.workspace;
    write(&ws.join("out/public.apk"), b"public");
    write(&ws.join("out/private.apk"), b"private");
    fs::set_permissions(
        ws.join("out/private.apk"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    write(&ws.join("closed/inside.apk"), b"behind a closed directory");
    fs::set_permissions(ws.join("closed"), fs::Permissions::from_mode(0o700)).unwrap();

    let (names, warnings) = s.names(&["out/*.apk", "closed/*.apk"]).await;
    fs::set_permissions(ws.join("closed"), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(names, ["out/public.apk"]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("out/private.apk")
            && warnings[0].contains("build user builder may not read it"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("closed/inside.apk"), "{warnings:?}");
}

#[tokio::test]
async fn link_loops_and_special_files_do_not_hang() {
    let s = setup();
    symlink("..", s.workspace.join("build/ios/loop")).unwrap();
    let fifo = s.workspace.join("build/ios/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (names, warnings) = s.names(&["build/ios", "build/**/App.ipa"]).await;
    assert!(
        names.contains(&"build/ios/ipa/App.ipa".to_owned()),
        "{names:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("a loop")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("build/ios/pipe") && w.contains("not a regular file")),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn big_files_are_streamed() {
    let s = setup();
    let big = s.workspace.join("build/big.bin");
    let mut hasher = Sha256::new();
    let mut file = fs::File::create(&big).unwrap();
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    for _ in 0..50 {
        file.write_all(&chunk).unwrap();
        hasher.update(&chunk);
    }
    drop(file);
    let expected = hex::encode(hasher.finalize());

    let request = s.request(&["build/big.bin"]);
    let outcome = s.collect(&request).await;
    assert_eq!(outcome.files.len(), 1);
    assert_eq!(outcome.files[0].size, 50 * 1024 * 1024);
    assert_eq!(outcome.files[0].sha256, expected);
    let stored = s
        .artifacts
        .artifact_path(request.build, "build/big.bin")
        .unwrap();
    assert_eq!(fs::metadata(stored).unwrap().len(), 50 * 1024 * 1024);
}

#[tokio::test]
async fn an_unwritable_artifact_directory_fails_the_collection() {
    let s = setup();
    let blocker = s.dir.path().join("blocker");
    fs::write(&blocker, "a file").unwrap();
    let artifacts = FsArtifacts::new(blocker.join("artifacts"));
    let err = artifacts
        .collect(&s.request(&["build/top.apk"]))
        .await
        .unwrap_err();
    assert!(err.0.starts_with("cannot create"), "{err}");
    assert!(err.0.contains("OORE_LOGS_DIR"), "{err}");
}

#[tokio::test]
async fn retention_removes_a_builds_artifacts() {
    let s = setup();
    let request = s.request(&["build/*.apk"]);
    s.collect(&request).await;
    let stored = s
        .artifacts
        .artifact_path(request.build, "build/top.apk")
        .unwrap();
    assert!(stored.exists());
    assert_eq!(s.artifacts.artifact_path(request.build, "../other/x"), None);
    BuildDirectories::remove(&s.artifacts, request.build)
        .await
        .unwrap();
    assert!(!s.artifacts.build_dir(request.build).exists());
    BuildDirectories::remove(&s.artifacts, request.build)
        .await
        .unwrap();
}
