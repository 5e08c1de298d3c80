//! `oore build artifacts`: list a build's artifacts, download every one (going on past
//! the ones whose file is gone from the server, each reported, then failing), or
//! download them as one zip (`--zip`), which resumes like a single file.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use oore_core::api::{ArtifactDto, ArtifactListResponse, ErrorCode, paths};

use super::artifacts::safe_relative_path;
use super::download::{Downloader, Fetched, Wanted};
use super::render::{artifact_table, size};
use crate::error::CliError;
use crate::output::Output;
use crate::resolve::Target;
use crate::table::sanitize;

/// What `oore build artifacts` was asked to do.
#[derive(Debug)]
pub(super) struct ArtifactsRequest {
    /// Full build id.
    pub(super) id: String,
    /// Download each artifact.
    pub(super) download: bool,
    /// Download the zip of them all.
    pub(super) zip: bool,
    /// Where to (default `.`).
    pub(super) output: Option<PathBuf>,
}

/// Run it; `list` is the build's artifacts.
pub(super) fn run(
    request: ArtifactsRequest,
    list: &ArtifactListResponse,
    target: Target,
    out: &mut Output,
) -> Result<(), CliError> {
    let json = out.is_json();
    if !json {
        if list.artifacts.is_empty() {
            out.text(&format!("build {} has no artifacts", request.id))?;
        } else {
            out.table(&artifact_table(&list.artifacts))?;
        }
    }
    let fetching = (request.download || request.zip) && !list.artifacts.is_empty();
    if !fetching {
        return if json { out.json(list) } else { Ok(()) };
    }
    // Check every path before writing anything.
    for artifact in &list.artifacts {
        safe_relative_path(&artifact.path).map_err(CliError::Usage)?;
    }
    let dir = request.output.unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let downloader = Downloader::new(target, std::io::stderr().is_terminal());
    if !json {
        out.text("")?;
    }
    let result = if request.zip {
        zip(&downloader, &request.id, &dir, out)
    } else {
        each(&downloader, &request.id, &list.artifacts, &dir, out)
    };
    if json {
        out.json(list)?;
    }
    result
}

/// Every artifact in turn; one whose file is gone is reported and skipped, and the
/// command fails at the end naming them all.
fn each(
    downloader: &Downloader,
    build: &str,
    artifacts: &[ArtifactDto],
    dir: &Path,
    out: &mut Output,
) -> Result<(), CliError> {
    let mut missing = Vec::new();
    for artifact in artifacts {
        let relative = safe_relative_path(&artifact.path).map_err(CliError::Usage)?;
        let wanted = Wanted {
            api_path: paths::build_artifact(build, &artifact.id),
            dest: dir.join(relative),
            label: artifact.path.clone(),
            size: artifact.size,
            sha256: Some(artifact.sha256.clone()),
            etag: None,
        };
        let path = sanitize(&artifact.path);
        let fetched = match downloader.fetch(&wanted, out) {
            Ok(fetched) => fetched,
            Err(e) if e.api_code() == Some(ErrorCode::FileMissing) => {
                out.warn(&format!(
                    "{path} is no longer on the server (removed by log retention or by hand); going on with the others"
                ));
                missing.push(path);
                continue;
            }
            Err(e) => return Err(e),
        };
        if !out.is_json() {
            out.text(&fetched_line(&path, fetched, artifact.size, true))?;
        }
    }
    let n = artifacts.len() - missing.len();
    if !out.is_json() {
        out.text(&format!(
            "{n} artifact{} in {}",
            if n == 1 { "" } else { "s" },
            dir.display()
        ))?;
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "{} of {} artifacts could not be downloaded, their files are gone from the server: {}; trigger the build again to recreate them",
        missing.len(),
        artifacts.len(),
        missing.join(", ")
    )))
}

/// The server's `artifacts.zip`, resumable: its length and ETag come from `HEAD`.
fn zip(downloader: &Downloader, build: &str, dir: &Path, out: &mut Output) -> Result<(), CliError> {
    let api_path = paths::build_artifacts_zip(build);
    let head = downloader.head(&api_path)?;
    let name = head
        .file_name
        .filter(|n| safe_relative_path(n).is_ok_and(|p| p.components().count() == 1))
        .unwrap_or_else(|| format!("build-{build}-artifacts.zip"));
    let wanted = Wanted {
        api_path,
        dest: dir.join(&name),
        label: name.clone(),
        size: head.size,
        sha256: None,
        etag: head.etag,
    };
    let fetched = downloader.fetch(&wanted, out)?;
    if !out.is_json() {
        out.text(&fetched_line(&sanitize(&name), fetched, head.size, false))?;
        out.text(&format!("saved {}", dir.join(&name).display()))?;
    }
    Ok(())
}

fn fetched_line(path: &str, fetched: Fetched, total: u64, verified: bool) -> String {
    let check = if verified { ", sha256 verified" } else { "" };
    match fetched {
        Fetched::Downloaded => format!("downloaded {path} ({}{check})", size(total)),
        Fetched::Resumed { from } => {
            format!("resumed {path} at {} ({}{check})", size(from), size(total))
        }
        Fetched::UpToDate if verified => format!("{path} is already there (sha256 verified)"),
        Fetched::UpToDate => format!("{path} is already there ({})", size(total)),
    }
}
