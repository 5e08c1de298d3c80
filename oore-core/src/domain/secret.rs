//! Secrets: plaintext that never prints, and ciphertext bound to the row it belongs to.

use std::fmt;

/// A plaintext secret (webhook secret, token, private key). Its `Debug` prints
/// `SecretString(***)` and it has no `Display`, so it cannot end up in a log line by
/// accident. Read it with [`SecretString::expose`] at the moment of use only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a plaintext secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext. Call this only where the secret is used (signing, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// Ciphertext as stored: nonce and sealed bytes in one opaque blob. Only a
/// [`SecretCipher`](crate::ports::SecretCipher) can open it, and only with the same
/// [`SecretBinding`] it was sealed with.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedSecret(Vec<u8>);

impl EncryptedSecret {
    /// Wraps stored ciphertext.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for EncryptedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptedSecret({} bytes)", self.0.len())
    }
}

/// A repository's webhook secret as stored: sealed where the plaintext is needed again,
/// a keyed digest where comparing is enough.
///
/// GitHub signs each delivery with HMAC-SHA256 keyed by the secret, so verifying needs
/// the secret itself: it is [`StoredSecret::Sealed`]. GitLab sends its token verbatim in
/// `X-Gitlab-Token`, so Oore keeps only
/// [`SecretCipher::keyed_digest`](crate::ports::SecretCipher::keyed_digest) of it
/// ([`StoredSecret::Digest`], spec 20.2 "GitLab webhook tokens: HMAC (not encrypted, but
/// hashed)") and compares digests: a database leak without the server key reveals no
/// token, and a digest copied to another row does not verify there (it is bound to its
/// row like a sealed value).
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// Sealed with the server key (GitHub webhook secrets).
    Sealed(EncryptedSecret),
    /// Keyed HMAC-SHA256 of the value, bound to its row (GitLab webhook tokens).
    Digest([u8; 32]),
}

impl StoredSecret {
    /// `sealed` or `digest`, the stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sealed(_) => "sealed",
            Self::Digest(_) => "digest",
        }
    }
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sealed(sealed) => write!(f, "Sealed({sealed:?})"),
            Self::Digest(_) => f.write_str("Digest(***)"),
        }
    }
}

/// Where a secret lives: table, column and row id. Used as associated data, so a
/// ciphertext copied to another row or column fails to decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretBinding {
    /// Table name, e.g. `repositories`.
    pub table: &'static str,
    /// Column name, e.g. `webhook_secret`.
    pub column: &'static str,
    /// The row's id.
    pub row_id: String,
}

impl SecretBinding {
    /// A binding for `table.column` of row `row_id`.
    pub fn new(table: &'static str, column: &'static str, row_id: impl fmt::Display) -> Self {
        Self {
            table,
            column,
            row_id: row_id.to_string(),
        }
    }

    /// The associated-data bytes: `table\0column\0row_id`.
    pub fn associated_data(&self) -> Vec<u8> {
        format!("{}\0{}\0{}", self.table, self.column, self.row_id).into_bytes()
    }
}

/// Compares two byte strings in time that depends only on their lengths, for tokens and
/// signatures.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_plaintext() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "SecretString(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(SecretString(***))");
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn bindings_differ_per_row_and_column() {
        let a = SecretBinding::new("repositories", "webhook_secret", "1");
        let b = SecretBinding::new("repositories", "webhook_secret", "2");
        let c = SecretBinding::new("repositories", "other", "1");
        assert_ne!(a.associated_data(), b.associated_data());
        assert_ne!(a.associated_data(), c.associated_data());
    }
}
