//! The encryption key check: a wrong but well-formed `ENCRYPTION_KEY` is refused at
//! startup instead of failing every decryption later.
//!
//! The store keeps one check value sealed with the key ([`KeyCheckStore`]). A start
//! opens it with the configured key; a key that cannot is not the database's key. A
//! database without a check value (new, or created before the check existed) gets one,
//! but only after the key decrypted a secret already stored there, if there is any
//! sealed secret to try (keyed digests cannot be tried): so the check value is never
//! created with a wrong key on a database that holds secrets.

use crate::domain::secret::{SecretBinding, SecretString};
use crate::ports::{CipherError, StoreError};
use crate::services::Services;

/// The sealed plaintext; its binding ([`key_check_binding`]) ties it to its row.
const CHECK_PLAINTEXT: &str = "oore encryption key check v1";

/// How many stored secrets a database without a check value is tried against.
const SAMPLES: usize = 8;

/// Table, column and row of the check value, for its [`SecretBinding`].
pub fn key_check_binding() -> SecretBinding {
    SecretBinding::new("key_check", "sealed", 1)
}

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheckOutcome {
    /// The stored check value opened with the key.
    Verified,
    /// There was no check value; one was created.
    Created {
        /// Whether the key first opened a secret already stored (false: the database
        /// held no sealed secret to try).
        against_stored_secret: bool,
    },
}

/// Why the key was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    /// The key cannot open what the database holds.
    #[error("ENCRYPTION_KEY does not match the one this database was created with")]
    Mismatch,
    /// The check value could not be sealed.
    #[error(transparent)]
    Cipher(CipherError),
    /// The store failed.
    #[error("could not check ENCRYPTION_KEY against the database: {0}")]
    Store(#[from] StoreError),
}

/// Checks the configured key against the database (module doc). Costs one read and one
/// decryption on every start but the first.
pub async fn check_encryption_key(svc: &Services) -> Result<KeyCheckOutcome, KeyCheckError> {
    let binding = key_check_binding();
    if let Some(sealed) = svc.key_check.key_check().await? {
        return match svc.cipher.decrypt(&sealed, &binding) {
            Ok(plain) if plain.expose() == CHECK_PLAINTEXT => Ok(KeyCheckOutcome::Verified),
            _ => Err(KeyCheckError::Mismatch),
        };
    }
    let samples = svc.key_check.sealed_samples(SAMPLES).await?;
    // One secret that opens is proof enough (another may be damaged); none opening,
    // while there are some, means another key sealed them.
    if !samples.is_empty()
        && !samples
            .iter()
            .any(|(binding, sealed)| svc.cipher.decrypt(sealed, binding).is_ok())
    {
        return Err(KeyCheckError::Mismatch);
    }
    let sealed = svc
        .cipher
        .encrypt(&SecretString::new(CHECK_PLAINTEXT), &binding)
        .map_err(KeyCheckError::Cipher)?;
    if !svc
        .key_check
        .create_key_check(&sealed, svc.clock.now())
        .await?
    {
        // Created by someone else meanwhile: check against that one.
        return match svc.key_check.key_check().await? {
            Some(stored) => match svc.cipher.decrypt(&stored, &binding) {
                Ok(plain) if plain.expose() == CHECK_PLAINTEXT => Ok(KeyCheckOutcome::Verified),
                _ => Err(KeyCheckError::Mismatch),
            },
            None => Err(KeyCheckError::Store(StoreError::Other(
                "the key check value disappeared while it was created".to_owned(),
            ))),
        };
    }
    Ok(KeyCheckOutcome::Created {
        against_stored_secret: !samples.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::secret::EncryptedSecret;
    use crate::ports::SecretCipher;
    use crate::testing::{FakeCipher, block_on, services};
    use crate::usecases::repository::{AddRepository, add_repository};

    /// A cipher that opens nothing: another key.
    struct OtherKey;

    impl SecretCipher for OtherKey {
        fn encrypt(
            &self,
            plaintext: &SecretString,
            binding: &SecretBinding,
        ) -> Result<EncryptedSecret, CipherError> {
            let mut sealed = FakeCipher.encrypt(plaintext, binding)?.as_bytes().to_vec();
            sealed.push(0xff);
            Ok(EncryptedSecret::from_bytes(sealed))
        }
        fn decrypt(
            &self,
            ciphertext: &EncryptedSecret,
            binding: &SecretBinding,
        ) -> Result<SecretString, CipherError> {
            let bytes = ciphertext.as_bytes();
            match bytes.split_last() {
                Some((0xff, rest)) => {
                    FakeCipher.decrypt(&EncryptedSecret::from_bytes(rest.to_vec()), binding)
                }
                _ => Err(CipherError::Undecryptable),
            }
        }
        fn keyed_digest(&self, value: &SecretString, binding: &SecretBinding) -> [u8; 32] {
            FakeCipher.keyed_digest(value, binding)
        }
    }

    fn add_github_with_secret(svc: &Services) {
        block_on(add_repository(
            svc,
            AddRepository {
                provider: "github".into(),
                owner: "acme".into(),
                name: "app".into(),
                webhook_secret: Some(SecretString::new("s3cret")),
                ..AddRepository::default()
            },
        ))
        .expect("add");
    }

    #[test]
    fn a_new_database_gets_a_check_value_that_the_next_start_verifies() {
        let svc = services();
        assert_eq!(
            block_on(check_encryption_key(&svc)).unwrap(),
            KeyCheckOutcome::Created {
                against_stored_secret: false
            }
        );
        assert_eq!(
            block_on(check_encryption_key(&svc)).unwrap(),
            KeyCheckOutcome::Verified
        );
    }

    #[test]
    fn another_key_is_refused_once_the_check_value_exists() {
        let svc = services();
        block_on(check_encryption_key(&svc)).unwrap();
        let mut other = svc.clone();
        other.cipher = Arc::new(OtherKey);
        let err = block_on(check_encryption_key(&other)).unwrap_err();
        assert!(matches!(err, KeyCheckError::Mismatch), "{err}");
        assert_eq!(
            err.to_string(),
            "ENCRYPTION_KEY does not match the one this database was created with"
        );
    }

    #[test]
    fn an_old_database_is_checked_against_its_secrets_before_the_check_is_created() {
        let svc = services();
        add_github_with_secret(&svc);
        let mut other = svc.clone();
        other.cipher = Arc::new(OtherKey);
        assert!(matches!(
            block_on(check_encryption_key(&other)),
            Err(KeyCheckError::Mismatch)
        ));
        assert_eq!(
            block_on(svc.key_check.key_check()).unwrap(),
            None,
            "no check value was created with the wrong key"
        );
        assert_eq!(
            block_on(check_encryption_key(&svc)).unwrap(),
            KeyCheckOutcome::Created {
                against_stored_secret: true
            }
        );
        assert!(matches!(
            block_on(check_encryption_key(&other)),
            Err(KeyCheckError::Mismatch)
        ));
    }
}
