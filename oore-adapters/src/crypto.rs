//! Secrets at rest: the server's [`EncryptionKey`], [`XChaChaCipher`] implementing
//! [`SecretCipher`] with XChaCha20-Poly1305, and [`random_token`] for admin tokens.
//!
//! Keyed digests (GitLab webhook tokens, which only ever need comparing) are
//! HMAC-SHA256 under a subkey derived from the server key, `HMAC-SHA256(key, "oore
//! webhook token v1")`, so the encryption key itself is never used for two purposes.
//! The MAC input is `len(ad) as u64 big-endian || ad || value`, where `ad` is the
//! binding's associated data: a digest is bound to its row and column like a sealed
//! value, and the length prefix keeps `ad` and value from running into each other.
//!
//! Stored form of a sealed value: `version (1 byte, = 1) || nonce (24 bytes) ||
//! ciphertext || tag (16 bytes)`. The nonce is fresh OS randomness for every value (192
//! bits, so random nonces never collide in practice). The associated data is
//! [`SecretBinding::associated_data`]: table, column and row id, so a value copied to
//! another row or column does not decrypt. The version byte lets a later key rotation
//! or algorithm change tell old values from new ones.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use oore_core::domain::secret::{EncryptedSecret, SecretBinding, SecretString};
use oore_core::ports::{CipherError, SecretCipher};
use sha2::Sha256;

const KEY_LEN: usize = 32;
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Derives the keyed-digest subkey from the server key.
const DIGEST_KEY_LABEL: &[u8] = b"oore webhook token v1";

/// The 32-byte server key (`ENCRYPTION_KEY`, 64 hex characters). Its `Debug` prints
/// `EncryptionKey(***)` and it has no `Display`; read it out only with
/// [`EncryptionKey::to_hex`] when writing it to the config once.
#[derive(Clone)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl EncryptionKey {
    /// A new random key from the operating system's randomness.
    ///
    /// # Panics
    /// If the operating system has no randomness to give (see [`getrandom::fill`]),
    /// in which case no key could be trusted anyway.
    pub fn generate() -> EncryptionKey {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        EncryptionKey(bytes)
    }

    /// Parses 64 hexadecimal characters (either case). Surrounding whitespace, such as
    /// the newline of a key file, is ignored.
    pub fn from_hex(s: &str) -> Result<EncryptionKey, KeyError> {
        let s = s.trim();
        let len = s.chars().count();
        if len != 2 * KEY_LEN {
            return Err(KeyError::WrongLength { len });
        }
        let mut bytes = [0u8; KEY_LEN];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| {
            // Name the first offending character (64 characters, but a non-ASCII one makes
            // the decoder see a wrong length instead).
            let position = s
                .chars()
                .position(|c| !c.is_ascii_hexdigit())
                .map_or(1, |i| i + 1);
            KeyError::NotHex { position }
        })?;
        Ok(EncryptionKey(bytes))
    }

    /// The key as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

/// Why an `ENCRYPTION_KEY` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 64 characters long (after trimming whitespace).
    #[error(
        "ENCRYPTION_KEY must be 64 hex characters (32 bytes), got {len}; generate one with `oored init` or `openssl rand -hex 32`"
    )]
    WrongLength {
        /// Characters given.
        len: usize,
    },
    /// A character that is not `0-9a-fA-F`.
    #[error("ENCRYPTION_KEY must be hexadecimal: invalid character at position {position}")]
    NotHex {
        /// 1-based position of the first bad character.
        position: usize,
    },
}

/// XChaCha20-Poly1305 with the server key; see the module docs for the stored format.
#[derive(Clone)]
pub struct XChaChaCipher {
    aead: XChaCha20Poly1305,
    /// `HMAC-SHA256(key, DIGEST_KEY_LABEL)`, the key of [`SecretCipher::keyed_digest`].
    digest_key: [u8; 32],
}

impl XChaChaCipher {
    /// A cipher using `key`.
    pub fn new(key: &EncryptionKey) -> Self {
        let mut kdf = hmac_sha256(&key.0);
        kdf.update(DIGEST_KEY_LABEL);
        Self {
            aead: XChaCha20Poly1305::new(&Key::from(key.0)),
            digest_key: kdf.finalize().into_bytes().into(),
        }
    }
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

impl fmt::Debug for XChaChaCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XChaChaCipher(***)")
    }
}

impl SecretCipher for XChaChaCipher {
    fn encrypt(
        &self,
        plaintext: &SecretString,
        binding: &SecretBinding,
    ) -> Result<EncryptedSecret, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| CipherError::Seal(format!("no randomness for a nonce: {e}")))?;
        let aad = binding.associated_data();
        let sealed = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Seal("the value is too long to encrypt".to_owned()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(EncryptedSecret::from_bytes(out))
    }

    fn decrypt(
        &self,
        ciphertext: &EncryptedSecret,
        binding: &SecretBinding,
    ) -> Result<SecretString, CipherError> {
        let bytes = ciphertext.as_bytes();
        let (&version, rest) = bytes.split_first().ok_or(CipherError::Undecryptable)?;
        if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CipherError::Undecryptable);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CipherError::Undecryptable)?;
        let aad = binding.associated_data();
        let plain = self
            .aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Undecryptable)?;
        String::from_utf8(plain)
            .map(SecretString::new)
            .map_err(|_| CipherError::Undecryptable)
    }

    fn keyed_digest(&self, value: &SecretString, binding: &SecretBinding) -> [u8; 32] {
        let ad = binding.associated_data();
        let mut mac = hmac_sha256(&self.digest_key);
        mac.update(&(ad.len() as u64).to_be_bytes());
        mac.update(&ad);
        mac.update(value.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// 32 random bytes as 64 lowercase hex characters (URL-safe), for `OORE_ADMIN_TOKEN`
/// and similar bearer tokens.
///
/// # Panics
/// If the operating system's random source fails.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let key = EncryptionKey::generate();
        let text = key.to_hex();
        assert_eq!(text.len(), 64);
        assert_eq!(EncryptionKey::from_hex(&text).unwrap().0, key.0);
        assert_eq!(
            EncryptionKey::from_hex(&format!("{}\n", text.to_uppercase()))
                .unwrap()
                .0,
            key.0
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let key = EncryptionKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "EncryptionKey(***)");
        assert_eq!(
            format!("{:?}", XChaChaCipher::new(&key)),
            "XChaChaCipher(***)"
        );
    }

    #[test]
    fn stored_form_is_version_nonce_ciphertext_tag() {
        let cipher = XChaChaCipher::new(&EncryptionKey::generate());
        let binding = SecretBinding::new("t", "c", "1");
        let sealed = cipher.encrypt(&SecretString::new("abc"), &binding).unwrap();
        assert_eq!(sealed.as_bytes()[0], VERSION);
        assert_eq!(sealed.as_bytes().len(), 1 + NONCE_LEN + 3 + TAG_LEN);
    }

    #[test]
    fn unknown_version_does_not_decrypt() {
        let cipher = XChaChaCipher::new(&EncryptionKey::generate());
        let binding = SecretBinding::new("t", "c", "1");
        let mut bytes = cipher
            .encrypt(&SecretString::new("abc"), &binding)
            .unwrap()
            .as_bytes()
            .to_vec();
        bytes[0] = 2;
        assert_eq!(
            cipher.decrypt(&EncryptedSecret::from_bytes(bytes), &binding),
            Err(CipherError::Undecryptable)
        );
    }

    #[test]
    fn digests_are_hmac_under_a_subkey_of_the_server_key() {
        let key = EncryptionKey::from_hex(&"ab".repeat(32)).unwrap();
        let cipher = XChaChaCipher::new(&key);
        let binding = SecretBinding::new("repositories", "webhook_secret", "1");
        let value = SecretString::new("t0ken");
        let digest = cipher.keyed_digest(&value, &binding);

        // Recomputed from the documented construction.
        let mut kdf = hmac_sha256(&[0xab; 32]);
        kdf.update(b"oore webhook token v1");
        let subkey: [u8; 32] = kdf.finalize().into_bytes().into();
        let ad = binding.associated_data();
        let mut mac = hmac_sha256(&subkey);
        mac.update(&(ad.len() as u64).to_be_bytes());
        mac.update(&ad);
        mac.update(b"t0ken");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(digest, expected);

        let other_key = XChaChaCipher::new(&EncryptionKey::from_hex(&"cd".repeat(32)).unwrap());
        assert_ne!(
            other_key.keyed_digest(&value, &binding),
            digest,
            "keyed by the server key"
        );
    }

    #[test]
    fn tokens_are_64_hex_chars_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
