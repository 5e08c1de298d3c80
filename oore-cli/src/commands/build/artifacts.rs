//! `oore build artifacts --download`: the rules the downloads follow, free of IO.
//! Artifact paths from the server are checked before they touch the file system
//! ([`safe_relative_path`]); a `.part` file left by an interrupted run decides where a
//! download starts ([`plan_start`]), and the answer to a range request how it is written
//! ([`plan_write`]). The downloads themselves are in `download.rs`.

use std::path::{Component, PathBuf};

use crate::table::sanitize;

/// The relative path for an artifact path from the server: `/`-separated, every part a
/// plain name. Absolute paths, `..`, `.`, empty parts, backslashes and NUL are refused so
/// a server cannot write outside the output directory.
pub(super) fn safe_relative_path(path: &str) -> Result<PathBuf, String> {
    let refuse = |why: &str| {
        Err(format!(
            "refusing artifact path {:?}: {why}",
            sanitize(path)
        ))
    };
    if path.is_empty() {
        return refuse("it is empty");
    }
    if path.starts_with('/') {
        return refuse("it is absolute");
    }
    if path.contains('\\') || path.contains('\0') {
        return refuse("it contains a backslash or NUL");
    }
    let mut relative = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" => return refuse("it has an empty component"),
            "." | ".." => return refuse("it has a `.` or `..` component"),
            part => relative.push(part),
        }
    }
    // Whatever the platform makes of the parts (a `C:` prefix on Windows), every one
    // must stay a plain name.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return refuse("it is not a plain relative path on this system");
    }
    Ok(relative)
}

/// What to do with the `.part` file found before a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Nothing usable: download from the start.
    Fresh,
    /// Ask for the rest from this offset.
    Resume { from: u64 },
    /// It has every byte already: verify it.
    Complete,
    /// It is longer than the artifact: discard it and start again.
    Discard,
}

/// How to begin, given the `.part` file's size (if there is one) and the artifact's.
pub(super) fn plan_start(part_len: Option<u64>, expected: u64) -> Start {
    match part_len {
        None | Some(0) => Start::Fresh,
        Some(n) if n < expected => Start::Resume { from: n },
        Some(n) if n == expected => Start::Complete,
        Some(_) => Start::Discard,
    }
}

/// How to write the body into the `.part` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteMode {
    /// After the bytes already there (206 for the range asked for).
    Append,
    /// From an empty file (200: the whole artifact).
    Overwrite,
}

/// How to write the response, given the range asked for (`bytes=<from>-`), the status and
/// the start of `Content-Range`. A 200 answer to a range request is the whole file (the
/// server ignored the range); a 206 that starts elsewhere cannot be appended.
pub(super) fn plan_write(
    requested_from: Option<u64>,
    status: u16,
    range_start: Option<u64>,
) -> Result<WriteMode, String> {
    match (requested_from, status) {
        (_, 200) => Ok(WriteMode::Overwrite),
        (Some(from), 206) if range_start == Some(from) => Ok(WriteMode::Append),
        (Some(from), 206) => Err(format!(
            "the server answered the range from byte {from} with {}",
            range_start.map_or_else(
                || "no Content-Range".to_owned(),
                |s| format!("bytes from {s}")
            )
        )),
        (None, 206) => Err("the server sent a partial answer to a full request".to_owned()),
        (_, status) => Err(format!("unexpected HTTP {status}")),
    }
}

/// The first byte of `Content-Range: bytes <first>-<last>/<total>`.
pub(super) fn content_range_start(header: &str) -> Option<u64> {
    let range = header.trim().strip_prefix("bytes ")?;
    let (first, _) = range.split_once('-')?;
    first.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn plain_relative_paths_are_kept() {
        assert_eq!(
            safe_relative_path("build/app/outputs/app-release.apk").unwrap(),
            Path::new("build")
                .join("app")
                .join("outputs")
                .join("app-release.apk")
        );
        assert_eq!(safe_relative_path("a.txt").unwrap(), Path::new("a.txt"));
        assert_eq!(
            safe_relative_path("東京/..name..").unwrap(),
            Path::new("東京").join("..name..")
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../outside",
            "a/../../outside",
            "a/..",
            "./a",
            "a//b",
            "a/",
            "..\\windows",
            "a\\b",
            "nul\0byte",
        ] {
            let err = safe_relative_path(bad).unwrap_err();
            assert!(err.starts_with("refusing artifact path"), "{bad:?}: {err}");
        }
    }

    #[cfg(windows)]
    #[test]
    fn drive_prefixes_are_refused() {
        assert!(safe_relative_path("C:/x").is_err());
    }

    #[test]
    fn start_depends_on_the_partial_file() {
        assert_eq!(plan_start(None, 100), Start::Fresh);
        assert_eq!(plan_start(Some(0), 100), Start::Fresh);
        assert_eq!(plan_start(Some(40), 100), Start::Resume { from: 40 });
        assert_eq!(plan_start(Some(99), 100), Start::Resume { from: 99 });
        assert_eq!(plan_start(Some(100), 100), Start::Complete);
        assert_eq!(plan_start(Some(101), 100), Start::Discard);
        assert_eq!(plan_start(None, 0), Start::Fresh);
        assert_eq!(plan_start(Some(0), 0), Start::Fresh);
    }

    #[test]
    fn write_mode_depends_on_the_answer() {
        assert_eq!(plan_write(None, 200, None), Ok(WriteMode::Overwrite));
        assert_eq!(plan_write(Some(40), 206, Some(40)), Ok(WriteMode::Append));
        // The server ignored the range and sent everything.
        assert_eq!(plan_write(Some(40), 200, None), Ok(WriteMode::Overwrite));
        assert!(plan_write(Some(40), 206, Some(0)).is_err());
        assert!(plan_write(Some(40), 206, None).is_err());
        assert!(plan_write(None, 206, Some(0)).is_err());
        assert!(plan_write(None, 204, None).is_err());
    }

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(content_range_start("bytes 40-99/100"), Some(40));
        assert_eq!(content_range_start(" bytes 0-0/1 "), Some(0));
        assert_eq!(content_range_start("bytes */100"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
