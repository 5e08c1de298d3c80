//! [`KeyCheckStore`] for [`SqliteStore`]: the `key_check` table (one row) and the sealed
//! secrets of `repositories` a key is tried against before that row exists.

use async_trait::async_trait;
use diesel::prelude::*;
use jiff::Timestamp;
use oore_core::domain::secret::{EncryptedSecret, SecretBinding};
use oore_core::ids::RepositoryId;
use oore_core::ports::{KeyCheckStore, StoreError};
use oore_core::usecases::repository::{clone_credentials_binding, webhook_secret_binding};

use super::error::store_error;
use super::schema::{key_check, repositories};
use super::{SqliteStore, millis};

/// The row's only id.
const ROW: i64 = 1;

#[async_trait]
impl KeyCheckStore for SqliteStore {
    async fn key_check(&self) -> Result<Option<EncryptedSecret>, StoreError> {
        self.read(|conn| {
            key_check::table
                .find(ROW)
                .select(key_check::sealed)
                .first::<Vec<u8>>(conn)
                .optional()
                .map(|sealed| sealed.map(EncryptedSecret::from_bytes))
                .map_err(store_error)
        })
        .await
    }

    async fn create_key_check(
        &self,
        sealed: &EncryptedSecret,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sealed = sealed.as_bytes().to_vec();
        self.write(move |conn| {
            diesel::insert_into(key_check::table)
                .values((
                    key_check::id.eq(ROW),
                    key_check::sealed.eq(sealed),
                    key_check::created_at.eq(millis(at)),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .map(|inserted| inserted == 1)
                .map_err(store_error)
        })
        .await
    }

    async fn sealed_samples(
        &self,
        limit: usize,
    ) -> Result<Vec<(SecretBinding, EncryptedSecret)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            // Soft-deleted rows included: their secrets were sealed with the same key.
            let webhook_secrets: Vec<(String, Option<Vec<u8>>)> = repositories::table
                .filter(repositories::webhook_secret.is_not_null())
                .select((repositories::id, repositories::webhook_secret))
                .order_by(repositories::id)
                .limit(limit)
                .load(conn)
                .map_err(store_error)?;
            let credentials: Vec<(String, Option<Vec<u8>>)> = repositories::table
                .filter(repositories::clone_credentials.is_not_null())
                .select((repositories::id, repositories::clone_credentials))
                .order_by(repositories::id)
                .limit(limit)
                .load(conn)
                .map_err(store_error)?;
            let bind = |binding: fn(RepositoryId) -> SecretBinding,
                        (id, sealed): (String, Option<Vec<u8>>)| {
                let repository = id.parse::<RepositoryId>().map_err(|e| {
                    StoreError::Corrupt(format!("repositories.id of row {id}: {e}"))
                })?;
                Ok((
                    binding(repository),
                    EncryptedSecret::from_bytes(sealed.unwrap_or_default()),
                ))
            };
            webhook_secrets
                .into_iter()
                .map(|row| bind(webhook_secret_binding, row))
                .chain(
                    credentials
                        .into_iter()
                        .map(|row| bind(clone_credentials_binding, row)),
                )
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect()
        })
        .await
    }
}
