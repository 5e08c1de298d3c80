//! The HTTP layer's own cost: `GET /api/version` (no database, no body to read) over 64
//! keep-alive loopback connections to a real `oored` (`TestServer`), for a fixed time.
//! Prints requests per second and p50/p99. Every middleware of the stack (request id,
//! tracing, compression, CORS, timeout, concurrency limit, error rendering) runs on each
//! request, so this is the figure to watch when the stack changes; `make bench` runs it
//! for this checkout and the baseline commit in interleaved pairs.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oore_testkit::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 64;
const RUN_FOR: Duration = Duration::from_secs(4);
const WARM_UP: Duration = Duration::from_secs(1);

fn main() {
    let server = TestServer::start();
    let addr: SocketAddr = server.url().trim_start_matches("http://").parse().unwrap();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the client runtime");
    client.block_on(load(addr, WARM_UP));
    let (count, mut latencies, elapsed) = client.block_on(load(addr, RUN_FOR));
    latencies.sort();
    let pct = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "http overhead: GET /api/version over {CONNECTIONS} keep-alive connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({count} requests, {:.1} s)",
        count as f64 / elapsed.as_secs_f64(),
        pct(50),
        pct(99),
        elapsed.as_secs_f64()
    );
}

/// Sends requests on every connection until `run_for` passed; returns the count, the
/// latencies and the elapsed time.
async fn load(addr: SocketAddr, run_for: Duration) -> (u64, Vec<Duration>, Duration) {
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + run_for;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let count = Arc::clone(&count);
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let request = format!("GET /api/version HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            let mut buf = vec![0u8; 4096];
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let sent = Instant::now();
                stream.write_all(request.as_bytes()).await.expect("write");
                read_response(&mut stream, &mut buf).await;
                latencies.push(sent.elapsed());
                count.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a client task"));
    }
    (count.load(Ordering::Relaxed), latencies, started.elapsed())
}

/// Reads one response with a `Content-Length` body.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) {
    let mut have = 0;
    loop {
        let n = stream.read(&mut buf[have..]).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        have += n;
        let text = &buf[..have];
        if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&text[..end]).expect("UTF-8 headers");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a Content-Length");
            if have >= end + 4 + len {
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                return;
            }
        }
    }
}
