//! The artifacts of a build as one zip (spec 7.3), read by byte range: the archive's
//! length is known when it is planned (from the files' names and sizes), and any range
//! of it can be read, so `artifacts.zip` can answer with a `Content-Length` and honour
//! `Range` without writing the archive anywhere.
//!
//! Entries are stored, not recompressed (apk, ipa and aab files are zips already), in
//! the order the artifacts are listed, named by their stored path. A file gone from the
//! server (log retention, removed by hand) or with a path that would leave the build's
//! directory is left out, and named in [`ArtifactZip::left_out`].
//!
//! **CRC-32s.** Zip headers carry each file's CRC-32 before its bytes (no data
//! descriptors, so streaming readers can unpack it too). They are computed on demand,
//! through [`ArtifactFiles::crc32`], when a header that needs one is read, once per
//! planned archive: a full download reads each file twice, and a range covering the
//! central directory reads every file once more. Recording CRC-32s at collection time
//! (beside the SHA-256) would make them free.

use crate::error::{ErrorClass, UseCaseError};
use crate::ids::BuildId;
use crate::ports::{ArtifactFileError, ArtifactFiles, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

use super::zip_layout::{Part, ZipEntry, ZipLayout};

/// Why the artifacts zip could not be planned or read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactZipError {
    /// No such build.
    #[error("build {0} not found; run `oore build list` to see builds")]
    NotFound(BuildId),
    /// The build has no artifacts.
    #[error(
        "build {0} has no artifacts: the pipeline's `artifacts` patterns matched nothing, or the build did not get that far; check `oore build logs {0}`"
    )]
    NoArtifacts(BuildId),
    /// A file changed size or disappeared after the zip was planned.
    #[error(
        "artifact '{0}' changed or was removed while the zip was being sent; download the zip again"
    )]
    Changed(String),
    /// The artifact storage failed.
    #[error(transparent)]
    Files(ArtifactFileError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for ArtifactZipError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) | Self::NoArtifacts(_) => ErrorClass::NotFound,
            Self::Changed(_) => ErrorClass::Conflict,
            Self::Files(_) => ErrorClass::Internal,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Longest entry name a zip header can hold.
const MAX_NAME: usize = 0xFFFF;

/// One planned artifacts zip; see the module doc.
#[derive(Debug, Clone)]
pub struct ArtifactZip {
    build: BuildId,
    file_name: String,
    layout: ZipLayout,
    crcs: Vec<Option<u32>>,
    left_out: Vec<String>,
}

impl ArtifactZip {
    /// Plans the zip of `build`'s artifacts from their stored sizes (no file is read).
    pub async fn plan(
        svc: &Services,
        files: &dyn ArtifactFiles,
        build: BuildId,
    ) -> Result<Self, ArtifactZipError> {
        let stored = svc
            .builds
            .get_build(build)
            .await?
            .ok_or(ArtifactZipError::NotFound(build))?;
        let artifacts = svc.builds.list_artifacts(build).await?;
        if artifacts.is_empty() {
            return Err(ArtifactZipError::NoArtifacts(build));
        }
        let mut entries = Vec::with_capacity(artifacts.len());
        let mut left_out = Vec::new();
        for artifact in artifacts {
            let size = match files.size(build, &artifact.path).await {
                Ok(size) => size,
                Err(ArtifactFileError::BadPath(_)) => None,
                Err(e) => return Err(ArtifactZipError::Files(e)),
            };
            match size {
                Some(size) if artifact.path.len() <= MAX_NAME => entries.push(ZipEntry {
                    name: artifact.path,
                    size,
                }),
                _ => left_out.push(artifact.path),
            }
        }
        let crcs = entries.iter().map(|e| (e.size == 0).then_some(0)).collect();
        Ok(Self {
            build,
            file_name: format!("build-{}-artifacts.zip", stored.number),
            layout: ZipLayout::new(entries),
            crcs,
            left_out,
        })
    }

    /// The archive's length in bytes.
    pub fn len(&self) -> u64 {
        self.layout.len()
    }

    /// True for an archive without entries (every file was left out); it is still a
    /// valid, empty zip.
    pub fn is_empty(&self) -> bool {
        self.layout.entries().is_empty()
    }

    /// The name to offer the download as: `build-<number>-artifacts.zip`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The stored paths of artifacts left out (file gone, or a path that would leave the
    /// build's directory).
    pub fn left_out(&self) -> &[String] {
        &self.left_out
    }

    /// The archive's bytes from `offset`: exactly `min(max, len - offset)` of them, empty
    /// at or past the end. Fails with `Changed` when a file no longer has its planned
    /// size; then the bytes sent so far cannot be completed.
    pub async fn read(
        &mut self,
        files: &dyn ArtifactFiles,
        offset: u64,
        max: usize,
    ) -> Result<Vec<u8>, ArtifactZipError> {
        let end = offset.saturating_add(max as u64).min(self.len());
        let mut out = Vec::with_capacity(usize::try_from(end.saturating_sub(offset)).unwrap_or(0));
        let mut at = offset;
        while at < end {
            let Some(segment) = self.layout.segment_at(at) else {
                break;
            };
            let within = at - segment.start;
            let take = (segment.start + segment.len).min(end) - at;
            let header = match segment.part {
                Part::Data(i) => {
                    let name = &self.layout.entries()[i].name;
                    let data = files
                        .read(self.build, name, within, take as usize)
                        .await
                        .map_err(|e| changed_or_failed(name, e))?;
                    if data.len() as u64 != take {
                        return Err(ArtifactZipError::Changed(name.clone()));
                    }
                    out.extend_from_slice(&data);
                    at += take;
                    continue;
                }
                Part::Local(i) => {
                    let crc = self.crc32(files, i).await?;
                    self.layout.local_header(i, crc)
                }
                Part::Central(i) => {
                    let crc = self.crc32(files, i).await?;
                    self.layout.central_header(i, crc)
                }
                Part::End => self.layout.end(),
            };
            let from = within as usize;
            out.extend_from_slice(&header[from..from + take as usize]);
            at += take;
        }
        Ok(out)
    }

    /// Entry `i`'s CRC-32, computed once (module doc); `Changed` if its size moved.
    async fn crc32(
        &mut self,
        files: &dyn ArtifactFiles,
        i: usize,
    ) -> Result<u32, ArtifactZipError> {
        if let Some(crc) = self.crcs[i] {
            return Ok(crc);
        }
        let entry = &self.layout.entries()[i];
        let changed = || ArtifactZipError::Changed(entry.name.clone());
        let size = files
            .size(self.build, &entry.name)
            .await
            .map_err(|e| changed_or_failed(&entry.name, e))?;
        if size != Some(entry.size) {
            return Err(changed());
        }
        let crc = files
            .crc32(self.build, &entry.name)
            .await
            .map_err(|e| changed_or_failed(&entry.name, e))?
            .ok_or_else(changed)?;
        self.crcs[i] = Some(crc);
        Ok(crc)
    }
}

/// A file that went missing changed; a storage failure is one.
fn changed_or_failed(name: &str, e: ArtifactFileError) -> ArtifactZipError {
    match e {
        ArtifactFileError::Missing(_) | ArtifactFileError::BadPath(_) => {
            ArtifactZipError::Changed(name.to_owned())
        }
        ArtifactFileError::Io(_) => ArtifactZipError::Files(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::build::Artifact;
    use crate::ids::ArtifactId;
    use crate::testing::{MemoryArtifactFiles, block_on, services};
    use crate::usecases::build::fixtures::{repo, start};
    use crate::usecases::build::zip_layout::unzip;

    struct Fx {
        svc: Services,
        files: MemoryArtifactFiles,
        build: BuildId,
    }

    /// A build with artifacts `(path, content)` recorded and stored.
    fn with_artifacts(stored: &[(&str, &[u8])]) -> Fx {
        let svc = services();
        let build = start(&svc, &repo(&svc));
        let files = MemoryArtifactFiles::default();
        let rows: Vec<Artifact> = stored
            .iter()
            .enumerate()
            .map(|(i, (path, data))| {
                files.put(build, path, data);
                Artifact {
                    id: ArtifactId::from_ulid(ulid::Ulid::from_parts(5, i as u128 + 1)),
                    build_id: build,
                    path: (*path).to_owned(),
                    size: data.len() as u64,
                    sha256: "00".repeat(32),
                    created_at: svc.clock.now(),
                }
            })
            .collect();
        if !rows.is_empty() {
            block_on(svc.builds.add_artifacts(&rows)).expect("artifacts");
        }
        Fx { svc, files, build }
    }

    impl Fx {
        fn plan(&self) -> ArtifactZip {
            block_on(ArtifactZip::plan(&self.svc, &self.files, self.build)).expect("plan")
        }
    }

    fn read_all(zip: &mut ArtifactZip, files: &MemoryArtifactFiles, chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let next = block_on(zip.read(files, out.len() as u64, chunk)).expect("read");
            if next.is_empty() {
                return out;
            }
            out.extend_from_slice(&next);
        }
    }

    fn big() -> Vec<u8> {
        (0..150_000u32).map(|i| (i * 7 % 256) as u8).collect()
    }

    #[test]
    fn the_zip_holds_every_artifact_stored_with_its_path() {
        let big = big();
        let fx = with_artifacts(&[("app.apk", &big), ("ios/Runner.ipa", b"ipa"), ("e", b"")]);
        let mut zip = fx.plan();
        assert_eq!(zip.file_name(), "build-1-artifacts.zip");
        let bytes = read_all(&mut zip, &fx.files, 64 * 1024);
        assert_eq!(bytes.len() as u64, zip.len(), "the planned length is exact");
        let entries = unzip(&bytes);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["app.apk", "e", "ios/Runner.ipa"],
            "by path, as listed"
        );
        assert!(entries[0].1 == big);
        assert_eq!(entries[2].1, b"ipa");
    }

    #[test]
    fn any_range_reads_the_same_bytes_as_the_whole() {
        let big = big();
        let fx = with_artifacts(&[("a.bin", &big), ("b.txt", b"hello")]);
        let whole = read_all(&mut fx.plan(), &fx.files, 1 << 20);
        for chunk in [1, 7, 4096, 65_536] {
            assert!(
                read_all(&mut fx.plan(), &fx.files, chunk) == whole,
                "chunks of {chunk}"
            );
        }
        let len = whole.len() as u64;
        for (from, max) in [
            (0, 10),
            (25, 100),
            (60_000, 100_000),
            (len - 30, 1000),
            (len, 5),
        ] {
            let part = block_on(fx.plan().read(&fx.files, from, max)).expect("range");
            let end = (from as usize + max).min(whole.len());
            assert!(part == whole[from as usize..end], "{from}+{max}");
        }
    }

    #[test]
    fn planning_reads_no_file_and_each_crc_is_computed_once() {
        let fx = with_artifacts(&[("a", b"aaaa"), ("b", b"bb")]);
        let mut zip = fx.plan();
        assert!(
            fx.files.reads.lock().expect("reads").is_empty(),
            "sizes only"
        );
        read_all(&mut zip, &fx.files, 3);
        let crcs = fx
            .files
            .reads
            .lock()
            .expect("reads")
            .iter()
            .filter(|r| r.2 == usize::MAX)
            .count();
        assert_eq!(
            crcs, 2,
            "one CRC-32 per file, reused by the central directory"
        );
    }

    #[test]
    fn missing_files_are_left_out_and_named() {
        let fx = with_artifacts(&[("kept", b"k"), ("gone", b"g"), ("../evil", b"e")]);
        fx.files.delete(fx.build, "gone");
        let mut zip = fx.plan();
        assert_eq!(zip.left_out(), ["../evil", "gone"]);
        let entries = unzip(&read_all(&mut zip, &fx.files, 100));
        assert_eq!(entries, [("kept".to_owned(), b"k".to_vec())]);
    }

    #[test]
    fn all_files_gone_is_an_empty_zip() {
        let fx = with_artifacts(&[("gone", b"g")]);
        fx.files.delete(fx.build, "gone");
        let mut zip = fx.plan();
        assert!(zip.is_empty());
        assert!(unzip(&read_all(&mut zip, &fx.files, 100)).is_empty());
    }

    #[test]
    fn a_file_that_changes_after_planning_fails_the_read() {
        let fx = with_artifacts(&[("a", b"12345"), ("b", b"x")]);
        let mut zip = fx.plan();
        fx.files.put(fx.build, "a", b"12");
        let err = block_on(zip.read(&fx.files, 0, 1000)).expect_err("changed");
        assert!(
            matches!(&err, ArtifactZipError::Changed(p) if p == "a"),
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::Conflict);
        assert!(err.to_string().contains("download the zip again"), "{err}");

        let mut zip = fx.plan();
        let _header = block_on(zip.read(&fx.files, 0, 10)).expect("header");
        fx.files.delete(fx.build, "a");
        let err = block_on(zip.read(&fx.files, 10, 1000)).expect_err("removed");
        assert!(matches!(err, ArtifactZipError::Changed(_)), "{err}");
    }

    #[test]
    fn unknown_builds_and_builds_without_artifacts_are_not_found() {
        let fx = with_artifacts(&[]);
        let err = block_on(ArtifactZip::plan(&fx.svc, &fx.files, fx.build)).expect_err("none");
        assert!(matches!(err, ArtifactZipError::NoArtifacts(_)));
        assert!(err.to_string().contains("oore build logs"), "{err}");
        let other = BuildId::from_ulid(ulid::Ulid::from_parts(1, 1));
        let err = block_on(ArtifactZip::plan(&fx.svc, &fx.files, other)).expect_err("unknown");
        assert!(matches!(err, ArtifactZipError::NotFound(_)));
        assert_eq!(err.class(), ErrorClass::NotFound);
    }
}
