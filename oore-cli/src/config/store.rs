//! Where the config file lives and how it is read and written: created with mode 0600
//! (set when the file is created, so it is never readable by others, not even briefly)
//! in a directory created with mode 0700, and replaced atomically (temp file + rename) so
//! an interrupted write never leaves half a file.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::Config;
use crate::error::CliError;

/// The config file's path: `OORE_CONFIG` when set and non-empty, else
/// `$HOME/.oore/config.huml`.
pub(crate) fn config_path(
    oore_config: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, CliError> {
    if let Some(path) = oore_config.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let home = home.filter(|h| !h.is_empty()).ok_or(CliError::NoHome)?;
    Ok(PathBuf::from(home).join(".oore").join("config.huml"))
}

/// A config read from disk.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The config.
    pub(crate) config: Config,
    /// True when group or others may read the file (it holds tokens).
    pub(crate) readable_by_others: bool,
}

/// Read the config; `Ok(None)` when the file does not exist.
pub(crate) fn load(path: &Path) -> Result<Option<Loaded>, CliError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(CliError::ConfigInvalid {
                path: path.to_owned(),
                reason: "it is not UTF-8 text".to_owned(),
            });
        }
        Err(source) => {
            return Err(CliError::ConfigRead {
                path: path.to_owned(),
                source,
            });
        }
    };
    let config = Config::from_huml(&text).map_err(|reason| CliError::ConfigInvalid {
        path: path.to_owned(),
        reason,
    })?;
    Ok(Some(Loaded {
        config,
        readable_by_others: readable_by_others(path),
    }))
}

/// Write the config atomically with mode 0600, creating the directory (mode 0700) if
/// needed.
pub(crate) fn save(path: &Path, config: &Config) -> Result<(), CliError> {
    write_atomically(path, config.to_huml().as_bytes()).map_err(|source| CliError::ConfigWrite {
        path: path.to_owned(),
        source,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir)?;
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    tmp_name.push(format!(".tmp-{}-{nanos}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut file = private_file_options().open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        // Make the rename durable; not every platform can open a directory, so best effort.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Options that create a new file readable only by its owner.
fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Create the directory and missing parents with mode 0700; existing ones are left as
/// they are.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AdminToken, Profile, ProfileName, ServerUrl};

    fn sample() -> Config {
        Config::new(
            ProfileName::new("default").unwrap(),
            Profile {
                server: ServerUrl::new("http://localhost:8080").unwrap(),
                admin_token: Some(AdminToken::new("tok_0123456789abcdef").unwrap()),
                ca_bundle: None,
            },
        )
    }

    #[test]
    fn path_prefers_oore_config_then_home() {
        let p = config_path(Some("/etc/x.huml".into()), Some("/home/a".into())).unwrap();
        assert_eq!(p, PathBuf::from("/etc/x.huml"));
        let p = config_path(Some("".into()), Some("/home/a".into())).unwrap();
        assert_eq!(p, PathBuf::from("/home/a/.oore/config.huml"));
        let p = config_path(None, Some("/home/a".into())).unwrap();
        assert_eq!(p, PathBuf::from("/home/a/.oore/config.huml"));
        assert!(matches!(config_path(None, None), Err(CliError::NoHome)));
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(".oore").join("config.huml");
        assert!(load(&path).unwrap().is_none());
        save(&path, &sample()).unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded.config, sample());
        assert!(!loaded.readable_by_others);
        // Saving again replaces the file and leaves no temp file behind.
        save(&path, &sample()).unwrap();
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("config.huml")]);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_0600_and_new_directories_0700() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("made").join("config.huml");
        save(&path, &sample()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&path).unwrap().unwrap().readable_by_others);
        save(&path, &sample()).unwrap();
        assert_eq!(mode(&path), 0o600, "a rewrite makes the file private again");
    }

    #[test]
    fn invalid_file_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.huml");
        fs::write(&path, "this is not huml\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(matches!(err, CliError::ConfigInvalid { .. }), "{err:?}");
    }
}
