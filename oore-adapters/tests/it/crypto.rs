//! `XChaChaCipher` against the `SecretCipher` contract, and `EncryptionKey` parsing.

use oore_adapters::crypto::{EncryptionKey, KeyError, XChaChaCipher, random_token};
use oore_core::domain::secret::{SecretBinding, SecretString};
use oore_core::ports::{CipherError, SecretCipher};

fn binding() -> SecretBinding {
    SecretBinding::new(
        "repositories",
        "webhook_secret",
        "01KAZ0000000000000000000AB",
    )
}

oore_core::contract_tests!(secret_cipher, |case| case(&XChaChaCipher::new(
    &EncryptionKey::generate()
)));

#[test]
fn two_encryptions_of_the_same_value_differ() {
    let cipher = XChaChaCipher::new(&EncryptionKey::generate());
    let secret = SecretString::new("hunter2");
    let a = cipher.encrypt(&secret, &binding()).unwrap();
    let b = cipher.encrypt(&secret, &binding()).unwrap();
    assert_ne!(a, b, "every value gets a fresh nonce");
    assert_eq!(
        cipher.decrypt(&a, &binding()).unwrap(),
        cipher.decrypt(&b, &binding()).unwrap()
    );
}

#[test]
fn a_value_decrypts_only_with_the_key_that_sealed_it() {
    let key = EncryptionKey::generate();
    let sealed = XChaChaCipher::new(&key)
        .encrypt(&SecretString::new("hunter2"), &binding())
        .unwrap();
    let other = XChaChaCipher::new(&EncryptionKey::generate());
    assert_eq!(
        other.decrypt(&sealed, &binding()),
        Err(CipherError::Undecryptable)
    );
    let same = XChaChaCipher::new(&EncryptionKey::from_hex(&key.to_hex()).unwrap());
    assert_eq!(
        same.decrypt(&sealed, &binding()).unwrap().expose(),
        "hunter2"
    );
}

#[test]
fn ciphertext_does_not_contain_the_plaintext() {
    let cipher = XChaChaCipher::new(&EncryptionKey::generate());
    let sealed = cipher
        .encrypt(&SecretString::new("hunter2-hunter2"), &binding())
        .unwrap();
    assert!(!String::from_utf8_lossy(sealed.as_bytes()).contains("hunter2"));
    assert!(!format!("{sealed:?}").contains("hunter2"));
}

#[test]
fn key_of_the_wrong_length_is_rejected_with_advice() {
    let err = EncryptionKey::from_hex("abc").unwrap_err();
    assert_eq!(err, KeyError::WrongLength { len: 3 });
    assert_eq!(
        err.to_string(),
        "ENCRYPTION_KEY must be 64 hex characters (32 bytes), got 3; \
         generate one with `oored init` or `openssl rand -hex 32`"
    );
    assert_eq!(
        EncryptionKey::from_hex(&"a".repeat(66)).unwrap_err(),
        KeyError::WrongLength { len: 66 }
    );
    assert_eq!(
        EncryptionKey::from_hex("").unwrap_err(),
        KeyError::WrongLength { len: 0 }
    );
}

#[test]
fn key_with_a_non_hex_character_names_its_position() {
    let mut text = "0".repeat(64);
    text.replace_range(9..10, "g");
    let err = EncryptionKey::from_hex(&text).unwrap_err();
    assert_eq!(err, KeyError::NotHex { position: 10 });
    assert_eq!(
        err.to_string(),
        "ENCRYPTION_KEY must be hexadecimal: invalid character at position 10"
    );

    let unicode = format!("é{}", "0".repeat(63));
    assert_eq!(
        EncryptionKey::from_hex(&unicode).unwrap_err(),
        KeyError::NotHex { position: 1 }
    );
}

#[test]
fn key_debug_never_shows_the_key() {
    let key = EncryptionKey::generate();
    let debug = format!("{key:?}");
    assert_eq!(debug, "EncryptionKey(***)");
    assert!(!debug.contains(&key.to_hex()));
}

#[test]
fn admin_tokens_are_random_and_url_safe() {
    let token = random_token();
    assert_eq!(token.len(), 64);
    assert!(
        token
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    );
    assert_ne!(token, random_token());
}
