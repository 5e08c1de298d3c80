//! The production wiring of [`Services`]: SQLite for every store, XChaCha20-Poly1305 with
//! the server key, the system clock and monotonic ULIDs. `oored`, the examples and the
//! tests all build their `Services` here, so a new port is wired in one place.

use std::sync::Arc;

use oore_core::services::Services;

use crate::crypto::{EncryptionKey, XChaChaCipher};
use crate::sqlite::SqliteStore;
use crate::system::{SystemClock, UlidGenerator};

/// [`Services`] over one SQLite store.
pub fn sqlite_services(store: SqliteStore, key: &EncryptionKey) -> Services {
    let store = Arc::new(store);
    Services {
        repositories: store.clone(),
        builds: store.clone(),
        pipelines: store.clone(),
        webhooks: store.clone(),
        store_health: store.clone(),
        key_check: store,
        cipher: Arc::new(XChaChaCipher::new(key)),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UlidGenerator::new()),
    }
}
