//! `make bench`: the latency from a build step writing a line to `oore build logs
//! --follow` printing it (issue 11: median ≤ 100 ms, p90 ≤ 150 ms; polling every 300 ms
//! gave a median of 159 ms and a p90 of 278 ms).
//!
//! An in-process `TestServer` runs a real build whose step prints `$EPOCHREALTIME` (bash,
//! no process per line) 80 times, 50 ms apart; the real `oore` binary follows it over
//! the server's event stream, and each line's latency is the time it reached this
//! program through `oore`'s standard output minus the time the step wrote it.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;

const LINES: usize = 80;
const TARGET_MEDIAN_MS: f64 = 100.0;
const TARGET_P90_MS: f64 = 150.0;

fn oore(server: &TestServer, config: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oore"));
    command
        .args(args)
        .env_clear()
        .env("OORE_CONFIG", config)
        .env("HOME", config.parent().unwrap_or(config));
    let _ = server;
    command
}

fn run(server: &TestServer, config: &std::path::Path, args: &[&str]) {
    let output = oore(server, config, args).output().expect("run oore");
    assert!(
        output.status.success(),
        "oore {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.huml");
    let url = server.url();
    run(
        &server,
        &config,
        &[
            "config",
            "init",
            "--server",
            &url,
            "--token",
            server.admin_token(),
        ],
    );
    let source = GitFixture::new();
    source.write(
        "oore.yaml",
        format!(
            "workflows:\n  ci:\n    scripts:\n      - name: Lines\n        script: |\n          sleep 1\n          for i in $(seq 1 {LINES}); do echo \"$EPOCHREALTIME $i\"; sleep 0.05; done\n"
        ),
    );
    source.commit("lines");
    let clone_url = source.url();
    run(
        &server,
        &config,
        &[
            "repo",
            "add",
            "--provider",
            "git",
            "--owner",
            "bench",
            "--repo",
            "follow",
            "--clone-url",
            &clone_url,
        ],
    );
    run(&server, &config, &["build", "trigger", "bench/follow"]);
    let mut child = oore(
        &server,
        &config,
        &["build", "logs", "bench/follow#1", "--follow", "--step", "0"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start oore build logs --follow");
    let stdout = child.stdout.take().expect("stdout");
    let mut latencies = Vec::with_capacity(LINES);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let received = now_ms();
        let Some((stamp, _)) = line.split_once(' ') else {
            continue;
        };
        if let Ok(written) = stamp.replace(',', ".").parse::<f64>() {
            latencies.push((received - written * 1000.0).max(0.0));
        }
    }
    let status = child.wait().expect("wait for oore");
    assert!(status.success(), "oore build logs --follow failed");
    assert_eq!(latencies.len(), LINES, "every line arrives once");
    latencies.sort_by(f64::total_cmp);
    let median = percentile(&latencies, 0.5);
    let p90 = percentile(&latencies, 0.9);
    println!(
        "follow latency ({LINES} lines, line written -> printed by `oore build logs --follow`)"
    );
    println!(
        "  median {median:.1} ms (target <= {TARGET_MEDIAN_MS} ms, ratio {:.2})",
        median / TARGET_MEDIAN_MS
    );
    println!(
        "  p90    {p90:.1} ms (target <= {TARGET_P90_MS} ms, ratio {:.2})",
        p90 / TARGET_P90_MS
    );
    println!("  max    {:.1} ms", latencies[latencies.len() - 1]);
}
