//! Sealing the credentials of clone URLs stored before they were kept apart
//! ([`SqliteStore::seal_stored_clone_credentials`]): `oored` runs it at every start,
//! right after the key check, since SQL migrations do not have the key. Rows are split
//! by the same rule as new input ([`split_url_credentials`]): the URL keeps no user info
//! that is a secret, the user info goes sealed into `clone_credentials`.
//!
//! The old text must not survive in the file: the rows are rewritten with
//! `secure_delete` on (SQLite overwrites the freed cell bytes with zeros instead of
//! leaving them in the page), and a `wal_checkpoint(TRUNCATE)` then copies the new
//! pages over the old ones in the database file and empties the WAL. Blocks the
//! filesystem itself freed earlier (an old WAL's) are beyond SQLite's reach.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use oore_core::domain::repository::split_url_credentials;
use oore_core::domain::secret::SecretString;
use oore_core::ids::RepositoryId;
use oore_core::ports::{SecretCipher, StoreError};
use oore_core::usecases::repository::seal_clone_credentials;

use super::SqliteStore;
use super::error::store_error;
use super::schema::repositories;

/// One row to rewrite: its id, the URL as stored, and the new URL and sealed credentials.
struct Rewrite {
    id: String,
    old_url: String,
    new_url: String,
    sealed: Vec<u8>,
}

/// Why stored clone URLs could not be sealed; either way `oored` must not start with
/// credentials left in plain text.
#[derive(Debug, thiserror::Error)]
pub enum SealCredentialsError {
    /// The database failed.
    #[error("could not seal the credentials of stored clone URLs: {0}")]
    Store(#[from] StoreError),
    /// Encryption failed.
    #[error("could not seal the credentials of stored clone URLs: {0}")]
    Cipher(#[from] oore_core::ports::CipherError),
}

impl SqliteStore {
    /// Moves the credentials of every stored clone URL (deleted repositories included)
    /// into `clone_credentials`, sealed with `cipher`, and overwrites the old text (module
    /// doc). Returns how many rows changed; 0, after one scan, when none holds any.
    pub async fn seal_stored_clone_credentials(
        &self,
        cipher: &dyn SecretCipher,
    ) -> Result<usize, SealCredentialsError> {
        let candidates: Vec<(String, String)> = self
            .read(|conn| {
                repositories::table
                    .filter(repositories::clone_url.like("%@%"))
                    .select((repositories::id, repositories::clone_url))
                    .load(conn)
                    .map_err(store_error)
            })
            .await?;
        let mut rewrites = Vec::new();
        for (id, old_url) in candidates {
            let (new_url, Some(credentials)) = split_url_credentials(&old_url) else {
                continue;
            };
            let repository = id
                .parse::<RepositoryId>()
                .map_err(|e| StoreError::Corrupt(format!("repositories.id of row {id}: {e}")))?;
            let sealed =
                seal_clone_credentials(cipher, repository, &SecretString::new(credentials))?;
            rewrites.push(Rewrite {
                id,
                old_url,
                new_url,
                sealed: sealed.as_bytes().to_vec(),
            });
        }
        if rewrites.is_empty() {
            return Ok(0);
        }
        let changed = self.write(move |conn| rewrite(conn, &rewrites)).await?;
        tracing::info!(
            repositories = changed,
            "moved the credentials of stored clone URLs into encrypted storage"
        );
        Ok(changed)
    }
}

#[derive(QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = BigInt)]
    busy: i64,
}

fn rewrite(conn: &mut SqliteConnection, rewrites: &[Rewrite]) -> Result<usize, StoreError> {
    conn.batch_execute("PRAGMA secure_delete = ON")
        .map_err(store_error)?;
    let changed = super::tx::immediate(conn, |conn| {
        let mut changed = 0;
        for r in rewrites {
            // Compare-and-set on the old text: a URL changed meanwhile is left alone.
            changed += diesel::update(
                repositories::table
                    .find(&r.id)
                    .filter(repositories::clone_url.eq(&r.old_url)),
            )
            .set((
                repositories::clone_url.eq(&r.new_url),
                repositories::clone_credentials.eq(Some(&r.sealed)),
            ))
            .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(changed)
    });
    let reset = conn.batch_execute("PRAGMA secure_delete = OFF");
    let changed = changed.map_err(store_error)?;
    reset.map_err(store_error)?;
    let checkpoint: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
        .get_result(conn)
        .map_err(store_error)?;
    if checkpoint.busy != 0 {
        tracing::warn!(
            "the WAL could not be emptied after sealing clone URL credentials (a reader held it); the old pages are overwritten at a later checkpoint"
        );
    }
    Ok(changed)
}
