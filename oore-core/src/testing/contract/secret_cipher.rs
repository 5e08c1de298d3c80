//! The [`SecretCipher`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(secret_cipher, ...)`; the cases are plain
//! functions (a cipher does no IO).

use crate::domain::secret::{EncryptedSecret, SecretBinding, SecretString};
use crate::ports::SecretCipher;

fn binding() -> SecretBinding {
    SecretBinding::new(
        "repositories",
        "webhook_secret",
        "01J0000000000000000000000A",
    )
}

fn other_row() -> SecretBinding {
    SecretBinding::new(
        "repositories",
        "webhook_secret",
        "01J0000000000000000000000B",
    )
}

fn other_column() -> SecretBinding {
    SecretBinding::new("repositories", "other", "01J0000000000000000000000A")
}

fn secret() -> SecretString {
    SecretString::new("p@ss wörd ✓")
}

pub fn a_value_decrypts_only_with_its_binding(cipher: &dyn SecretCipher) {
    let sealed = cipher.encrypt(&secret(), &binding()).expect("encrypt");
    assert_eq!(
        cipher.decrypt(&sealed, &binding()).expect("decrypt"),
        secret()
    );
    assert!(
        cipher.decrypt(&sealed, &other_row()).is_err(),
        "a value moved to another row must not decrypt"
    );
    assert!(
        cipher.decrypt(&sealed, &other_column()).is_err(),
        "a value moved to another column must not decrypt"
    );
}

pub fn tampered_or_empty_ciphertext_does_not_decrypt(cipher: &dyn SecretCipher) {
    let sealed = cipher.encrypt(&secret(), &binding()).expect("encrypt");
    let mut tampered = sealed.as_bytes().to_vec();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    assert!(
        cipher
            .decrypt(&EncryptedSecret::from_bytes(tampered), &binding())
            .is_err()
    );
    assert!(
        cipher
            .decrypt(&EncryptedSecret::from_bytes(Vec::new()), &binding())
            .is_err()
    );
}

pub fn an_empty_secret_round_trips(cipher: &dyn SecretCipher) {
    let empty = SecretString::new("");
    let sealed_empty = cipher.encrypt(&empty, &binding()).expect("encrypt");
    assert_eq!(
        cipher.decrypt(&sealed_empty, &binding()).expect("decrypt"),
        empty
    );
}

pub fn digests_are_deterministic_keyed_and_bound_to_their_row(cipher: &dyn SecretCipher) {
    let (secret, binding) = (secret(), binding());
    let digest = cipher.keyed_digest(&secret, &binding);
    assert_eq!(
        digest,
        cipher.keyed_digest(&secret, &binding),
        "a digest is deterministic"
    );
    assert_ne!(
        digest,
        cipher.keyed_digest(&SecretString::new("p@ss wörd ✗"), &binding)
    );
    assert_ne!(
        digest,
        cipher.keyed_digest(&secret, &other_row()),
        "a digest is bound to its row"
    );
    assert_ne!(digest, cipher.keyed_digest(&secret, &other_column()));
    assert_ne!(
        cipher.keyed_digest(&SecretString::new(""), &binding),
        [0u8; 32]
    );
    use sha2::Digest as _;
    assert_ne!(
        digest.as_slice(),
        sha2::Sha256::digest(secret.expose().as_bytes()).as_slice(),
        "a digest is keyed, not a plain hash"
    );
}
