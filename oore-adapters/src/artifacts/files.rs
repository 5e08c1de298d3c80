//! Reading stored artifacts and their retention: [`FsArtifacts`] implements
//! [`ArtifactFiles`] (size, reads by offset, CRC-32 for the zip) and [`BuildDirectories`]
//! (each build's `<artifacts_root>/<build_id>/`). Every file access runs on the blocking
//! pool; reads open the file per call, so a download never keeps a descriptor across
//! chunks, and a file removed meanwhile reads as missing.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use oore_core::ids::BuildId;
use oore_core::ports::{
    ArtifactFileError, ArtifactFiles, BuildDirectories, RetentionError, StoredBuildDir,
};

use super::{FsArtifacts, SETTING};
use crate::build_dirs;
use crate::fs_error;
use crate::workspace::force_remove_dir;

/// Bytes read at a time while computing a CRC-32.
const CRC_BUFFER: usize = 256 * 1024;

/// Where the artifact stored as `path` lives, or `BadPath`.
fn located(
    artifacts: &FsArtifacts,
    build: BuildId,
    path: &str,
) -> Result<PathBuf, ArtifactFileError> {
    artifacts
        .artifact_path(build, path)
        .ok_or_else(|| ArtifactFileError::BadPath(path.to_owned()))
}

/// True for errors meaning "no such file here" (a path through a regular file included).
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn io_error(what: &str, path: &Path, e: &io::Error, root: &Path) -> ArtifactFileError {
    ArtifactFileError::Io(fs_error::describe(what, path, e, root, SETTING))
}

/// Opens the stored regular file at `path`; `None` when there is none.
fn open(path: &Path) -> io::Result<Option<(File, u64)>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta.len())))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ArtifactFileError> + Send + 'static,
) -> Result<T, ArtifactFileError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(ArtifactFileError::Io(format!(
            "artifact task failed: {e}; retry the download"
        )))
    })
}

#[async_trait]
impl ArtifactFiles for FsArtifacts {
    async fn size(&self, build: BuildId, path: &str) -> Result<Option<u64>, ArtifactFileError> {
        let (file, root) = (located(self, build, path)?, self.root.clone());
        blocking(move || match fs::metadata(&file) {
            Ok(meta) => Ok(meta.is_file().then_some(meta.len())),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(io_error("stat", &file, &e, &root)),
        })
        .await
    }

    async fn read(
        &self,
        build: BuildId,
        path: &str,
        offset: u64,
        max: usize,
    ) -> Result<Vec<u8>, ArtifactFileError> {
        let (file, root, name) = (
            located(self, build, path)?,
            self.root.clone(),
            path.to_owned(),
        );
        blocking(move || {
            let err = |e: io::Error| io_error("read", &file, &e, &root);
            let (mut opened, len) = open(&file)
                .map_err(err)?
                .ok_or(ArtifactFileError::Missing(name))?;
            let want = len.saturating_sub(offset).min(max as u64);
            if want == 0 {
                return Ok(Vec::new());
            }
            opened.seek(SeekFrom::Start(offset)).map_err(err)?;
            let mut data = Vec::with_capacity(usize::try_from(want).unwrap_or(max));
            opened.take(want).read_to_end(&mut data).map_err(err)?;
            Ok(data)
        })
        .await
    }

    async fn crc32(&self, build: BuildId, path: &str) -> Result<Option<u32>, ArtifactFileError> {
        let (file, root) = (located(self, build, path)?, self.root.clone());
        blocking(move || {
            let err = |e: io::Error| io_error("read", &file, &e, &root);
            let Some((mut opened, _)) = open(&file).map_err(err)? else {
                return Ok(None);
            };
            let mut hasher = crc32fast::Hasher::new();
            let mut buffer = vec![0u8; CRC_BUFFER];
            loop {
                match opened.read(&mut buffer) {
                    Ok(0) => return Ok(Some(hasher.finalize())),
                    Ok(n) => hasher.update(&buffer[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(err(e)),
                }
            }
        })
        .await
    }
}

/// Retention: each build's artifact directory.
#[async_trait]
impl BuildDirectories for FsArtifacts {
    fn kind(&self) -> &'static str {
        "artifacts"
    }

    async fn list(&self) -> Result<Vec<StoredBuildDir>, RetentionError> {
        let root = self.root.clone();
        build_dirs::blocking(move || build_dirs::list(&root, SETTING)).await
    }

    async fn remove(&self, build: BuildId) -> Result<(), RetentionError> {
        let (root, dir) = (self.root.clone(), self.build_dir(build));
        build_dirs::blocking(move || {
            force_remove_dir(&dir).map_err(|e| build_dirs::remove_error(&dir, &e, &root, SETTING))
        })
        .await
    }
}
