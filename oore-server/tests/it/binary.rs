//! The `oored` binary: `init`, startup errors, the data-directory lock, a busy port,
//! SIGTERM, and JSON logs. Every wait polls a condition with a deadline.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oore_testkit::http::{get, request};

pub(crate) const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
pub(crate) const TOKEN: &str = "binary-test-admin-token-0123456789";
const DEADLINE: Duration = Duration::from_secs(30);

pub(crate) fn oored() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oored"));
    command.env_clear().stdin(Stdio::null());
    command
}

/// `oored run` settings for a data directory inside `dir`, bound to a free port (and,
/// as root, `OORE_BUILD_USER=root`, which root needs to start).
pub(crate) fn run_env(dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("ENCRYPTION_KEY", KEY.to_owned()),
        ("OORE_ADMIN_TOKEN", TOKEN.to_owned()),
        (
            "DATABASE_URL",
            dir.join("data/oore.db").to_string_lossy().into_owned(),
        ),
        (
            "OORE_WORKSPACES_DIR",
            dir.join("data/workspaces").to_string_lossy().into_owned(),
        ),
        (
            "OORE_LOGS_DIR",
            dir.join("data/logs").to_string_lossy().into_owned(),
        ),
        ("OORE_BIND_ADDRESS", "127.0.0.1:0".to_owned()),
        ("OORE_SHUTDOWN_GRACE_SECS", "2".to_owned()),
    ];
    if oore_adapters::build_user::effective_uid() == 0 {
        env.push(("OORE_BUILD_USER", "root".to_owned()));
    }
    env
}

/// Runs `oored run` to completion with `env`, an empty env file, and returns its output.
fn run_to_exit(dir: &Path, env: &[(&str, String)]) -> Output {
    let env_file = dir.join("empty.env");
    std::fs::write(&env_file, "").unwrap();
    let mut command = oored();
    command
        .arg("run")
        .arg("--env-file")
        .arg(&env_file)
        .envs(env.iter().map(|(k, v)| (k, v)));
    wait_output(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits for a child that must exit by itself, within the deadline.
fn wait_output(mut child: Child) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("oored did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A running `oored run`, with its stderr collected by a reader thread.
pub(crate) struct Daemon {
    pub(crate) child: Child,
    log: Arc<Mutex<String>>,
    pub(crate) url: String,
}

impl Daemon {
    pub(crate) fn start(env_file: &Path, env: &[(&str, String)]) -> Daemon {
        let mut command = oored();
        command
            .arg("run")
            .arg("--env-file")
            .arg(env_file)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut daemon = Daemon {
            child,
            log,
            url: String::new(),
        };
        let line = daemon.wait_for_log("listening on http://");
        let rest = &line[line.find("listening on http://").unwrap() + "listening on ".len()..];
        daemon.url = rest.split([' ', '"']).next().unwrap().to_owned();
        daemon
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle` and returns it.
    pub(crate) fn wait_for_log(&mut self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "oored exited ({status}) before logging {needle:?}:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no {needle:?} in the log within {DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "oored ignored SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn env_file_with(dir: &Path, env: &[(&str, String)]) -> PathBuf {
    let path = dir.join("oore.env");
    let text: String = env.iter().map(|(k, v)| format!("{k}=\"{v}\"\n")).collect();
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn init_writes_a_private_env_file_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("etc/oore.env");
    let init = |extra: &[&str]| {
        let mut command = oored();
        command
            .arg("init")
            .arg("--env-file")
            .arg(&env_file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(extra);
        command.output().unwrap()
    };
    let first = init(&[]);
    assert!(first.status.success(), "{first:?}");
    let stdout = String::from_utf8(first.stdout).unwrap();
    let text = std::fs::read_to_string(&env_file).unwrap();
    assert_eq!(
        std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}:\n{text}"))
            .to_owned()
    };
    let key = value("ENCRYPTION_KEY");
    assert!(
        key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    let token = value("OORE_ADMIN_TOKEN");
    assert!(token.len() >= 16);
    assert!(
        stdout.contains(&token),
        "the token is shown once:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("oored run --env-file {}", env_file.display())),
        "{stdout}"
    );
    assert!(stdout.contains("oore config init --server"), "{stdout}");
    if oore_adapters::build_user::effective_uid() == 0 {
        // As root: a dedicated account for build steps, never root or the invoking user.
        assert!(text.contains("\nOORE_BUILD_USER=oore-build\n"), "{text}");
        assert!(
            stdout.contains("useradd --system")
                || stdout.contains("build steps will run as oore-build"),
            "{stdout}"
        );
    }
    assert_eq!(
        value("DATABASE_URL"),
        dir.path().join("data/oore.db").to_string_lossy()
    );

    let second = init(&[]);
    assert!(!second.status.success());
    let stderr = String::from_utf8(second.stderr).unwrap();
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        text,
        "the existing file was changed"
    );

    let forced = init(&["--force"]);
    assert!(forced.status.success(), "{forced:?}");
    assert_ne!(std::fs::read_to_string(&env_file).unwrap(), text);
    assert_eq!(
        std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn init_explains_a_path_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let output = oored()
        .args(["init", "--env-file"])
        .arg(blocker.join("oore.env"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "cannot write {}",
            blocker.join("oore.env").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--env-file PATH"), "{stderr}");
}

#[test]
fn run_rejects_a_malformed_key_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = run_env(dir.path());
    env[0].1 = "not-hex".to_owned();
    let output = run_to_exit(dir.path(), &env);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("ENCRYPTION_KEY must be 64 hex characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-hex"), "the key was printed: {stderr}");
}

#[test]
fn run_without_key_or_token_prints_setup_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<_> = run_env(dir.path()).into_iter().skip(2).collect();
    let output = run_to_exit(dir.path(), &env);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid configuration (2 problems)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ENCRYPTION_KEY is not set") && stderr.contains("openssl rand -hex 32"),
        "{stderr}"
    );
    assert!(
        stderr.contains("OORE_ADMIN_TOKEN is not set") && stderr.contains("sudo oored init"),
        "{stderr}"
    );
}

#[test]
fn a_missing_explicit_env_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = oored()
        .args(["run", "--env-file"])
        .arg(dir.path().join("nope.env"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("no such file; create it with `sudo oored init`"),
        "{stderr}"
    );
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused_while_the_first_serves() {
    let dir = tempfile::tempdir().unwrap();
    let env = run_env(dir.path());
    let env_file = env_file_with(dir.path(), &env);
    let mut first = Daemon::start(&env_file, &[]);
    assert!(first.log().contains("settings read"), "{}", first.log());

    let output = run_to_exit(dir.path(), &env);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let expected = format!(
        "database is locked by another oored (pid {})",
        first.child.id()
    );
    assert!(stderr.contains(&expected), "{stderr}");

    let health = get(&format!("{}/api/health", first.url), None);
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("healthy"))
    );
    assert!(first.terminate().success());
}

#[test]
fn a_busy_port_names_oore_bind_address() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env = run_env(dir.path());
    env.push(("OORE_BIND_ADDRESS", taken.local_addr().unwrap().to_string()));
    let output = run_to_exit(dir.path(), &env);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let expected = format!(
        "cannot listen on {}: address already in use",
        taken.local_addr().unwrap()
    );
    assert!(
        stderr.contains(&expected) && stderr.contains("set OORE_BIND_ADDRESS="),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_gracefully_with_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let env = run_env(dir.path());
    let env_file = env_file_with(dir.path(), &[]);
    let mut daemon = Daemon::start(&env_file, &env);
    assert_eq!(get(&format!("{}/api/health", daemon.url), None).status, 200);
    // A client that sent half a request: shutdown waits for it only up to the grace period.
    let addr = daemon.url.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(&mut slow, b"GET /api/health HTTP/1.1\r\nHost: x\r\n").unwrap();

    let started = Instant::now();
    let status = daemon.terminate();
    assert!(status.success(), "exit status {status}:\n{}", daemon.log());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown ignored the grace period"
    );
    let log = daemon.log();
    assert!(
        log.contains("SIGTERM received") && log.contains("stopped; data directory released"),
        "{log}"
    );
    // The port is closed and the lock released: the next server starts.
    let mut next = Daemon::start(&env_file, &env);
    assert!(next.terminate().success());
}

#[test]
fn json_logs_carry_the_request_id_on_every_request_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = run_env(dir.path());
    env.push(("OORE_LOG_FORMAT", "json".to_owned()));
    env.push(("OORE_MAX_BUILDZ", "3".to_owned()));
    let env_file = env_file_with(dir.path(), &[]);
    let mut daemon = Daemon::start(&env_file, &env);
    let rid = "01JD000000000000000000JS0N";
    let response = request(
        "GET",
        &format!("{}/api/repositories", daemon.url),
        &[("X-Request-Id", rid)],
        None,
    )
    .unwrap();
    assert_eq!(response.status, 401);
    daemon.wait_for_log("request finished");
    assert!(daemon.terminate().success());

    let log = daemon.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request_lines: Vec<_> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == rid)
        .collect();
    let messages: Vec<&str> = request_lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "rejected: missing or invalid admin token",
            "request finished"
        ],
        "{log}"
    );
    assert!(
        log.contains(
            "unknown setting OORE_MAX_BUILDZ is ignored; did you mean OORE_MAX_CONCURRENT_BUILDS?"
        ),
        "{log}"
    );
    assert!(
        !log.contains(TOKEN) && !log.contains(KEY),
        "a secret was logged"
    );
}

/// The GitHub App through the `oored` binary with every log line on: setup through the
/// browser, a sync (JWTs, installation tokens), a key rotation. No secret GitHub handed
/// out, no token and no key line appears in the log.
#[test]
fn github_secrets_never_reach_the_log() {
    use oore_testkit::github::{FakeGitHub, browser, keys};

    let fake = FakeGitHub::builder().installation(7, "acme", 2).start();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = run_env(dir.path());
    env.retain(|(k, _)| *k != "OORE_BIND_ADDRESS");
    env.push(("OORE_BIND_ADDRESS", format!("127.0.0.1:{port}")));
    env.push(("OORE_BASE_URL", format!("http://127.0.0.1:{port}")));
    env.push(("OORE_GITHUB_URL", fake.url()));
    env.push(("OORE_GITHUB_API_URL", fake.api_url()));
    env.push(("RUST_LOG", "trace".to_owned()));
    let env_file = env_file_with(dir.path(), &[]);
    let mut daemon = Daemon::start(&env_file, &env);
    let auth = [("Authorization", format!("Bearer {TOKEN}"))];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut json_auth = auth.clone();
    json_auth.push(("Content-Type", "application/json"));
    let started = request(
        "POST",
        &format!("{}/api/github/setup", daemon.url),
        &json_auth,
        Some(b"{}"),
    )
    .unwrap();
    assert_eq!(started.status, 201, "{}", started.text());
    let url = started.json()["setup_url"].as_str().unwrap().to_owned();
    let (_, callback) = browser::complete_setup(&url);
    assert_eq!(callback.status, 303, "{}", callback.text());
    let sync = request(
        "POST",
        &format!("{}/api/github/sync", daemon.url),
        &auth,
        None,
    )
    .unwrap();
    assert_eq!(sync.status, 200, "{}", sync.text());
    fake.add_app_key(keys::APP_KEY_2);
    let body = serde_json::json!({ "private_key": keys::APP_KEY_2 }).to_string();
    let rotated = request(
        "PUT",
        &format!("{}/api/github/app/private-key", daemon.url),
        &json_auth,
        Some(body.as_bytes()),
    )
    .unwrap();
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    daemon.wait_for_log("GitHub App private key rotated");
    assert!(daemon.terminate().success());
    let log = daemon.log();
    assert!(log.contains("GitHub App created and stored"), "{log}");
    let mut secrets = fake.secrets();
    secrets.extend(
        keys::APP_KEY_2
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_owned),
    );
    assert!(secrets.len() > 10);
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "a GitHub secret was logged: {secret}"
        );
    }
    assert!(!log.contains("BEGIN RSA PRIVATE KEY"));
}

#[test]
fn run_refuses_a_github_ca_bundle_without_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = run_env(dir.path());
    let missing = dir.path().join("missing.pem");
    env.push((
        "OORE_GITHUB_CA_BUNDLE",
        missing.to_string_lossy().into_owned(),
    ));
    let output = run_to_exit(dir.path(), &env);
    assert_eq!(output.status.code(), Some(2), "checked with the settings");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("OORE_GITHUB_CA_BUNDLE") && stderr.contains("does not exist"),
        "{stderr}"
    );

    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, "no certificate here\n").unwrap();
    env.pop();
    env.push((
        "OORE_GITHUB_CA_BUNDLE",
        bundle.to_string_lossy().into_owned(),
    ));
    let output = run_to_exit(dir.path(), &env);
    assert_eq!(output.status.code(), Some(1), "refused at startup");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("OORE_GITHUB_CA_BUNDLE") && stderr.contains("BEGIN CERTIFICATE"),
        "{stderr}"
    );
}

#[test]
fn a_key_that_does_not_match_the_database_refuses_to_start_naming_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = run_env(dir.path());
    assert_eq!(
        env.remove(0).0,
        "ENCRYPTION_KEY",
        "the key comes from the env file"
    );
    let env_file = env_file_with(dir.path(), &[("ENCRYPTION_KEY", KEY.to_owned())]);
    let mut daemon = Daemon::start(&env_file, &env);
    daemon.wait_for_log("ENCRYPTION_KEY check value created");
    let added = oore_testkit::http::send(
        "POST",
        &format!("{}/api/repositories", daemon.url),
        Some(TOKEN),
        Some(&serde_json::json!({
            "provider": "github", "owner": "acme", "name": "app", "webhook_secret": "s3cret",
            "clone_url": "https://x-access-token:t0ken@github.com/acme/app.git",
        })),
    );
    assert_eq!(added.status, 201, "{}", added.text());
    let status = daemon.terminate();
    assert!(status.success(), "{status}:\n{}", daemon.log());

    // `oored init --force` run by mistake: a new, well-formed key.
    let other = "fe".repeat(32);
    env_file_with(dir.path(), &[("ENCRYPTION_KEY", other.clone())]);
    let mut command = oored();
    command
        .arg("run")
        .arg("--env-file")
        .arg(&env_file)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let output = wait_output(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ENCRYPTION_KEY does not match the one this database was created with; restore the old key (it was in {})",
            env_file.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
    assert!(
        !stderr.contains(KEY) && !stderr.contains(&other),
        "a key was printed: {stderr}"
    );

    // The old key back: it starts, and the check costs nothing visible.
    env_file_with(dir.path(), &[("ENCRYPTION_KEY", KEY.to_owned())]);
    let mut daemon = Daemon::start(&env_file, &env);
    let repos = get(&format!("{}/api/repositories", daemon.url), Some(TOKEN));
    assert_eq!(repos.status, 200);
    let repo = &repos.json()["repositories"][0];
    assert_eq!(repo["clone_url"], "https://github.com/acme/app.git");
    assert_eq!(repo["clone_credentials_configured"], true);
    assert!(daemon.terminate().success());
}
