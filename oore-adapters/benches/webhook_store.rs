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

use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::ports::{NewWebhookEvent, RepositoryStore, WebhookEventStore};
use oore_core::testing::contract::{sample_repository, sample_webhook_event};

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
        let events: Vec<NewWebhookEvent> = (0..EVENTS as u128)
            .map(|n| NewWebhookEvent {
                payload: body.clone(),
                ..sample_webhook_event(n, Some(repo.id))
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
