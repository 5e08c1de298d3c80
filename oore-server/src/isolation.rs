//! Keeping builds away from what `oored` knows (its settings, the env file, the
//! database and the key that decrypts every stored secret).
//!
//! * **Who steps run as** ([`StepsRunAs::resolve`], at startup): an ordinary `oored`
//!   runs them as itself (today's behaviour; they can then read whatever `oored` can,
//!   which the README says plainly). `oored` running as root needs `OORE_BUILD_USER`:
//!   steps run as that account, and `OORE_BUILD_USER=root` keeps them root only when
//!   asked for by name, with a warning at every start.
//! * **Private files** ([`prepare`]): with a build user, the database (and its WAL and
//!   shared-memory files), the lock, the env file and the logs directory are made
//!   unreadable by others if they were not, and the workspaces directory is made
//!   reachable (searchable, not listable) for the build user.
//! * **`oored`'s own environment** ([`scrub_environment`]): once the settings are read,
//!   every server setting is removed from the process environment and, on Linux, its
//!   bytes are overwritten in the initial environment block that `/proc/<pid>/environ`
//!   shows, so a step of the same user cannot read them there either. Steps never
//!   inherit it anyway: their environment is built from nothing (`execution`).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oore_adapters::build_user::{BuildUser, BuildUserError, effective_uid};

use crate::config::{Config, VARS};

/// As whom build steps run.
#[derive(Debug, Clone)]
pub enum StepsRunAs {
    /// `oored`'s own user (not root): no switch.
    Server,
    /// Root, because `OORE_BUILD_USER=root` asked for it.
    RootOnPurpose,
    /// The build user; `oored` runs as root.
    BuildUser(BuildUser),
}

/// Why the build user setting cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    /// Root without `OORE_BUILD_USER`.
    #[error(
        "oored runs as root, so build steps need an account of their own, or they could read the env file, the database and the encryption key: \
         create one (Linux: `useradd --system --create-home --home-dir /var/lib/oore-build oore-build`) and set OORE_BUILD_USER=oore-build; \
         OORE_BUILD_USER=root runs them as root, which gives every build the server's secrets"
    )]
    RootWithoutBuildUser,
    /// `OORE_BUILD_USER` names another account, but `oored` cannot switch users.
    #[error(
        "OORE_BUILD_USER={wanted} needs oored to run as root to start steps as another user; oored runs as {me}: start it as root (a system service), or unset OORE_BUILD_USER to run steps as {me}"
    )]
    NotRoot {
        /// The setting.
        wanted: String,
        /// `oored`'s user.
        me: String,
    },
    /// The account does not exist or cannot be looked up.
    #[error(
        "OORE_BUILD_USER={0}: {1}; create the account (Linux: `useradd --system --create-home --home-dir /var/lib/oore-build {0}`) or set OORE_BUILD_USER to an existing one"
    )]
    Lookup(String, BuildUserError),
    /// The build user cannot reach the workspaces directory.
    #[error(
        "the build user {user} cannot reach OORE_WORKSPACES_DIR ({workspaces}): {blocked} is not searchable by it; put the workspaces elsewhere or run `chmod o+x {blocked}`"
    )]
    Unreachable {
        /// The build user.
        user: String,
        /// The workspaces directory.
        workspaces: PathBuf,
        /// The directory in the way.
        blocked: PathBuf,
    },
    /// A file or directory could not be inspected or changed.
    #[error("cannot {what} {}: {source}; check the permissions of the data directory", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl StepsRunAs {
    /// Applies the rules of the module doc to `OORE_BUILD_USER` for a process of
    /// effective uid `euid`.
    pub fn resolve(setting: Option<&str>, euid: u32) -> Result<Self, IsolationError> {
        match (setting, euid) {
            (None, 0) => Err(IsolationError::RootWithoutBuildUser),
            (None, _) => Ok(Self::Server),
            (Some(name), 0) => {
                let user = BuildUser::lookup(name)
                    .map_err(|e| IsolationError::Lookup(name.to_owned(), e))?;
                Ok(if user.is_root() {
                    Self::RootOnPurpose
                } else {
                    Self::BuildUser(user)
                })
            }
            (Some(name), _) => {
                let me = BuildUser::current().ok().flatten();
                match me {
                    Some(me) if me.name == name => Ok(Self::Server),
                    me => Err(IsolationError::NotRoot {
                        wanted: name.to_owned(),
                        me: me.map_or_else(|| format!("uid {euid}"), |m| m.name),
                    }),
                }
            }
        }
    }

    /// The build user, when steps run as one.
    pub fn build_user(&self) -> Option<&BuildUser> {
        match self {
            Self::BuildUser(user) => Some(user),
            _ => None,
        }
    }

    /// Logs how steps run, once at startup (a warning when they run as root).
    pub fn log(&self) {
        match self {
            Self::Server => tracing::info!(
                "build steps run as oored's own user: they can read the env file and the database; run oored as root with OORE_BUILD_USER to keep them out"
            ),
            Self::RootOnPurpose => tracing::warn!(
                "OORE_BUILD_USER=root: build steps run as root and can read the env file, the database and the encryption key; set OORE_BUILD_USER to a dedicated account"
            ),
            Self::BuildUser(user) => tracing::info!(
                build_user = %user.name,
                uid = user.uid,
                "build steps run as {} (uid {})",
                user.name,
                user.uid
            ),
        }
    }
}

/// Makes `oored`'s files private and the workspaces reachable for the build user (module
/// doc). Does nothing unless steps run as a build user. Returns what it changed, to log.
pub fn prepare(config: &Config, runs_as: &StepsRunAs) -> Result<Vec<String>, IsolationError> {
    let Some(user) = runs_as.build_user() else {
        return Ok(Vec::new());
    };
    let mut changed = Vec::new();
    let db = &config.database_path;
    let mut private: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect();
    private.push(config.data_dir().join(oore_adapters::lock::LOCK_FILE));
    private.push(config.logs_dir.clone());
    for path in &private {
        if let Some(note) = make_private(path)? {
            changed.push(note);
        }
    }
    changed.extend(reach_workspaces(config, user)?);
    Ok(changed)
}

/// The env file, private too when steps run as a build user.
pub fn prepare_env_file(
    path: &Path,
    runs_as: &StepsRunAs,
) -> Result<Option<String>, IsolationError> {
    if runs_as.build_user().is_none() {
        return Ok(None);
    }
    make_private(path)
}

/// Removes group and other permissions from `path` if it has any; `None` when it is
/// missing or already private.
fn make_private(path: &Path) -> Result<Option<String>, IsolationError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(IsolationError::Io {
                what: "inspect",
                path: path.to_owned(),
                source,
            });
        }
    };
    let mode = meta.mode() & 0o7777;
    if meta.file_type().is_symlink() || mode & 0o077 == 0 {
        return Ok(None);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700)).map_err(|source| {
        IsolationError::Io {
            what: "make private",
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(Some(format!(
        "made {} private to oored (mode {:o} -> {:o}) so build steps cannot read it",
        path.display(),
        mode,
        mode & 0o700
    )))
}

/// Creates the workspaces directory if needed and makes every directory on its path
/// searchable by `user`: those inside the data directory (or the workspaces directory
/// itself) and owned by `oored` get `o+x`; any other one in the way is an error.
fn reach_workspaces(config: &Config, user: &BuildUser) -> Result<Vec<String>, IsolationError> {
    let workspaces = std::path::absolute(&config.workspaces_dir)
        .unwrap_or_else(|_| config.workspaces_dir.clone());
    let data_dir =
        std::path::absolute(config.data_dir()).unwrap_or_else(|_| config.data_dir().to_owned());
    fs::create_dir_all(&workspaces).map_err(|source| IsolationError::Io {
        what: "create",
        path: workspaces.clone(),
        source,
    })?;
    let mut changed = Vec::new();
    for dir in workspaces.ancestors() {
        let meta = fs::metadata(dir).map_err(|source| IsolationError::Io {
            what: "inspect",
            path: dir.to_owned(),
            source,
        })?;
        let mode = meta.mode() & 0o7777;
        if user.may_search(meta.uid(), meta.gid(), mode) {
            continue;
        }
        let ours = dir.starts_with(&data_dir) || dir == workspaces;
        if !ours || meta.uid() != effective_uid() {
            return Err(IsolationError::Unreachable {
                user: user.name.clone(),
                workspaces: workspaces.clone(),
                blocked: dir.to_owned(),
            });
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o001)).map_err(|source| {
            IsolationError::Io {
                what: "make searchable",
                path: dir.to_owned(),
                source,
            }
        })?;
        changed.push(format!(
            "made {} searchable by others (mode {:o} -> {:o}, not listable) so the build user reaches its workspaces",
            dir.display(),
            mode,
            mode | 0o001
        ));
    }
    Ok(changed)
}

/// Every variable that is a server setting: the table's names and `OORE_*`.
fn is_setting(name: &str) -> bool {
    VARS.iter().any(|v| v.name == name) || name.starts_with("OORE_")
}

/// Removes every server setting from this process's environment and, on Linux, blanks
/// its bytes in the initial environment block (module doc). Returns how many were
/// removed.
///
/// # Safety
/// Must be called while this process has one thread (before the async runtime and
/// anything else that starts threads): the environment is changed in place.
pub unsafe fn scrub_environment() -> usize {
    // SAFETY: the caller promises a single thread.
    unsafe { oore_adapters::process_env::scrub(is_setting) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_needs_a_build_user_and_others_cannot_switch() {
        assert!(matches!(
            StepsRunAs::resolve(None, 0),
            Err(IsolationError::RootWithoutBuildUser)
        ));
        assert!(matches!(
            StepsRunAs::resolve(Some("root"), 0),
            Ok(StepsRunAs::RootOnPurpose)
        ));
        assert!(matches!(
            StepsRunAs::resolve(Some("oore-no-such-account"), 0),
            Err(IsolationError::Lookup(..))
        ));
        assert!(matches!(
            StepsRunAs::resolve(None, 1000),
            Ok(StepsRunAs::Server)
        ));
        let err = StepsRunAs::resolve(Some("someone-else"), 4_000_000).unwrap_err();
        assert!(
            err.to_string().contains("needs oored to run as root"),
            "{err}"
        );
        let message = IsolationError::RootWithoutBuildUser.to_string();
        assert!(message.contains("OORE_BUILD_USER=oore-build"), "{message}");
    }

    #[test]
    fn settings_are_recognised() {
        for name in [
            "ENCRYPTION_KEY",
            "OORE_ADMIN_TOKEN",
            "DATABASE_URL",
            "RUST_LOG",
            "OORE_NEW",
        ] {
            assert!(is_setting(name), "{name}");
        }
        for name in ["PATH", "HOME", "ANDROID_HOME"] {
            assert!(!is_setting(name), "{name}");
        }
    }
}
