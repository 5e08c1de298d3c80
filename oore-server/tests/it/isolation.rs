//! Builds cannot reach `oored`'s secrets, a crash leaves no step processes behind, and
//! scripts of any size run: against the real `oored` binary (its own environment, its
//! env file, `kill -9`) and the in-process server.
//!
//! Tests that need a build user create a throwaway system account as root and skip
//! with a printed reason elsewhere.

use std::os::unix::fs::PermissionsExt;

use oore_adapters::build_user::{BuildUser, effective_uid};
use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;
use oore_testkit::http::{HttpResponse, send};
use serde_json::{Value, json};

use crate::binary::{Daemon, KEY, TOKEN, env_file_with, run_env};
use crate::build_support::{
    DEADLINE, build_processes, log_text, project, trigger, wait_finished, wait_until,
};

/// The throwaway build user; `None` (with the reason printed) when not root or
/// `useradd` is missing.
fn test_build_user() -> Option<BuildUser> {
    const NAME: &str = "oore-test-build";
    #[expect(clippy::print_stderr, reason = "a skipped test says why")]
    let skip = |why: &str| {
        eprintln!("skipped: {why}");
        None
    };
    if effective_uid() != 0 {
        return skip("needs root to create and switch to a build user");
    }
    if BuildUser::lookup(NAME).is_err() {
        let made = std::process::Command::new("useradd")
            .args(["--system", "--no-create-home", NAME])
            .status();
        match made {
            Ok(status) if status.success() || status.code() == Some(9) => {}
            Ok(status) => return skip(&format!("useradd failed ({status})")),
            Err(e) => return skip(&format!("useradd is missing ({e})")),
        }
    }
    BuildUser::lookup(NAME).ok()
}

/// Talks to a [`Daemon`] over HTTP with the admin token.
struct Client<'a>(&'a Daemon);

impl Client<'_> {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
        send(method, &format!("{}{path}", self.0.url), Some(TOKEN), body)
    }

    /// Adds `git` as a repository and triggers its default branch; the build's id.
    fn build(&self, git: &GitFixture) -> String {
        let body =
            json!({"provider": "git", "owner": "acme", "name": "app", "clone_url": git.url()});
        let repo = self.send("POST", "/api/repositories", Some(&body));
        assert_eq!(repo.status, 201, "{}", repo.text());
        let id = repo.json()["id"].as_str().unwrap().to_owned();
        let build = self.send(
            "POST",
            &format!("/api/repositories/{id}/trigger"),
            Some(&json!({})),
        );
        assert_eq!(build.status, 201, "{}", build.text());
        build.json()["id"].as_str().unwrap().to_owned()
    }

    fn status(&self, build: &str) -> Value {
        let response = self.send("GET", &format!("/api/builds/{build}"), None);
        assert_eq!(response.status, 200, "{}", response.text());
        response.json()
    }

    fn wait_finished(&self, build: &str) -> Value {
        wait_until(&format!("build {build} to finish"), DEADLINE, || {
            let b = self.status(build);
            matches!(
                b["status"].as_str(),
                Some("success" | "failure" | "cancelled")
            )
            .then_some(b)
        })
    }

    /// A whole log (`step` `None`: the system log).
    fn log(&self, build: &str, step: Option<u32>) -> String {
        let file = step.map_or(String::new(), |i| format!("step={i}&stream=stdout&"));
        let (mut text, mut offset) = (String::new(), 0);
        loop {
            let chunk = self.send(
                "GET",
                &format!("/api/builds/{build}/logs?{file}offset={offset}"),
                None,
            );
            assert_eq!(chunk.status, 200, "{}", chunk.text());
            let chunk = chunk.json();
            text.push_str(chunk["data"].as_str().unwrap());
            let next = chunk["next_offset"].as_u64().unwrap();
            if next == offset {
                return text;
            }
            offset = next;
        }
    }
}

fn repo_with(pipeline: &str) -> GitFixture {
    let git = GitFixture::new();
    git.write("oore.yaml", pipeline);
    git.commit("pipeline");
    git
}

/// A pipeline of one step running `lines`, collecting `artifacts`.
fn pipeline(lines: &[&str], artifacts: &[&str]) -> String {
    let mut text =
        String::from("workflows:\n  app:\n    scripts:\n      - name: probe\n        script: |\n");
    for line in lines {
        text.push_str(&format!("          {line}\n"));
    }
    if !artifacts.is_empty() {
        text.push_str("    artifacts:\n");
        for a in artifacts {
            text.push_str(&format!("      - \"{a}\"\n"));
        }
    }
    text
}

#[test]
fn a_step_sees_none_of_the_servers_settings_even_from_oored_s_own_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = run_env(dir.path());
    env.push(("VISIBLE_TO_STEPS", "yes".to_owned()));
    env.push(("ANDROID_HOME", "/opt/android-sdk".to_owned()));
    env.push(("OORE_STEP_ENV_PASSTHROUGH", "ANDROID_HOME".to_owned()));
    let database = env
        .iter()
        .find(|(k, _)| *k == "DATABASE_URL")
        .unwrap()
        .1
        .clone();
    // The settings come from oored's environment, not from a file.
    let empty = env_file_with(dir.path(), &[]);
    let daemon = Daemon::start(&empty, &env);
    let client = Client(&daemon);
    let git = repo_with(&pipeline(
        &[
            "env | sort",
            "echo ---",
            "tr '\\0' '\\n' < /proc/$PPID/environ",
        ],
        &[],
    ));
    let build = client.build(&git);
    let done = client.wait_finished(&build);
    assert_eq!(done["status"], "success", "{}", client.log(&build, None));
    let out = client.log(&build, Some(0));
    let (step_env, oored_env) = out.split_once("---\n").unwrap();
    assert!(
        step_env.contains(&format!("OORE_BUILD_ID={build}")),
        "{step_env}"
    );
    assert!(
        step_env.contains("ANDROID_HOME=/opt/android-sdk"),
        "passed through:\n{step_env}"
    );
    assert!(
        !step_env.contains("VISIBLE_TO_STEPS"),
        "not passed through:\n{step_env}"
    );
    assert!(
        oored_env.contains("VISIBLE_TO_STEPS=yes"),
        "the step could read oored's environment, which keeps what is not a setting:\n{oored_env}"
    );
    for secret in [KEY, TOKEN, database.as_str()] {
        assert!(!out.contains(secret), "{secret} reached the step:\n{out}");
    }
    for name in [
        "ENCRYPTION_KEY",
        "OORE_ADMIN_TOKEN",
        "DATABASE_URL",
        "OORE_BIND_ADDRESS",
        "OORE_WORKSPACES_DIR",
        "OORE_STEP_ENV_PASSTHROUGH",
    ] {
        assert!(
            !out.contains(&format!("{name}=")),
            "{name} reached the step:\n{out}"
        );
    }
}

#[test]
fn with_a_build_user_a_step_cannot_read_the_env_file_the_key_or_oored_s_environment() {
    let Some(user) = test_build_user() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The data directory lives in a private temporary directory: let the build user
    // through it (oored makes the data directory itself searchable).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let mut env = run_env(dir.path());
    env.retain(|(k, _)| *k != "OORE_BUILD_USER");
    env.push(("OORE_BUILD_USER", user.name.clone()));
    let env_file = env_file_with(dir.path(), &env);
    let daemon = Daemon::start(&env_file, &[]);
    let client = Client(&daemon);
    let file = env_file.display().to_string();
    let database = dir.path().join("data/oore.db").display().to_string();
    let git = repo_with(&pipeline(
        &[
            "id -un",
            &format!("cat {file} || echo env-file-refused"),
            &format!("cat {database} > /dev/null || echo database-refused"),
            "tr '\\0' '\\n' < /proc/$PPID/environ || echo environ-refused",
            &format!("ln -s {file} leak.txt"),
            &format!(
                "mkdir -p out && ln -s {file} out/leak.txt && ln -s ../../../oore.env out/up.txt"
            ),
            "echo built > out/app.txt",
        ],
        &[&file, "leak.txt", "out/*.txt"],
    ));
    let build = client.build(&git);
    let done = client.wait_finished(&build);
    let system = client.log(&build, None);
    assert_eq!(done["status"], "success", "{system}");
    let out = client.log(&build, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            user.name.as_str(),
            "env-file-refused",
            "database-refused",
            "environ-refused"
        ],
        "{out}"
    );
    assert!(!out.contains(KEY) && !out.contains(TOKEN), "{out}");

    // Artifacts: only the build's own file; the env file by path or by link, nothing.
    let list = client
        .send("GET", &format!("/api/builds/{build}/artifacts"), None)
        .json();
    let paths: Vec<&str> = list["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["out/app.txt"], "{system}");
    assert!(system.contains("OORE_ARTIFACT_ROOTS"), "{system}");
    assert!(
        system.contains("leak.txt: it is a symbolic link leading outside the workspace"),
        "{system}"
    );
    assert!(!system.contains(KEY) && !system.contains(TOKEN), "{system}");

    // oored's own files are root's alone.
    use std::os::unix::fs::MetadataExt;
    for private in [env_file.clone(), dir.path().join("data/oore.db")] {
        let mode = std::fs::metadata(&private).unwrap().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", private.display());
    }
}

#[test]
fn running_as_root_needs_a_build_user_and_root_must_be_named() {
    if effective_uid() != 0 {
        #[expect(clippy::print_stderr, reason = "a skipped test says why")]
        {
            eprintln!("skipped: needs root");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut env = run_env(dir.path());
    env.retain(|(k, _)| *k != "OORE_BUILD_USER");
    let empty = env_file_with(dir.path(), &[]);
    let output = crate::binary::oored()
        .args(["run", "--env-file"])
        .arg(&empty)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a settings problem");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("oored runs as root, so build steps need an account of their own")
            && stderr.contains("OORE_BUILD_USER="),
        "{stderr}"
    );

    env.push(("OORE_BUILD_USER", "root".to_owned()));
    let mut daemon = Daemon::start(&empty, &env);
    assert!(
        daemon
            .log()
            .contains("OORE_BUILD_USER=root: build steps run as root"),
        "{}",
        daemon.log()
    );
    // Served (and so past installing its SIGTERM handler) before it is stopped.
    assert_eq!(Client(&daemon).send("GET", "/api/health", None).status, 200);
    let status = daemon.terminate();
    assert!(status.success(), "{status}: {}", daemon.log());
}

#[test]
fn kill_9_of_oored_mid_step_leaves_no_step_process_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = run_env(dir.path());
    let env_file = env_file_with(dir.path(), &env);
    let git = repo_with(&pipeline(
        &["sleep 150 & setsid sleep 151 & sleep 152"],
        &[],
    ));
    let mut first = Daemon::start(&env_file, &[]);
    let build = Client(&first).build(&git);
    // bash and the three sleeps.
    wait_until("the step's four processes", DEADLINE, || {
        (build_processes(&build).len() >= 4).then_some(())
    });
    first.child.kill().unwrap();
    let _ = first.child.wait();
    let left = build_processes(&build);
    assert_eq!(left.len(), 4, "killing oored killed its steps: {left:?}");

    let second = Daemon::start(&env_file, &[]);
    let client = Client(&second);
    let done = client.wait_finished(&build);
    assert_eq!(done["status"], "failure");
    assert!(
        done["error_message"]
            .as_str()
            .unwrap()
            .contains("interrupted by server restart"),
        "{done}"
    );
    // Stopped before the build was marked failed: none is left.
    assert_eq!(build_processes(&build), Vec::<u32>::new());
    let system = client.log(&build, None);
    assert!(
        system.contains("server restart: stopped 4 processes the build had left running"),
        "{system}"
    );
}

#[test]
fn a_900_kib_script_runs_from_a_pipeline_near_the_size_limit() {
    let server = TestServer::start();
    let filler = format!("          : {}\n", "x".repeat(88));
    let mut text = String::from(
        "workflows:\n  app:\n    scripts:\n      - name: big\n        script: |\n          echo first\n",
    );
    let mut script_bytes = "echo first\n".len();
    while script_bytes < 900 * 1024 {
        text.push_str(&filler);
        script_bytes += filler.len() - 10;
    }
    text.push_str("          echo last\n");
    assert!(
        text.len() < 1024 * 1024,
        "pipeline documents stay capped at 1 MiB"
    );
    let p = project(&server, &text);
    let build = trigger(&server, &p.repo);
    let done = wait_finished(&server, &build.id);
    assert_eq!(
        done.status,
        "success",
        "{}",
        log_text(&server, &build.id, None)
    );
    assert_eq!(
        log_text(&server, &build.id, Some((0, "stdout"))),
        "first\nlast\n"
    );
}
