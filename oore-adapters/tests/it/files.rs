//! The file adapters against the file-port contracts: `FsArtifacts` as `ArtifactFiles`,
//! and `FsWorkspaces`, `FsBuildLogs` and `FsArtifacts` as `BuildDirectories`; plus what
//! only real directories show (entries that are not builds, read-only trees).

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use jiff::Timestamp;
use oore_adapters::artifacts::FsArtifacts;
use oore_adapters::logs::FsBuildLogs;
use oore_adapters::workspace::FsWorkspaces;
use oore_core::ids::BuildId;
use oore_core::ports::{BuildDirectories, Workspaces};
use oore_core::testing::contract_files::{artifact_files_contract, build_directories_contract};

use crate::new_build;

/// Creates `dir` with a file in it, last modified at `at`.
fn make_dir(dir: &Path, at: Timestamp) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("content"), b"x").unwrap();
    set_modified(dir, at);
}

fn set_modified(path: &Path, at: Timestamp) {
    let when = SystemTime::from(at);
    fs::File::open(path).unwrap().set_modified(when).unwrap();
}

#[tokio::test]
async fn fs_artifacts_keep_the_artifact_files_contract() {
    artifact_files_contract(|| {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = FsArtifacts::new(dir.path().join("artifacts"));
        let root = artifacts.clone();
        let put = move |build: BuildId, path: &str, data: &[u8]| {
            // As collection stores them; `dir` lives as long as the seeder.
            let _keep = &dir;
            let file = root.artifact_path(build, path).unwrap();
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, data).unwrap();
        };
        (artifacts, put)
    })
    .await;
}

#[tokio::test]
async fn fs_artifacts_keep_the_build_directories_contract() {
    build_directories_contract(|| {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = FsArtifacts::new(dir.path().join("artifacts"));
        let root = artifacts.clone();
        let put = move |build: BuildId, at: Timestamp| {
            let _keep = &dir;
            make_dir(&root.build_dir(build), at);
        };
        (artifacts, put)
    })
    .await;
}

#[tokio::test]
async fn fs_build_logs_keep_the_build_directories_contract() {
    build_directories_contract(|| {
        let dir = tempfile::tempdir().unwrap();
        let logs = FsBuildLogs::new(dir.path().join("logs"), 1024);
        let root = logs.clone();
        let put = move |build: BuildId, at: Timestamp| {
            let _keep = &dir;
            make_dir(&root.build_dir(build), at);
        };
        (logs, put)
    })
    .await;
}

#[tokio::test]
async fn fs_workspaces_keep_the_build_directories_contract() {
    build_directories_contract(|| {
        let dir = tempfile::tempdir().unwrap();
        let ws = FsWorkspaces::new(dir.path().join("workspaces"));
        let root = ws.clone();
        let put = move |build: BuildId, at: Timestamp| {
            let _keep = &dir;
            let meta = root.cm_env_path(build);
            fs::create_dir_all(meta.parent().unwrap()).unwrap();
            fs::write(&meta, b"").unwrap();
            make_dir(&root.path(build), at);
        };
        (ws, put)
    })
    .await;
}

#[tokio::test]
async fn log_directories_leave_the_artifacts_directory_and_other_entries_alone() {
    let dir = tempfile::tempdir().unwrap();
    let logs = FsBuildLogs::new(dir.path().join("logs"), 1024);
    let build = new_build();
    make_dir(&logs.build_dir(build), Timestamp::now());
    // The artifact root lives beside the build directories; files are not builds either.
    fs::create_dir_all(logs.root().join("artifacts").join(new_build().to_string())).unwrap();
    fs::write(logs.root().join(new_build().to_string()), b"a file").unwrap();
    let listed: Vec<BuildId> = logs.list().await.unwrap().iter().map(|d| d.build).collect();
    assert_eq!(listed, [build]);
}

#[tokio::test]
async fn read_only_trees_are_removed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let artifacts = FsArtifacts::new(dir.path().join("artifacts"));
    let build = new_build();
    let inner = artifacts.build_dir(build).join("cache/pkg");
    make_dir(&inner, Timestamp::now());
    fs::set_permissions(&inner, fs::Permissions::from_mode(0o500)).unwrap();
    artifacts.remove(build).await.unwrap();
    assert!(!artifacts.build_dir(build).exists());
}

#[tokio::test]
async fn the_artifacts_zip_of_real_files_reads_back_with_the_zip_crate() {
    use std::io::Read;

    use oore_core::domain::build::Artifact;
    use oore_core::ids::ArtifactId;
    use oore_core::testing::services;
    use oore_core::usecases::build::ArtifactZip;

    let dir = tempfile::tempdir().unwrap();
    let artifacts = FsArtifacts::new(dir.path().join("artifacts"));
    let svc = services();
    let repo = oore_core::testing::contract::sample_repository(
        1,
        oore_core::domain::repository::Provider::Git,
        "local",
        "app",
    );
    svc.repositories.insert(&repo).await.unwrap();
    let build = svc
        .builds
        .create_build(&oore_core::testing::contract::sample_build(1, repo.id))
        .await
        .unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let stored: [(&str, &[u8]); 3] = [
        ("build/app/outputs/app-release.apk", &big),
        ("out/My App é.txt", b"unicode name"),
        ("empty", b""),
    ];
    let mut rows = Vec::new();
    for (i, (path, data)) in stored.iter().enumerate() {
        let file = artifacts.artifact_path(build.id, path).unwrap();
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, data).unwrap();
        rows.push(Artifact {
            id: ArtifactId::from_ulid(ulid::Ulid::from_parts(7, i as u128 + 1)),
            build_id: build.id,
            path: (*path).to_owned(),
            size: data.len() as u64,
            sha256: "00".repeat(32),
            created_at: build.created_at,
        });
    }
    svc.builds.add_artifacts(&rows).await.unwrap();

    let mut zip = ArtifactZip::plan(&svc, &artifacts, build.id).await.unwrap();
    let mut bytes = Vec::new();
    while (bytes.len() as u64) < zip.len() {
        let chunk = zip
            .read(&artifacts, bytes.len() as u64, 64 * 1024)
            .await
            .unwrap();
        assert!(!chunk.is_empty());
        bytes.extend_from_slice(&chunk);
    }
    assert_eq!(bytes.len() as u64, zip.len());

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(archive.len(), stored.len());
    for (path, data) in stored {
        let mut entry = archive.by_name(path).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        assert_eq!(entry.unix_mode(), Some(0o100_644));
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert!(read == data, "{path} reads back");
    }
}
