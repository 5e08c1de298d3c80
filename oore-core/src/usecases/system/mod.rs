//! The server's own state: the encryption key check at startup and the health of storage
//! (free space, whether the database takes writes).

mod key_check;
mod storage;

pub use key_check::{KeyCheckError, KeyCheckOutcome, check_encryption_key, key_check_binding};
pub use storage::{StorageHealth, format_bytes, low_space, storage_health};
