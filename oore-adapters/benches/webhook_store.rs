//! The storage ceiling of webhook ingestion: `insert_batch` of 7 KB GitHub push events
//! straight into a `SqliteStore` (no HTTP, no signature check), in batches the size the
//! webhook writer forms under load. What the HTTP benchmark (`oore-server`'s
//! `webhook_ingest`) can reach at most, since every accepted delivery passes through here.
//!
//! Run with `cargo bench -p oore-adapters --bench webhook_store` (or `make bench`).
#![expect(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::time::Instant;

use jiff::Timestamp;
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::ids::WebhookEventId;
use oore_core::ports::{NewWebhookEvent, RepositoryStore, WebhookEventStore};
use oore_core::testing::contract::sample_repository;

const EVENTS: usize = 20_000;
const BATCHES: [usize; 4] = [1, 16, 64, 256];

type Error = Box<dyn std::error::Error>;

/// The GitHub push fixture the HTTP benchmark sends too.
fn payload() -> Result<Vec<u8>, Error> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/github/push.default.json"
    );
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}").into())
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let body = payload()?;
    println!(
        "webhook store: {} byte payloads, {EVENTS} events per batch size, synchronous = FULL",
        body.len()
    );
    for batch in BATCHES {
        let dir = tempfile::tempdir()?;
        let store =
            SqliteStore::open_blocking(&dir.path().join("oore.db"), SqliteConfig::default())?;
        let repo = sample_repository(1, Provider::GitHub, "acme", "bench");
        rt.block_on(RepositoryStore::insert(&store, &repo))?;
        let events: Vec<NewWebhookEvent> = (0..EVENTS)
            .map(|i| NewWebhookEvent {
                id: WebhookEventId::from_ulid(ulid::Ulid::from_parts(1, i as u128 + 1)),
                provider: Provider::GitHub,
                delivery_id: format!("{i:08}-0000-11ee-8000-000000000000"),
                event_type: "push".to_owned(),
                repository_id: Some(repo.id),
                headers: vec![
                    ("content-type".to_owned(), "application/json".to_owned()),
                    ("x-github-event".to_owned(), "push".to_owned()),
                    ("user-agent".to_owned(), "GitHub-Hookshot/abc".to_owned()),
                ],
                payload: body.clone(),
                source_ip: Some("127.0.0.1".to_owned()),
                received_at: Timestamp::now(),
            })
            .collect();
        let start = Instant::now();
        for chunk in events.chunks(batch) {
            rt.block_on(store.insert_batch(chunk))?;
        }
        let took = start.elapsed();
        println!(
            "  batches of {batch:>3}: {:>7.0} events/s, {:>6.1} us per event",
            EVENTS as f64 / took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / EVENTS as f64
        );
    }
    Ok(())
}
