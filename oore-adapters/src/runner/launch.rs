//! How a step's shell is started, and as whom: the [`StepLauncher`] port of the runner.
//!
//! * [`AsServer`]: as `oored`'s own user (an ordinary user, or root when
//!   `OORE_BUILD_USER=root` was asked for).
//! * [`DropPrivileges`] (Linux, and any Unix where steps need no login session): `oored`
//!   runs as root; in the child, before `exec`, the supplementary groups, the gid and the
//!   uid are set to the build user's (in that order, so nothing of root's is left), the
//!   umask to 022, and only then the working directory is entered, with the build user's
//!   permissions.
//! * [`LoginSession`] (macOS): iOS code signing needs the build user's keychain, which
//!   lives in that user's login session; a process that merely changed its uid is outside
//!   it. `oored` runs as a LaunchDaemon (root) and starts each step as
//!   `launchctl asuser <uid> sudo -E -n -u <user> -- <shell> <script>`: `launchctl
//!   asuser` enters the user's bootstrap (session) namespace, `sudo` drops to the user
//!   keeping the step's environment (which `launchctl` passes on). `oored`'s own
//!   environment, env file and database stay root's. See `docs/macos-checklist.md`.
//!
//! The runner adds the environment, the pipes, stdin and the new process group to the
//! command a launcher returns. Tests drive [`LoginSession`] on Linux with stand-ins for
//! `launchctl` and `sudo` ([`LoginSession::with_programs`]).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::process::Command;

use super::sys;
use crate::build_user::{BuildUser, effective_uid};

/// Starts step shells as some user (module doc).
pub trait StepLauncher: Send + Sync + fmt::Debug {
    /// The command that runs `shell script` in `working_dir`.
    fn command(&self, shell: &Path, script: &Path, working_dir: &Path) -> Command;

    /// The user and group step processes run as when not `oored`'s own: their script
    /// files are given to them, and the sweep looks at their processes too.
    fn step_owner(&self) -> Option<(u32, u32)>;
}

/// Steps run as `oored`'s own user.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsServer;

impl StepLauncher for AsServer {
    fn command(&self, shell: &Path, script: &Path, working_dir: &Path) -> Command {
        let mut cmd = Command::new(shell);
        cmd.arg(script).current_dir(working_dir);
        cmd
    }

    fn step_owner(&self) -> Option<(u32, u32)> {
        None
    }
}

/// Steps run as the build user, switched to in the child before `exec`.
#[derive(Debug, Clone)]
pub struct DropPrivileges {
    user: BuildUser,
}

impl DropPrivileges {
    /// Steps run as `user` (needs `oored` to run as root).
    pub fn new(user: BuildUser) -> Self {
        Self { user }
    }
}

impl StepLauncher for DropPrivileges {
    fn command(&self, shell: &Path, script: &Path, working_dir: &Path) -> Command {
        let mut cmd = Command::new(shell);
        cmd.arg(script);
        sys::become_user_on_exec(&mut cmd, &self.user, working_dir);
        cmd
    }

    fn step_owner(&self) -> Option<(u32, u32)> {
        Some((self.user.uid, self.user.gid))
    }
}

/// Steps run in the build user's login session (macOS; module doc).
#[derive(Debug, Clone)]
pub struct LoginSession {
    user: BuildUser,
    launchctl: PathBuf,
    sudo: PathBuf,
}

impl LoginSession {
    /// Through `/bin/launchctl` and `/usr/bin/sudo`.
    pub fn new(user: BuildUser) -> Self {
        Self::with_programs(user, "/bin/launchctl", "/usr/bin/sudo")
    }

    /// Through other programs taking the same arguments (tests use stand-ins).
    pub fn with_programs(
        user: BuildUser,
        launchctl: impl Into<PathBuf>,
        sudo: impl Into<PathBuf>,
    ) -> Self {
        Self {
            user,
            launchctl: launchctl.into(),
            sudo: sudo.into(),
        }
    }
}

impl StepLauncher for LoginSession {
    fn command(&self, shell: &Path, script: &Path, working_dir: &Path) -> Command {
        let mut cmd = Command::new(&self.launchctl);
        let args: [OsString; 10] = [
            "asuser".into(),
            self.user.uid.to_string().into(),
            self.sudo.clone().into(),
            "-E".into(),
            "-n".into(),
            "-u".into(),
            self.user.name.clone().into(),
            "--".into(),
            shell.into(),
            script.into(),
        ];
        cmd.args(args).current_dir(working_dir);
        cmd
    }

    fn step_owner(&self) -> Option<(u32, u32)> {
        Some((self.user.uid, self.user.gid))
    }
}

/// The launcher for steps running as `user` (`None`: as `oored`): `oored`'s own user
/// needs no switch; otherwise the login session on macOS, dropped privileges elsewhere.
pub fn launcher_for(user: Option<BuildUser>) -> Arc<dyn StepLauncher> {
    match user {
        None => Arc::new(AsServer),
        Some(user) if user.uid == effective_uid() => Arc::new(AsServer),
        Some(user) if cfg!(target_os = "macos") => Arc::new(LoginSession::new(user)),
        Some(user) => Arc::new(DropPrivileges::new(user)),
    }
}
