//! Contract suites of the file ports: [`ArtifactFiles`] and [`BuildDirectories`]. Run
//! against the in-memory fakes here and against the file adapters in `oore-adapters`.
//!
//! Each suite takes a factory returning a fresh, empty implementation and a *seeder*
//! that stores something the way the rest of the system would (collection writes an
//! artifact file; a build creates its directory), since the ports themselves only read
//! and remove.

use jiff::Timestamp;

use crate::ids::BuildId;
use crate::ports::{ArtifactFileError, ArtifactFiles, BuildDirectories, StoredBuildDir};

fn build(n: u128) -> BuildId {
    BuildId::from_ulid(ulid::Ulid::from_parts(1_767_225_600_000, n))
}

/// Deterministic bytes that differ at every offset of a 64 KiB window.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i >> 8) as u8).collect()
}

/// Paths an [`ArtifactFiles`] MUST refuse as `BadPath`.
const BAD_PATHS: [&str; 6] = ["", "/etc/passwd", "../x", "a/../../x", "./a", "a\0b"];

/// Runs every [`ArtifactFiles`] check. `fresh` returns an empty implementation and a
/// function storing `data` as the artifact file `path` of a build.
pub async fn artifact_files_contract<S, P, F>(fresh: F)
where
    S: ArtifactFiles,
    P: Fn(BuildId, &str, &[u8]),
    F: Fn() -> (S, P),
{
    sizes_of_stored_files(fresh()).await;
    reads_are_exact_by_offset(fresh()).await;
    crc32_is_the_zip_checksum(fresh()).await;
    missing_files_are_none_or_missing(fresh()).await;
    paths_leaving_the_build_are_refused(fresh()).await;
    names_keep_unicode_and_spaces(fresh()).await;
}

async fn sizes_of_stored_files<S: ArtifactFiles>((files, put): (S, impl Fn(BuildId, &str, &[u8]))) {
    let b = build(1);
    put(b, "app.apk", b"12345");
    put(b, "build/ios/ipa/Runner.ipa", &pattern(70_000));
    put(b, "empty.txt", b"");
    assert_eq!(files.size(b, "app.apk").await, Ok(Some(5)));
    assert_eq!(
        files.size(b, "build/ios/ipa/Runner.ipa").await,
        Ok(Some(70_000))
    );
    assert_eq!(files.size(b, "empty.txt").await, Ok(Some(0)));
    // A file of one build is not another build's.
    assert_eq!(files.size(build(2), "app.apk").await, Ok(None));
    // A directory is not a stored file.
    assert_eq!(files.size(b, "build/ios").await, Ok(None));
}

async fn reads_are_exact_by_offset<S: ArtifactFiles>(
    (files, put): (S, impl Fn(BuildId, &str, &[u8])),
) {
    let b = build(1);
    let data = pattern(200_000);
    put(b, "big.bin", &data);
    let read = |offset: u64, max: usize| files.read(b, "big.bin", offset, max);
    assert_eq!(read(0, 65_536).await.as_deref(), Ok(&data[..65_536]));
    assert_eq!(
        read(100_001, 1_000).await.as_deref(),
        Ok(&data[100_001..101_001])
    );
    // Past the end: what is left, then nothing.
    assert_eq!(read(199_990, 65_536).await.as_deref(), Ok(&data[199_990..]));
    assert_eq!(read(200_000, 10).await, Ok(Vec::new()));
    assert_eq!(read(900_000, 10).await, Ok(Vec::new()));
    assert_eq!(read(5, 0).await, Ok(Vec::new()));
    // Chunk by chunk, the whole file.
    let mut all = Vec::new();
    loop {
        let chunk = read(all.len() as u64, 65_536).await.expect("read");
        if chunk.is_empty() {
            break;
        }
        all.extend_from_slice(&chunk);
    }
    assert!(all == data, "chunked reads must reassemble the file");
    // One large read returns the whole file, not a first piece of it.
    assert_eq!(read(0, 1 << 20).await.map(|d| d.len()), Ok(200_000));
}

async fn crc32_is_the_zip_checksum<S: ArtifactFiles>(
    (files, put): (S, impl Fn(BuildId, &str, &[u8])),
) {
    let b = build(1);
    put(b, "check", b"123456789");
    put(b, "empty", b"");
    let data = pattern(300_000);
    put(b, "big", &data);
    // The CRC-32/ISO-HDLC check value.
    assert_eq!(super::memory_files::crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(files.crc32(b, "check").await, Ok(Some(0xCBF4_3926)));
    assert_eq!(files.crc32(b, "empty").await, Ok(Some(0)));
    assert_eq!(
        files.crc32(b, "big").await,
        Ok(Some(super::memory_files::crc32(&data)))
    );
}

async fn missing_files_are_none_or_missing<S: ArtifactFiles>(
    (files, _put): (S, impl Fn(BuildId, &str, &[u8])),
) {
    let b = build(3);
    assert_eq!(files.size(b, "gone.apk").await, Ok(None));
    assert_eq!(files.crc32(b, "gone.apk").await, Ok(None));
    assert_eq!(
        files.read(b, "gone.apk", 0, 10).await,
        Err(ArtifactFileError::Missing("gone.apk".to_owned()))
    );
}

async fn paths_leaving_the_build_are_refused<S: ArtifactFiles>(
    (files, put): (S, impl Fn(BuildId, &str, &[u8])),
) {
    let b = build(1);
    put(b, "x", b"inside");
    for bad in BAD_PATHS {
        let refused = ArtifactFileError::BadPath(bad.to_owned());
        assert_eq!(
            files.size(b, bad).await,
            Err(refused.clone()),
            "size {bad:?}"
        );
        assert_eq!(
            files.read(b, bad, 0, 10).await,
            Err(refused.clone()),
            "read {bad:?}"
        );
        assert_eq!(files.crc32(b, bad).await, Err(refused), "crc32 {bad:?}");
    }
}

async fn names_keep_unicode_and_spaces<S: ArtifactFiles>(
    (files, put): (S, impl Fn(BuildId, &str, &[u8])),
) {
    let b = build(1);
    let name = "out/My \"App\" é 日本.apk";
    put(b, name, b"unicode");
    assert_eq!(files.size(b, name).await, Ok(Some(7)));
    assert_eq!(
        files.read(b, name, 2, 100).await.as_deref(),
        Ok(&b"icode"[..])
    );
}

/// Runs every [`BuildDirectories`] check. `fresh` returns an empty implementation and a
/// function creating a build's directory (with some content) last modified at the given
/// time (whole seconds).
pub async fn build_directories_contract<S, P, F>(fresh: F)
where
    S: BuildDirectories,
    P: Fn(BuildId, Timestamp),
    F: Fn() -> (S, P),
{
    nothing_stored_lists_nothing(fresh()).await;
    lists_each_build_once_with_its_modification(fresh()).await;
    remove_takes_one_build_and_is_idempotent(fresh()).await;
}

async fn nothing_stored_lists_nothing<S: BuildDirectories>(
    (dirs, _put): (S, impl Fn(BuildId, Timestamp)),
) {
    assert!(!dirs.kind().is_empty(), "kind names what is stored");
    assert_eq!(dirs.list().await, Ok(Vec::new()));
    assert_eq!(dirs.remove(build(1)).await, Ok(()));
}

fn sorted(mut dirs: Vec<StoredBuildDir>) -> Vec<StoredBuildDir> {
    dirs.sort_by_key(|d| d.build);
    dirs
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("valid sample time")
}

async fn lists_each_build_once_with_its_modification<S: BuildDirectories>(
    (dirs, put): (S, impl Fn(BuildId, Timestamp)),
) {
    put(build(2), at(1_700_000_000));
    put(build(1), at(1_767_225_600));
    let expected = vec![
        StoredBuildDir {
            build: build(1),
            modified: at(1_767_225_600),
        },
        StoredBuildDir {
            build: build(2),
            modified: at(1_700_000_000),
        },
    ];
    assert_eq!(dirs.list().await.map(sorted), Ok(expected));
}

async fn remove_takes_one_build_and_is_idempotent<S: BuildDirectories>(
    (dirs, put): (S, impl Fn(BuildId, Timestamp)),
) {
    put(build(1), at(1_700_000_000));
    put(build(2), at(1_700_000_000));
    assert_eq!(dirs.remove(build(1)).await, Ok(()));
    let left: Vec<BuildId> = dirs
        .list()
        .await
        .expect("list")
        .iter()
        .map(|d| d.build)
        .collect();
    assert_eq!(left, [build(2)]);
    assert_eq!(
        dirs.remove(build(1)).await,
        Ok(()),
        "removing twice is fine"
    );
    assert_eq!(dirs.remove(build(9)).await, Ok(()), "never stored is fine");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemoryArtifactFiles, MemoryBuildDirectories, block_on};

    #[test]
    fn the_memory_artifact_files_keep_the_contract() {
        block_on(artifact_files_contract(|| {
            let files = MemoryArtifactFiles::default();
            let seed = files.clone();
            (files, move |b: BuildId, p: &str, d: &[u8]| {
                seed.put(b, p, d)
            })
        }));
    }

    #[test]
    fn the_memory_build_directories_keep_the_contract() {
        block_on(build_directories_contract(|| {
            let dirs = MemoryBuildDirectories::new("logs");
            let seed = dirs.clone();
            (dirs, move |b: BuildId, t: Timestamp| seed.put(b, t))
        }));
    }
}
