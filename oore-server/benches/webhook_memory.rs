//! What strangers can cost in memory: the real `oored` binary (release), then 64
//! concurrent unsigned 10 MiB webhook bodies over loopback, once to a repository id that
//! does not exist and once to a real GitHub repository, each round on a fresh `oored`.
//! Prints oored's peak resident memory (`VmHWM` of `/proc/<pid>/status`) for each, and
//! the ratio of the higher to the target (<= 100 MiB). Bounded: one round of 64
//! requests per process, then the process is stopped.
//!
//! Before issue 10, receivers read the whole body before looking the repository up:
//! 64 such bodies took oored from 12 MiB to 668 MiB. Now a request to an unknown
//! repository is answered before its body is read (the rest is read in small pieces
//! and dropped), and the bodies read at once are capped by `OORE_WEBHOOK_INFLIGHT_BYTES`
//! (64 MiB by default; the others are answered 503 at once), so the peak is about the
//! idle size plus that cap when the repository is real, and barely above idle when it
//! is not.
//!
//! What it showed (2-CPU VM, shared): idle 11-14 MiB; to an unknown repository a peak of
//! 24 MiB (all 401), to a real one 64 MiB (8 read and rejected, 56 answered 503 at
//! once). Before hyper's read buffer was capped at 64 KiB per connection
//! (`httpd/mod.rs`), the unknown-repository round peaked at 48 MiB: each of the 64
//! connections draining a refused body grew its buffer to about 400 KiB.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use oore_core::api::RepositoryDto;
use serde_json::json;

const CONCURRENT: usize = 64;
const BODY: usize = 10 * 1024 * 1024;
const TARGET_MIB: f64 = 100.0;
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const TOKEN: &str = "bench-admin-token-0123456789abcdef";
const STARTUP: Duration = Duration::from_secs(30);
const UNKNOWN: &str = "01JD0000000000000000000000";

fn main() {
    if !Path::new("/proc/self/status").exists() {
        println!(
            "webhook memory: skipped, /proc/<pid>/status is needed to read oored's peak memory"
        );
        return;
    }
    let body = Arc::new(vec![b'x'; BODY]);
    println!(
        "webhook memory: {CONCURRENT} concurrent unsigned {} MiB bodies to the real oored binary over loopback, one round per fresh process",
        BODY >> 20
    );
    let mut worst = 0.0f64;
    for real in [false, true] {
        let daemon = Daemon::start();
        let idle = daemon.kib("VmRSS");
        let target = if real {
            daemon.github_repository()
        } else {
            UNKNOWN.to_owned()
        };
        let started = Instant::now();
        let statuses = round(&daemon.addr, &target, &body);
        let took = started.elapsed();
        let peak = daemon.kib("VmHWM");
        drop(daemon);
        let mib = |kib: u64| kib as f64 / 1024.0;
        worst = worst.max(mib(peak));
        let mut counts: Vec<(u16, usize)> = Vec::new();
        for s in statuses {
            match counts.iter_mut().find(|(code, _)| *code == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s, 1)),
            }
        }
        counts.sort();
        println!(
            "  {}: idle {:.1} MiB, peak {:.1} MiB (answers {}; {:.2} s)",
            if real {
                "to a real repository"
            } else {
                "to an unknown repository"
            },
            mib(idle),
            mib(peak),
            counts
                .iter()
                .map(|(code, n)| if *code == 0 {
                    format!("{n} x no answer")
                } else {
                    format!("{n} x {code}")
                })
                .collect::<Vec<_>>()
                .join(", "),
            took.as_secs_f64()
        );
    }
    println!(
        "  peak resident memory: {worst:.1} MiB; ratio {:.2} of the target (<= {TARGET_MIB} MiB){}",
        worst / TARGET_MIB,
        if worst <= TARGET_MIB {
            ""
        } else {
            ": ABOVE TARGET"
        }
    );
}

/// Sends [`CONCURRENT`] unsigned deliveries of `body` to repository `id` at once; the
/// answers' status codes (0 when the connection failed before an answer).
fn round(addr: &str, id: &str, body: &Arc<Vec<u8>>) -> Vec<u16> {
    let start = Arc::new(Barrier::new(CONCURRENT));
    let threads: Vec<_> = (0..CONCURRENT)
        .map(|i| {
            let (addr, body, start) = (addr.to_owned(), Arc::clone(body), Arc::clone(&start));
            let head = format!(
                "POST /api/webhooks/github/{id} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 X-GitHub-Event: push\r\nX-GitHub-Delivery: bench-{i}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            std::thread::spawn(move || {
                start.wait();
                send(&addr, head.as_bytes(), &body).unwrap_or(0)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap_or(0)).collect()
}

/// One request; the status of its answer. A server that answers before the body is
/// read may close before it is all written: the answer counts.
fn send(addr: &str, head: &[u8], body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let _ = stream.write_all(head).and_then(|()| stream.write_all(body));
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A running `oored run` on a fresh data directory.
struct Daemon {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let env_file = dir.path().join("empty.env");
        std::fs::write(&env_file, "").expect("the env file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_oored"))
            .env_clear()
            .arg("run")
            .arg("--env-file")
            .arg(&env_file)
            .env("ENCRYPTION_KEY", KEY)
            .env("OORE_ADMIN_TOKEN", TOKEN)
            .env("DATABASE_URL", data("oore.db"))
            .env("OORE_WORKSPACES_DIR", data("workspaces"))
            .env("OORE_LOGS_DIR", data("logs"))
            .env("OORE_BIND_ADDRESS", "127.0.0.1:0")
            .env("OORE_SHUTDOWN_GRACE_SECS", "1")
            .env("RUST_LOG", "warn,oore_server::startup=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start oored");
        let stderr = child.stderr.take().expect("oored's stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    let addr = rest.split([' ', '"']).next().unwrap_or_default();
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(STARTUP)
            .unwrap_or_else(|_| panic!("oored did not start within {STARTUP:?}"));
        Daemon {
            child,
            addr,
            _dir: dir,
        }
    }

    /// A field of `/proc/<pid>/status`, in KiB.
    fn kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("oored's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
    }

    /// A GitHub repository with a webhook secret: its id.
    fn github_repository(&self) -> String {
        let response = oore_testkit::http::send(
            "POST",
            &format!("http://{}/api/repositories", self.addr),
            Some(TOKEN),
            Some(&json!({
                "provider": "github", "owner": "bench", "name": "memory",
                "webhook_secret": "bench-webhook-secret",
            })),
        );
        assert_eq!(response.status, 201, "{}", response.text());
        response.json_as::<RepositoryDto>().id
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM to the process this bench started, then wait for it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
