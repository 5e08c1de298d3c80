//! Step scripts as files. A script is passed to the shell as a file, never as an argument:
//! Linux limits one argument to 128 KiB (`MAX_ARG_STRLEN`), so `bash -c <script>` failed
//! with "Argument list too long" for big scripts. `bash <file>` runs it with the same
//! semantics as `bash -c` (no `-e` or other option added; only `$0` names the file).
//!
//! The file is `<script root>/<build id>/step-<index>.sh`: the build's private directory
//! (`OORE_WORKSPACES_DIR/.meta/<build id>`, outside the checkout). It is written so that
//! nobody else can redirect the write: the directory is opened with `O_NOFOLLOW` and must
//! be ours and not writable by others, an old file is unlinked, and the new one created
//! with `O_CREAT | O_EXCL | O_NOFOLLOW` relative to the directory's descriptor. Then it
//! is given to the user steps run as, readable only by it (0400).

use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Gid, Mode, OFlags, Uid};
use rustix::io::Errno;

/// Writes `script` as step `index` of build `build` under `root`; returns its path.
pub(crate) fn write(
    root: &Path,
    build: &str,
    index: u32,
    script: &str,
    owner: Option<(u32, u32)>,
) -> io::Result<PathBuf> {
    let dir = root.join(build);
    // The user steps run as reaches its script by name, and lists nothing.
    let mode = if owner.is_some() { 0o711 } else { 0o700 };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(&dir)?;
    let dirfd = rustix::fs::open(
        &dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let stat = rustix::fs::fstat(&dirfd)?;
    if stat.st_uid != crate::build_user::effective_uid() || stat.st_mode & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "{} must belong to oored's user and be writable by nobody else",
            dir.display()
        )));
    }
    let name = format!("step-{index}.sh");
    match rustix::fs::unlinkat(&dirfd, name.as_str(), AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    let fd = rustix::fs::openat(
        &dirfd,
        name.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(script.as_bytes())?;
    if let Some((uid, gid)) = owner {
        rustix::fs::fchown(&file, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
    }
    rustix::fs::fchmod(&file, Mode::from_raw_mode(0o400))?;
    Ok(dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_planted_where_the_script_goes_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::create_dir(dir.path().join("b1")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("b1/step-0.sh")).unwrap();
        let path = write(dir.path(), "b1", 0, "echo hi\n", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "echo hi\n");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400);
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("b2");
        std::fs::create_dir(&open).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = write(dir.path(), "b2", 0, "true", None).unwrap_err();
        assert!(err.to_string().contains("writable by nobody else"), "{err}");
    }
}
