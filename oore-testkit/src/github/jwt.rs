//! What GitHub checks of an App's JWT (forges.md "What a fake must check" 1): RS256
//! only, a signature by one of the App's keys, `iss` the client id or the App id, `iat`
//! not in the future (60 s allowed), `exp` in the future and at most 10 minutes ahead.
//! Refusals carry GitHub's messages.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::Value;

/// The DER public key (`RSAPublicKey`) of a PEM private key.
///
/// # Panics
/// If `pem` is not an RSA private key: fixtures are.
pub(crate) fn public_key(pem: &str) -> Vec<u8> {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("a PEM private key");
    let pair = match &der {
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => panic!("not an RSA key"),
    }
    .expect("a usable RSA key");
    pair.public().as_ref().to_vec()
}

const UNDECODABLE: &str = "A JSON web token could not be decoded";

/// Checks `jwt` for an App with `client_id`/`app_id` and `keys` at `now` (unix
/// seconds); `Err` is GitHub's message.
pub(crate) fn verify(
    jwt: &str,
    keys: &[Vec<u8>],
    client_id: &str,
    app_id: u64,
    now: i64,
) -> Result<(), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(UNDECODABLE.to_owned());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| UNDECODABLE.to_owned())?;
        serde_json::from_slice(&bytes).map_err(|_| UNDECODABLE.to_owned())
    };
    let header = decode(header)?;
    if header["alg"] != "RS256" {
        return Err(UNDECODABLE.to_owned());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| UNDECODABLE.to_owned())?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    let valid = keys.iter().any(|key| {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
            .verify(signed.as_bytes(), &signature)
            .is_ok()
    });
    if !valid {
        return Err(UNDECODABLE.to_owned());
    }
    let claims = decode(claims)?;
    let iss_ok = match &claims["iss"] {
        Value::String(s) => s == client_id || *s == app_id.to_string(),
        Value::Number(n) => n.as_u64() == Some(app_id),
        _ => false,
    };
    if !iss_ok {
        return Err(format!(
            "'Issuer' claim ('iss') must be an Integer or the App's client ID ({client_id})"
        ));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(UNDECODABLE.to_owned());
    };
    if iat > now + 60 {
        return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.".to_owned());
    }
    if exp <= now {
        return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.".to_owned());
    }
    if exp > now + 600 {
        return Err("'Expiration time' claim ('exp') is too far in the future.".to_owned());
    }
    Ok(())
}
