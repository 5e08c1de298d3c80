//! What unauthenticated webhook traffic can cost (issue 10): 1,000 unsigned 64 KiB
//! deliveries grow the database (after a checkpoint) by less than 1 MiB when the URL
//! names no repository and by less than 20 MiB when it names a real one; rejected
//! attempts are bounded by `OORE_REJECTED_MAX_ROWS` and aged out by the cleanup; the
//! bytes of bodies read at once are capped by `OORE_WEBHOOK_INFLIGHT_BYTES` (503,
//! nothing stored).

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use oore_core::api::WebhookRefusalDto;
use oore_core::ids::WebhookEventId;
use oore_core::testing::contract::{sample_rejected, sample_webhook_event};
use oore_testkit::TestServer;
use oore_testkit::webhooks::{Delivery, github_delivery, new_delivery_id};

use crate::build_support::{DEADLINE, wait_until};
use crate::support::{SOME_ULID, assert_error};
use crate::webhooks::{accepted, events, github_repo, push, refusals};

const BODY: usize = 64 * 1024;
const DELIVERIES: usize = 1000;
const CLIENTS: usize = 8;

/// The database's size on disk: the file and whatever WAL is left.
fn database_bytes(dir: &Path) -> u64 {
    ["oore.db", "oore.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// An unsigned GitHub push of [`BODY`] bytes to `repository_id`.
fn unsigned(repository_id: &str) -> Delivery {
    let mut body = br#"{"ref":"refs/heads/main","pad":""#.to_vec();
    body.resize(BODY - 2, b'x');
    body.extend_from_slice(br#""}"#);
    github_delivery(repository_id, "unused", "push", &new_delivery_id(), &body)
        .without_header("X-Hub-Signature-256")
}

/// Sends [`DELIVERIES`] unsigned deliveries to `repository_id` from [`CLIENTS`] threads;
/// every answer must be 401.
fn flood(server: &TestServer, repository_id: &str) {
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, id) = (server.url(), repository_id.to_owned());
            std::thread::spawn(move || {
                for _ in 0..DELIVERIES / CLIENTS {
                    let answer = unsigned(&id).send(&url);
                    assert_eq!(answer.status, 401, "{}", answer.text());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_thousand_unsigned_deliveries_barely_grow_the_database() {
    let server = TestServer::start();
    let repo = github_repo(&server);
    let dir = server.data_dir().to_path_buf();
    // Sizes are taken with the server stopped: its store checkpoints the WAL on close.
    let builder = server.restart();
    let at_start = database_bytes(&dir);

    let server = builder.start();
    flood(&server, SOME_ULID);
    let counted = refusals(&server);
    assert_eq!(counted.sources[0].total, DELIVERIES as u64);
    assert_eq!(
        counted.sources[0].reasons[0].reason,
        WebhookRefusalDto::UnknownRepository
    );
    assert!(events(&server, "").events.is_empty(), "nothing stored");
    let builder = server.restart();
    let after_unknown = database_bytes(&dir);
    let grown = after_unknown.saturating_sub(at_start);
    assert!(
        grown < 1 << 20,
        "{DELIVERIES} unsigned deliveries to an unknown repository grew the database by {grown} bytes"
    );

    let server = builder.start();
    flood(&server, &repo.id);
    let page = events(&server, "status=rejected&limit=200");
    assert_eq!(page.events.len(), 200);
    assert!(
        page.next.is_some(),
        "all {DELIVERIES} are kept (the bound is 10,000)"
    );
    let detail = crate::webhooks::event(&server, &page.events[0].id);
    assert_eq!(
        (detail.payload_size, detail.payload_truncated),
        (BODY as u64, true)
    );
    assert_eq!(
        detail.payload.as_str().map(str::len),
        Some(16 * 1024),
        "the first 16 KiB, shown as text (cut JSON is no JSON)"
    );
    let builder = server.restart();
    let grown = database_bytes(&dir).saturating_sub(after_unknown);
    assert!(
        grown < 20 << 20,
        "{DELIVERIES} unsigned deliveries to a real repository grew the database by {grown} bytes"
    );
    drop(builder);
}

#[test]
fn rejected_attempts_are_bounded_and_aged_out() {
    let server = TestServer::builder()
        .env("OORE_REJECTED_MAX_ROWS", "5")
        .cleanup_interval(Duration::from_secs(1))
        .start();
    let repo = github_repo(&server);
    for _ in 0..8 {
        assert_error(&unsigned(&repo.id).send(&server.url()), 401, "unauthorized");
    }
    assert_eq!(
        events(&server, "status=rejected").events.len(),
        5,
        "the oldest go first"
    );
    // An attempt from long ago is deleted by the cleanup (a week by default).
    let mut old = sample_webhook_event(1, None);
    old.id = WebhookEventId::from_ulid(ulid::Ulid::new());
    old.received_at = server.services().clock.now() - jiff::SignedDuration::from_hours(169);
    server
        .block_on(
            server
                .services()
                .webhooks
                .record_rejected(&[sample_rejected(old.clone(), "refused")], 100),
        )
        .unwrap();
    wait_until("the cleanup deletes the old attempt", DEADLINE, || {
        let gone = server
            .block_on(server.services().webhooks.get_event(old.id))
            .unwrap()
            .is_none();
        gone.then_some(())
    });
    assert_eq!(events(&server, "status=rejected").events.len(), 5);
    drop(server);

    // With none kept, a failed signature is only counted.
    let server = TestServer::builder()
        .env("OORE_REJECTED_MAX_ROWS", "0")
        .start();
    let repo = github_repo(&server);
    assert_error(&unsigned(&repo.id).send(&server.url()), 401, "unauthorized");
    assert!(events(&server, "").events.is_empty());
    assert_eq!(
        refusals(&server).sources[0].reasons[0].reason,
        WebhookRefusalDto::NotRecorded
    );
}

/// Sends the head and the first `part` bytes of the body of `delivery`, and keeps the
/// connection open.
fn start_sending(url: &str, delivery: &Delivery, part: usize) -> TcpStream {
    let host = url.trim_start_matches("http://");
    let bytes = delivery.to_bytes(host, false);
    let head_end = bytes.len() - delivery.body.len();
    let mut stream = TcpStream::connect(host).unwrap();
    stream.write_all(&bytes[..head_end + part]).unwrap();
    stream
}

/// Starts sending `slow` (its head and 1000 bytes) and polls with whole unsigned
/// deliveries until one is answered 503. A slow request the server already answered
/// (it holds nothing then) is replaced by a new one, and its answer is kept for the
/// failure message, so a loaded machine's timing cannot fail the test without saying why.
fn hold_the_budget(
    server: &TestServer,
    repo_id: &str,
    slow: &Delivery,
) -> (TcpStream, oore_testkit::http::HttpResponse) {
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < DEADLINE {
        let held = start_sending(&server.url(), slow, 1000);
        for _ in 0..50 {
            let answer = unsigned(repo_id).send(&server.url());
            if answer.status == 503 {
                return (held, answer);
            }
            seen.push(answer.status.to_string());
            std::thread::sleep(Duration::from_millis(20));
        }
        held.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut early = Vec::new();
        let _ = std::io::Read::read_to_end(&mut &held, &mut early);
        seen.push(format!(
            "(slow request restarted; its answer so far: {:?})",
            String::from_utf8_lossy(&early)
        ));
    }
    panic!("no poll was answered 503 within {DEADLINE:?}; answers: {seen:?}");
}

/// Sends the rest of the body and returns the answer's status.
fn finish_sending(mut stream: TcpStream, delivery: &Delivery, part: usize) -> u16 {
    stream.write_all(&delivery.body[part..]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut received = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut received);
    let text = String::from_utf8_lossy(&received);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text}"))
}

#[test]
fn bodies_beyond_the_inflight_budget_are_503_and_not_stored() {
    let server = TestServer::builder()
        .env("OORE_MAX_WEBHOOK_BYTES", &BODY.to_string())
        .env(
            "OORE_WEBHOOK_INFLIGHT_BYTES",
            &(BODY + BODY / 2).to_string(),
        )
        .start();
    let repo = github_repo(&server);
    // One body arrives slowly and holds its 64 KiB of the 96 KiB budget.
    let slow = unsigned(&repo.id);
    let (held, busy) = hold_the_budget(&server, &repo.id, &slow);
    let envelope = assert_error(&busy, 503, "unavailable");
    assert_eq!(busy.header("retry-after"), Some("5"));
    assert!(
        envelope.error.message.contains("nothing was stored"),
        "{}",
        envelope.error.message
    );
    let stored = events(&server, "").events.len();
    assert_eq!(
        unsigned(&repo.id).send(&server.url()).status,
        503,
        "still busy"
    );
    assert_eq!(
        events(&server, "").events.len(),
        stored,
        "a 503 stores nothing"
    );
    assert!(
        refusals(&server).sources[0]
            .reasons
            .iter()
            .any(|r| r.reason == WebhookRefusalDto::Busy)
    );
    // Once the slow body is in, its bytes are free again: a real delivery goes through.
    assert_eq!(finish_sending(held, &slow, 1000), 401);
    accepted(&push(&repo).send(&server.url()), 202);
}
