//! The App's JWT (forges.md G2): RS256 over `{"alg":"RS256","typ":"JWT"}` and
//! `{iat, exp, iss}`, with `iat` 60 s in the past (clock drift) and `exp` 9 minutes
//! ahead (GitHub's limit is 10 after its own clock). The key is parsed from PKCS#1
//! (`BEGIN RSA PRIVATE KEY`, what GitHub hands out) or PKCS#8 PEM.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use oore_core::domain::secret::SecretString;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;

/// How far `iat` is set back.
pub(crate) const BACKDATE_SECS: i64 = 60;
/// How far `exp` is set ahead of now.
pub(crate) const LIFETIME_SECS: i64 = 540;

/// Parses an RSA private key from PEM; `Err` says what is wrong, without key material.
pub(crate) fn parse_key(pem: &SecretString) -> Result<RsaKeyPair, String> {
    let der = PrivateKeyDer::from_pem_slice(pem.expose().as_bytes()).map_err(|_| {
        "no PEM private key found (expected `-----BEGIN RSA PRIVATE KEY-----`)".to_owned()
    })?;
    let pair = match &der {
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err("the key is not an RSA key (GitHub App keys are RSA)".to_owned()),
    };
    pair.map_err(|e| format!("the RSA key is not usable ({e})"))
}

/// A JWT for the App `client_id`, signed with `key`, as of `now`.
pub(crate) fn app_jwt(key: &RsaKeyPair, client_id: &str, now: Timestamp) -> Result<String, String> {
    let now = now.as_second();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iat": now - BACKDATE_SECS,
        "exp": now + LIFETIME_SECS,
        "iss": client_id,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the JWT failed".to_owned())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    use super::*;

    const KEY: &str = include_str!("../../../oore-testkit/fixtures/github/app-key-1.pem");
    const PKCS8: &str = include_str!("../../../oore-testkit/fixtures/github/app-key-2.pkcs8.pem");

    #[test]
    fn jwts_verify_with_the_public_key_and_carry_the_window() {
        let key = parse_key(&SecretString::new(KEY)).unwrap();
        let now = Timestamp::from_second(1_767_225_600).unwrap();
        let jwt = app_jwt(&key, "Iv1.abc", now).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "Iv1.abc");
        assert_eq!(claims["iat"], 1_767_225_540);
        assert_eq!(claims["exp"], 1_767_226_140);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public().as_ref())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn pkcs8_keys_parse_and_garbage_is_explained() {
        parse_key(&SecretString::new(PKCS8)).unwrap();
        let e = parse_key(&SecretString::new("hello")).unwrap_err();
        assert!(e.contains("BEGIN RSA PRIVATE KEY"), "{e}");
    }
}
