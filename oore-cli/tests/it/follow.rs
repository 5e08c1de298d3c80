//! `oore build logs --follow` through a proxy that does not stream: the follow notices
//! that the event stream never arrives, says so, and polls, printing every line once.

use std::net::SocketAddr;

use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::Cli;

/// A plain HTTP front that answers the log stream with its headers and then nothing (a
/// buffering proxy), and forwards every other request, one per connection.
fn holding_proxy(backend: SocketAddr) -> (u16, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    runtime.spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, backend));
        }
    });
    (port, runtime)
}

async fn serve(mut client: TcpStream, backend: SocketAddr) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line_end = head.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    let request_line = String::from_utf8_lossy(&head[..line_end]).into_owned();
    if request_line.contains("/logs/stream") {
        let _ = client
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
            .await;
        while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
        return;
    }
    let mut request = head[..line_end + 2].to_vec();
    request.extend_from_slice(b"Connection: close\r\n");
    request.extend_from_slice(&head[line_end + 2..]);
    let Ok(mut upstream) = TcpStream::connect(backend).await else {
        return;
    };
    if upstream.write_all(&request).await.is_err() {
        return;
    }
    let _ = tokio::io::copy(&mut upstream, &mut client).await;
    let _ = client.shutdown().await;
}

#[test]
fn a_proxy_that_holds_the_stream_back_makes_the_follow_poll_without_losing_lines() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let source = GitFixture::new();
    source.write(
        "oore.yaml",
        "workflows:\n  ci:\n    scripts:\n      - name: Count\n        script: for i in 1 2 3 4 5; do echo \"line $i\"; sleep 0.3; done\n",
    );
    source.commit("count");
    cli.run(&[
        "repo",
        "add",
        "--provider",
        "git",
        "--owner",
        "me",
        "--repo",
        "app",
        "--clone-url",
        &source.url(),
    ])
    .ok();
    cli.run(&["build", "trigger", "me/app"]).ok();
    let backend: SocketAddr = server
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("an IP and port");
    let (port, _runtime) = holding_proxy(backend);
    let front = format!("http://127.0.0.1:{port}");
    let run = cli
        .run(&[
            "--server",
            &front,
            "--token",
            server.admin_token(),
            "build",
            "logs",
            "me/app#1",
            "--follow",
        ])
        .ok()
        .stderr_has("following by polling instead")
        .stderr_has("ended: success");
    for i in 1..=5 {
        assert_eq!(
            run.stdout.matches(&format!("line {i}\n")).count(),
            1,
            "{run}"
        );
    }
}
