//! Running the real `oore` binary in a sandbox: its own HOME and `OORE_CONFIG` in a temp
//! dir, no inherited environment, and helpers to assert on exit code and output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oore_testkit::TestServer;
use serde::de::DeserializeOwned;

/// A sandbox for one test: a temp HOME, a config path inside it, extra env vars.
pub(crate) struct Cli {
    dir: tempfile::TempDir,
    config: Option<PathBuf>,
    env: Vec<(String, String)>,
}

/// What one run of `oore` did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Cli {
    /// A sandbox whose config is `OORE_CONFIG=<tmp>/cfg/config.huml`.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("cfg").join("config.huml");
        Self {
            dir,
            config: Some(config),
            env: Vec::new(),
        }
    }

    /// A sandbox without `OORE_CONFIG`: the config is `$HOME/.oore/config.huml`.
    pub(crate) fn with_home_config() -> Self {
        Self {
            config: None,
            ..Self::new()
        }
    }

    /// The directory `oore` runs in.
    pub(crate) fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The fake home directory.
    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The config file's path.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.home().join(".oore").join("config.huml"))
    }

    /// Set an extra environment variable for every run.
    pub(crate) fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Run `oore args...`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Run `oore args...` with `stdin` on standard input.
    pub(crate) fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_oore"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home())
            .current_dir(self.dir.path());
        if let Some(config) = &self.config {
            command.env("OORE_CONFIG", config);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn oore");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let output = child.wait_with_output().expect("wait for oore");
        Run {
            code: output.status.code().expect("oore exited by a signal"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Starts `oore args...` without waiting, stdout and stderr piped (for commands
    /// that wait on something the test does, like `oore github setup`).
    pub(crate) fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_oore"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home())
            .current_dir(self.dir.path());
        if let Some(config) = &self.config {
            command.env("OORE_CONFIG", config);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn oore")
    }

    /// `oore config init` against `server`, asserting success.
    pub(crate) fn init(&self, server: &TestServer) {
        let url = server.url().to_string();
        let token = server.admin_token().to_string();
        self.run(&["config", "init", "--server", &url, "--token", &token])
            .ok();
    }
}

impl Run {
    /// Assert exit code 0 and return self.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    /// Assert the exit code and return self.
    #[track_caller]
    pub(crate) fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        self
    }

    /// Assert stdout contains `text`.
    #[track_caller]
    pub(crate) fn stdout_has(self, text: &str) -> Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    /// Assert stderr contains `text`.
    #[track_caller]
    pub(crate) fn stderr_has(self, text: &str) -> Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    /// Parse stdout as JSON of type `T`.
    #[track_caller]
    pub(crate) fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => value,
            Err(e) => panic!("stdout is not the expected JSON: {e}\n{self}"),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A `http://127.0.0.1:PORT` where nothing listens: bind, note the port, close.
pub(crate) fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// File mode bits.
#[cfg(unix)]
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}
