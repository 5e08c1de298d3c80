//! `oored init`: writes the env file with a fresh `ENCRYPTION_KEY` and
//! `OORE_ADMIN_TOKEN`, the data paths, and every other setting commented out with its
//! default. The file is created with mode 0600 (never readable by others, not even for
//! a moment), an existing one is replaced only with `--force` (atomically, through a
//! new file renamed over it), and the data and log directories are created.
//!
//! Run as root (a system service), it also writes `OORE_BUILD_USER`: a dedicated
//! account, [`DEFAULT_BUILD_USER`] unless `--build-user` names another, never the
//! invoking user (whose home holds the CLI's admin token) and never root. The data
//! directory is then searchable by others (0711: the build user reaches its workspaces
//! by name, lists nothing) instead of 0700.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oore_adapters::build_user::{BuildUser, effective_uid};
use oore_adapters::crypto::{EncryptionKey, random_token};

use crate::config::{VARS, check_user_name, quote_value};

/// Default env file.
pub const DEFAULT_ENV_FILE: &str = "/etc/oore/oore.env";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/oore";
/// The account `oored init` proposes for build steps when run as root.
pub const DEFAULT_BUILD_USER: &str = "oore-build";

/// What `oored init` was asked to do.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The env file to write.
    pub env_file: PathBuf,
    /// Holds `oore.db` and `workspaces/`.
    pub data_dir: PathBuf,
    /// Build logs; `data_dir/logs` when `None`.
    pub log_dir: Option<PathBuf>,
    /// Replace an existing env file.
    pub force: bool,
    /// `OORE_BUILD_USER` to write; `None`: [`DEFAULT_BUILD_USER`] when run as root,
    /// none otherwise (steps then run as the user who runs `oored`).
    pub build_user: Option<String>,
}

/// What `oored init` did.
#[derive(Debug)]
pub struct Initialized {
    /// The env file written.
    pub env_file: PathBuf,
    /// The new admin token, to show once.
    pub admin_token: String,
    /// True when an existing file was replaced.
    pub replaced: bool,
    /// The `OORE_BUILD_USER` written, and whether that account exists already.
    pub build_user: Option<(String, bool)>,
}

/// Why `oored init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// `--build-user` is not a usable account name.
    #[error("--build-user {0}: {1}")]
    BuildUser(String, String),
    /// The env file exists and `--force` was not given.
    #[error(
        "{} already exists; it holds the ENCRYPTION_KEY that stored secrets need, so it was left alone. \
         start the server with `oored run --env-file {}`, or pass --force to replace it (stored secrets become unreadable)",
        .0.display(), .0.display()
    )]
    Exists(PathBuf),
    /// A file or directory could not be written.
    #[error("cannot write {}: {}", path.display(), write_hint(source))]
    Write {
        /// What could not be written.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

fn write_hint(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "permission denied; run as root (sudo oored init) or pass --env-file PATH (and --data-dir DIR)".to_owned()
        }
        io::ErrorKind::StorageFull => "no space left on device; free some space and run oored init again".to_owned(),
        _ => format!("{e}; check the path or pass --env-file PATH"),
    }
}

/// Runs `oored init` (see the module doc).
pub fn init(options: &InitOptions) -> Result<Initialized, InitError> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let env_file = absolute(&options.env_file);
    let data_dir = absolute(&options.data_dir);
    let log_dir = options
        .log_dir
        .as_deref()
        .map_or_else(|| data_dir.join("logs"), absolute);
    let build_user = match &options.build_user {
        Some(name) => Some(name.clone()),
        None => (effective_uid() == 0).then(|| DEFAULT_BUILD_USER.to_owned()),
    };
    if let Some(name) = &build_user {
        check_user_name(name).map_err(|why| InitError::BuildUser(name.clone(), why))?;
        if name == "root" {
            return Err(InitError::BuildUser(
                name.clone(),
                "build steps as root could read the env file and the database: name a dedicated account (oore-build), or set OORE_BUILD_USER=root by hand if you really mean it".to_owned(),
            ));
        }
    }
    if !options.force && env_file.exists() {
        return Err(InitError::Exists(env_file));
    }
    let admin_token = random_token();
    let text = render(
        &EncryptionKey::generate().to_hex(),
        &admin_token,
        &data_dir,
        &log_dir,
        build_user.as_deref(),
    );
    // With a build user, the data directory lets it reach the workspaces (0711).
    let data_mode = if build_user.is_some() { 0o711 } else { 0o700 };
    for (dir, mode) in [(&data_dir, data_mode), (&log_dir, 0o700)] {
        DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(dir)
            .map_err(|source| InitError::Write {
                path: dir.clone(),
                source,
            })?;
    }
    let replaced = write_private(&env_file, &text, options.force)?;
    Ok(Initialized {
        env_file,
        admin_token,
        replaced,
        build_user: build_user.map(|name| {
            let exists = BuildUser::lookup(&name).is_ok();
            (name, exists)
        }),
    })
}

/// Writes `text` to `path` with mode 0600 from creation on. Without `force` the file
/// must not exist (checked atomically by `create_new`); with it, a new file is written
/// beside it and renamed over it. Returns whether a file was replaced.
fn write_private(path: &Path, text: &str, force: bool) -> Result<bool, InitError> {
    let err = |p: &Path| {
        let path = p.to_owned();
        move |source| InitError::Write { path, source }
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(err(path))?;
    }
    let existed = path.exists();
    let target = if force {
        path.with_extension(format!("tmp-{}", std::process::id()))
    } else {
        path.to_owned()
    };
    let write = || -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    match write() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !force => {
            return Err(InitError::Exists(path.to_owned()));
        }
        Err(e) => {
            // Created but not fully written: do not leave half a file behind.
            let _ = fs::remove_file(&target);
            return Err(err(path)(e));
        }
        Ok(()) => {}
    }
    if force {
        fs::rename(&target, path).map_err(|e| {
            let _ = fs::remove_file(&target);
            err(path)(e)
        })?;
    }
    Ok(existed)
}

/// The env file's text.
fn render(
    key_hex: &str,
    admin_token: &str,
    data_dir: &Path,
    log_dir: &Path,
    build_user: Option<&str>,
) -> String {
    let path = |p: PathBuf| quote_value(&p.to_string_lossy());
    let mut out = format!(
        "# Oore server settings, written by `oored init`. Read by `oored run --env-file <this file>`;\n\
         # variables set in the process environment override these values.\n\
         # Keep this file private (mode 0600): it holds secrets.\n\
         \n\
         # Encrypts stored secrets (webhook secrets, tokens). Back it up with the database:\n\
         # without this exact key, stored secrets cannot be read. Do not change it.\n\
         ENCRYPTION_KEY={key_hex}\n\
         \n\
         # The API token for the CLI and the web UI (`Authorization: Bearer <token>`).\n\
         OORE_ADMIN_TOKEN={admin_token}\n\
         \n\
         # SQLite database; its directory is the data directory (one oored at a time).\n\
         DATABASE_URL={}\n\
         # Build workspaces and build logs.\n\
         OORE_WORKSPACES_DIR={}\n\
         OORE_LOGS_DIR={}\n",
        path(data_dir.join("oore.db")),
        path(data_dir.join("workspaces")),
        path(log_dir.to_owned()),
    );
    if let Some(name) = build_user {
        out.push_str(&format!(
            "\n# Build steps run as this account, so they cannot read this file, the database or\n\
             # the key. A dedicated one: not root, not a person's (their home holds the CLI's\n\
             # admin token). Create it before starting the server.\n\
             OORE_BUILD_USER={name}\n"
        ));
    }
    out.push_str("\n# Optional settings, shown with their defaults. Uncomment to change.\n");
    let mut written = vec![
        "ENCRYPTION_KEY",
        "OORE_ADMIN_TOKEN",
        "DATABASE_URL",
        "OORE_WORKSPACES_DIR",
        "OORE_LOGS_DIR",
    ];
    if build_user.is_some() {
        written.push("OORE_BUILD_USER");
    }
    for var in VARS.iter().filter(|v| !written.contains(&v.name)) {
        out.push_str(&format!(
            "\n# {}\n# {}={}\n",
            var.help,
            var.name,
            var.default.unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::config::{Config, parse_env_file};

    fn options(dir: &Path, force: bool) -> InitOptions {
        InitOptions {
            env_file: dir.join("etc/oore.env"),
            data_dir: dir.join("data dir"),
            log_dir: None,
            force,
            build_user: None,
        }
    }

    #[test]
    fn writes_a_private_file_that_run_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let done = init(&options(dir.path(), false)).unwrap();
        assert!(!done.replaced);
        let mode = fs::metadata(&done.env_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let entries: BTreeMap<String, String> =
            parse_env_file(&fs::read_to_string(&done.env_file).unwrap())
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(entries["OORE_ADMIN_TOKEN"], done.admin_token);
        assert_eq!(entries["ENCRYPTION_KEY"].len(), 64);
        assert_eq!(
            entries["DATABASE_URL"],
            dir.path().join("data dir/oore.db").to_string_lossy()
        );
        assert_eq!(
            entries["OORE_LOGS_DIR"],
            dir.path().join("data dir/logs").to_string_lossy()
        );
        assert!(dir.path().join("data dir/logs").is_dir());
        let (config, warnings) = Config::from_vars(&entries, &|_| Ok(())).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.admin_token.expose(), done.admin_token);
    }

    #[test]
    fn every_optional_setting_is_listed_commented_out() {
        let text = render("k", "t", Path::new("/d"), Path::new("/l"), None);
        for var in VARS {
            assert!(
                text.contains(&format!("{}=", var.name)),
                "{} missing",
                var.name
            );
        }
        assert!(
            text.contains("\n# OORE_BIND_ADDRESS=0.0.0.0:8080\n"),
            "{text}"
        );
    }

    #[test]
    fn a_dedicated_build_user_is_proposed_as_root_and_never_root_itself() {
        let dir = tempfile::tempdir().unwrap();
        let done = init(&options(dir.path(), false)).unwrap();
        let text = fs::read_to_string(&done.env_file).unwrap();
        let data_mode = fs::metadata(dir.path().join("data dir"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        if effective_uid() == 0 {
            assert_eq!(
                done.build_user.as_ref().map(|(n, _)| n.as_str()),
                Some(DEFAULT_BUILD_USER)
            );
            assert!(text.contains("\nOORE_BUILD_USER=oore-build\n"), "{text}");
            assert_eq!(data_mode, 0o711);
        } else {
            assert_eq!(done.build_user, None);
            assert!(text.contains("\n# OORE_BUILD_USER=\n"), "{text}");
            assert_eq!(data_mode, 0o700);
        }

        let mut named = options(&dir.path().join("named"), false);
        named.build_user = Some("ci-builds".into());
        let done = init(&named).unwrap();
        assert_eq!(done.build_user, Some(("ci-builds".to_owned(), false)));
        let text = fs::read_to_string(&done.env_file).unwrap();
        assert!(text.contains("\nOORE_BUILD_USER=ci-builds\n"), "{text}");
        assert!(!text.contains("# OORE_BUILD_USER="), "written once: {text}");
        let entries: BTreeMap<String, String> =
            parse_env_file(&text).unwrap().into_iter().collect();
        Config::from_vars(&entries, &|_| Ok(())).unwrap();

        for bad in ["root", "not a name"] {
            let mut o = options(&dir.path().join("bad"), false);
            o.build_user = Some(bad.into());
            let err = init(&o).unwrap_err();
            assert!(matches!(err, InitError::BuildUser(..)), "{bad}: {err}");
            assert!(!dir.path().join("bad/etc/oore.env").exists());
        }
    }

    #[test]
    fn refuses_to_overwrite_without_force_and_replaces_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = init(&options(dir.path(), false)).unwrap();
        let before = fs::read_to_string(&first.env_file).unwrap();
        let err = init(&options(dir.path(), false)).unwrap_err();
        assert!(matches!(err, InitError::Exists(_)));
        assert!(err.to_string().contains("pass --force"), "{err}");
        assert_eq!(fs::read_to_string(&first.env_file).unwrap(), before);

        fs::set_permissions(&first.env_file, fs::Permissions::from_mode(0o644)).unwrap();
        let second = init(&options(dir.path(), true)).unwrap();
        assert!(second.replaced);
        assert_ne!(second.admin_token, first.admin_token);
        assert_eq!(
            fs::metadata(&second.env_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("etc")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
    }
}
