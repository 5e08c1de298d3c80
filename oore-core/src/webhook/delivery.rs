//! One HTTP delivery as the receiver hands it over, its verification against the
//! repository its URL names, its delivery id, and the headers worth keeping.

use std::fmt;

use sha2::{Digest, Sha256};

use super::github::{self, SignatureError};
use super::gitlab::{self, TokenError};
use crate::domain::repository::{Provider, Repository};
use crate::domain::secret::StoredSecret;
use crate::ids::RepositoryId;
use crate::ports::SecretCipher;
use crate::usecases::repository::webhook_secret_binding;

/// How much of a rejected delivery's body is kept for debugging (with its headers and
/// its size): rejected requests are unauthenticated, so they must not be able to fill
/// the database. 16 KiB shows what was sent without storing it all.
pub const REJECTED_PAYLOAD_LIMIT: usize = 16 * 1024;

/// Longest delivery id or event name accepted.
const MAX_HEADER_VALUE: usize = 200;

/// Headers never stored: they carry secrets.
const SECRET_HEADERS: &[&str] = &[
    "x-hub-signature",
    "x-hub-signature-256",
    "x-gitlab-token",
    "authorization",
    "proxy-authorization",
    "cookie",
];

/// A delivery as received on `/api/webhooks/{provider}/{repository_id}`: everything the
/// core needs, nothing HTTP-specific.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRequest {
    /// The provider named by the URL.
    pub provider: Provider,
    /// The repository named by the URL.
    pub repository_id: RepositoryId,
    /// Request headers in the order received. Names are matched case-insensitively
    /// (pass them lowercase, as HTTP/2 and the `http` crate do).
    pub headers: Vec<(String, String)>,
    /// The exact body bytes (signatures are over these).
    pub body: Vec<u8>,
    /// The peer address (or the proxy-reported client address).
    pub source_ip: Option<String>,
}

impl DeliveryRequest {
    /// The first header called `name` (case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The event name header of the URL's provider (`X-GitHub-Event`, `X-Gitlab-Event`).
    pub fn event_type(&self) -> Option<&str> {
        match self.provider {
            Provider::GitHub => self.header(github::EVENT_HEADER),
            Provider::GitLab => self.header(gitlab::EVENT_HEADER),
            Provider::Git => None,
        }
        .map(str::trim)
        .filter(|v| !v.is_empty())
    }
}

/// A delivery that passed [`check_delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDelivery {
    /// The id that decides duplicates (see [`delivery_id`]).
    pub delivery_id: String,
    /// The event name as sent.
    pub event_type: String,
}

/// Why a delivery was not accepted. Its `Display` is the reason stored with the rejected
/// event (spec 11.1: "HMAC verification failed ...") or, for the refusals known before
/// the body ([`Rejection::is_before_body`]), logged with the refusal count; the HTTP
/// answer says only [`Rejection::public_message`], so a caller learns nothing about
/// secrets or ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No repository with the URL's id (or it was removed).
    UnknownRepository(RepositoryId),
    /// The URL names another provider than the repository's.
    WrongProvider {
        /// In the URL.
        url: Provider,
        /// Of the repository.
        repository: Provider,
    },
    /// The repository has no webhook secret, so nothing can be verified.
    NoSecret,
    /// The stored secret cannot be used: undecryptable (wrong `ENCRYPTION_KEY`), or a
    /// digest where GitHub needs the secret itself.
    UnusableSecret(&'static str),
    /// GitHub signature check failed.
    Signature(SignatureError),
    /// GitLab token check failed.
    Token(TokenError),
    /// A verified delivery lacks a header Oore needs, or has an absurd one.
    BadHeader(String),
}

impl Rejection {
    /// True when the answer is 401 (every case but a verified request with a bad
    /// header, which is 400). Unknown repositories are 401 too: the answer must not tell
    /// whether an id exists.
    pub fn is_unauthorized(&self) -> bool {
        !matches!(self, Self::BadHeader(_))
    }

    /// True for the refusals known before the body is read (no repository, another
    /// provider's, no secret): nothing could be verified, so the receiver answers without
    /// reading the body and stores nothing.
    pub fn is_before_body(&self) -> bool {
        matches!(
            self,
            Self::UnknownRepository(_) | Self::WrongProvider { .. } | Self::NoSecret
        )
    }

    /// The message for the HTTP answer: generic for every verification failure.
    pub fn public_message(&self) -> String {
        match self {
            Self::BadHeader(why) => why.clone(),
            _ => "webhook verification failed".to_owned(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownRepository(id) => write!(
                f,
                "no repository {id}: it was removed or never added; update the webhook URL on the forge"
            ),
            Self::WrongProvider { url, repository } => write!(
                f,
                "the URL is for {url} but the repository is on {repository}; use the URL `oore repo webhook-url` shows"
            ),
            Self::NoSecret => f.write_str(
                "no webhook secret is stored for this repository; set the one configured on the forge with `oore repo update <id> --webhook-secret ...`",
            ),
            Self::UnusableSecret(why) => f.write_str(why),
            Self::Signature(e) => e.fmt(f),
            Self::Token(e) => e.fmt(f),
            Self::BadHeader(why) => f.write_str(why),
        }
    }
}

/// Whether deliveries to `repository` at the URL of `provider` can be verified at all:
/// the checks of [`check_delivery`] that need no body.
pub fn check_receiver(provider: Provider, repository: &Repository) -> Result<(), Rejection> {
    if provider != repository.provider || !provider.has_webhooks() {
        return Err(Rejection::WrongProvider {
            url: provider,
            repository: repository.provider,
        });
    }
    if repository.webhook_secret.is_none() {
        return Err(Rejection::NoSecret);
    }
    Ok(())
}

/// Verifies `request` against `repository` (the one its URL names) and reads its event
/// name and delivery id. Pure; `cipher` opens or digests the stored secret.
///
/// Order: provider, secret, signature or token, then headers, so nothing about an
/// unverified request is trusted.
pub fn check_delivery(
    request: &DeliveryRequest,
    repository: &Repository,
    cipher: &dyn SecretCipher,
) -> Result<VerifiedDelivery, Rejection> {
    check_receiver(request.provider, repository)?;
    let stored = repository
        .webhook_secret
        .as_ref()
        .ok_or(Rejection::NoSecret)?;
    let binding = webhook_secret_binding(repository.id);
    match (request.provider, stored) {
        (Provider::GitHub, StoredSecret::Sealed(sealed)) => {
            let secret = cipher.decrypt(sealed, &binding).map_err(|_| {
                Rejection::UnusableSecret(
                    "HMAC verification failed: the stored webhook secret cannot be decrypted; check ENCRYPTION_KEY or set the secret again",
                )
            })?;
            github::verify_signature(
                &secret,
                request.header(github::SIGNATURE_HEADER),
                &request.body,
            )
            .map_err(Rejection::Signature)?;
        }
        (Provider::GitHub, StoredSecret::Digest(_)) => {
            return Err(Rejection::UnusableSecret(
                "HMAC verification failed: only a digest of the webhook secret is stored, and GitHub signatures need the secret itself; set the secret again",
            ));
        }
        (_, stored) => {
            gitlab::verify_token(
                cipher,
                stored,
                &binding,
                request.header(gitlab::TOKEN_HEADER),
            )
            .map_err(Rejection::Token)?;
        }
    }
    let event_type = request.event_type().ok_or_else(|| {
        Rejection::BadHeader(match request.provider {
            Provider::GitHub => "missing X-GitHub-Event header".to_owned(),
            _ => "missing X-Gitlab-Event header".to_owned(),
        })
    })?;
    if event_type.len() > MAX_HEADER_VALUE || event_type.chars().any(char::is_control) {
        return Err(Rejection::BadHeader(
            "the event header is not an event name".to_owned(),
        ));
    }
    let delivery_id = delivery_id(request).ok_or_else(|| {
        Rejection::BadHeader(
            "missing or invalid X-GitHub-Delivery header: expected the delivery GUID".to_owned(),
        )
    })?;
    Ok(VerifiedDelivery {
        delivery_id,
        event_type: event_type.to_owned(),
    })
}

/// The id that tells a redelivery from a new event, unique per provider:
///
/// - GitHub: `X-GitHub-Delivery`, a GUID GitHub keeps on redelivery;
/// - GitLab: `Idempotency-Key` when present (newer GitLab: one UUID per event, kept when
///   the event is re-sent), else the lowercase hex SHA-256 of the body (spec 20:
///   identical bodies are one event).
///
/// GitLab's `X-Gitlab-Event-UUID` is NOT used: it is a recursion-detection id that GitLab
/// copies from the inbound request when the API call that caused the event came from a
/// webhook receiver, so distinct events can share it (forges.md L5). Nor is
/// `X-Gitlab-Webhook-UUID`, which is new for every attempt, redeliveries included.
///
/// `None` when a GitHub delivery has no usable `X-GitHub-Delivery` (at most 200
/// printable ASCII characters).
pub fn delivery_id(request: &DeliveryRequest) -> Option<String> {
    let usable = |v: &str| {
        let v = v.trim();
        (!v.is_empty() && v.len() <= MAX_HEADER_VALUE && v.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| v.to_owned())
    };
    match request.provider {
        Provider::GitHub => request.header(github::DELIVERY_HEADER).and_then(usable),
        _ => request
            .header(gitlab::IDEMPOTENCY_HEADER)
            .and_then(usable)
            .or_else(|| Some(sha256_hex(&request.body))),
    }
}

/// The headers worth keeping for the audit trail: names lowercase, order kept, and
/// without the headers that carry secrets (`X-Hub-Signature*`, `X-Gitlab-Token`,
/// `Authorization`, `Proxy-Authorization`, `Cookie`).
pub fn stored_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| !SECRET_HEADERS.contains(&n.as_str()))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::secret::{SecretString, StoredSecret};
    use crate::testing::FakeCipher;
    use crate::testing::contract::sample_repository;

    fn github_repo(secret: &str) -> Repository {
        let mut repo = sample_repository(1, Provider::GitHub, "acme", "app");
        let sealed = FakeCipher
            .encrypt(&SecretString::new(secret), &webhook_secret_binding(repo.id))
            .unwrap();
        repo.webhook_secret = Some(StoredSecret::Sealed(sealed));
        repo
    }

    fn gitlab_repo(token: &str) -> Repository {
        let mut repo = sample_repository(2, Provider::GitLab, "group/sub", "app");
        let digest =
            FakeCipher.keyed_digest(&SecretString::new(token), &webhook_secret_binding(repo.id));
        repo.webhook_secret = Some(StoredSecret::Digest(digest));
        repo
    }

    fn request(repo: &Repository, headers: &[(&str, &str)], body: &[u8]) -> DeliveryRequest {
        DeliveryRequest {
            provider: repo.provider,
            repository_id: repo.id,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
            source_ip: Some("192.0.2.1".into()),
        }
    }

    #[test]
    fn a_signed_github_delivery_is_verified() {
        let repo = github_repo("s3cret");
        let body = br#"{"zen":"hi"}"#;
        let sig = github::signature_header("s3cret", body);
        let req = request(
            &repo,
            &[
                ("X-GitHub-Event", "ping"),
                ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
                ("x-hub-signature-256", &sig),
            ],
            body,
        );
        assert_eq!(
            check_delivery(&req, &repo, &FakeCipher),
            Ok(VerifiedDelivery {
                delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                event_type: "ping".into(),
            })
        );
    }

    #[test]
    fn github_rejections_say_why_only_in_the_record() {
        let repo = github_repo("s3cret");
        let body = b"{}";
        let sig = github::signature_header("wrong", body);
        let base = [("x-github-event", "push"), ("x-github-delivery", "d1")];
        let cases: Vec<(Vec<(&str, &str)>, Rejection)> = vec![
            (base.to_vec(), Rejection::Signature(SignatureError::Missing)),
            (
                [&base[..], &[("x-hub-signature-256", "sha256=xyz")]].concat(),
                Rejection::Signature(SignatureError::Malformed),
            ),
            (
                [&base[..], &[("x-hub-signature-256", sig.as_str())]].concat(),
                Rejection::Signature(SignatureError::Mismatch),
            ),
        ];
        for (headers, want) in cases {
            let err =
                check_delivery(&request(&repo, &headers, body), &repo, &FakeCipher).unwrap_err();
            assert_eq!(err, want);
            assert!(err.is_unauthorized());
            assert_eq!(err.public_message(), "webhook verification failed");
            assert!(
                err.to_string().starts_with("HMAC verification failed"),
                "{err}"
            );
        }
    }

    #[test]
    fn headers_are_checked_only_after_the_signature() {
        let repo = github_repo("s3cret");
        let body = b"{}";
        let sig = github::signature_header("s3cret", body);
        let no_event = request(
            &repo,
            &[("x-hub-signature-256", &sig), ("x-github-delivery", "d")],
            body,
        );
        let err = check_delivery(&no_event, &repo, &FakeCipher).unwrap_err();
        assert!(!err.is_unauthorized());
        assert_eq!(err.public_message(), "missing X-GitHub-Event header");
        let no_delivery = request(
            &repo,
            &[("x-hub-signature-256", &sig), ("x-github-event", "push")],
            body,
        );
        assert!(matches!(
            check_delivery(&no_delivery, &repo, &FakeCipher),
            Err(Rejection::BadHeader(_))
        ));
        let unsigned = request(&repo, &[], body);
        assert_eq!(
            check_delivery(&unsigned, &repo, &FakeCipher),
            Err(Rejection::Signature(SignatureError::Missing))
        );
    }

    #[test]
    fn gitlab_tokens_and_delivery_ids() {
        let repo = gitlab_repo("t0ken");
        let body = br#"{"object_kind":"push"}"#;
        let ok = request(
            &repo,
            &[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "t0ken")],
            body,
        );
        let verified = check_delivery(&ok, &repo, &FakeCipher).unwrap();
        assert_eq!(verified.event_type, "Push Hook");
        assert_eq!(
            verified.delivery_id.len(),
            64,
            "SHA-256 of the body without Idempotency-Key"
        );
        assert_eq!(
            verified.delivery_id,
            sha256_hex(body),
            "identical bodies are one delivery"
        );

        let keyed = request(
            &repo,
            &[
                ("x-gitlab-event", "Push Hook"),
                ("x-gitlab-token", "t0ken"),
                ("x-gitlab-event-uuid", "not-this"),
                ("idempotency-key", "9a0c3d5e-1111-2222-3333-444455556666"),
            ],
            body,
        );
        assert_eq!(
            check_delivery(&keyed, &repo, &FakeCipher)
                .unwrap()
                .delivery_id,
            "9a0c3d5e-1111-2222-3333-444455556666"
        );

        let wrong = request(
            &repo,
            &[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "nope")],
            body,
        );
        assert_eq!(
            check_delivery(&wrong, &repo, &FakeCipher),
            Err(Rejection::Token(TokenError::Mismatch))
        );
        let missing = request(&repo, &[("x-gitlab-event", "Push Hook")], body);
        assert_eq!(
            check_delivery(&missing, &repo, &FakeCipher),
            Err(Rejection::Token(TokenError::Missing))
        );
    }

    #[test]
    fn provider_and_secret_must_fit() {
        let gh = github_repo("s");
        let mut wrong_url = request(&gh, &[], b"{}");
        wrong_url.provider = Provider::GitLab;
        assert!(matches!(
            check_delivery(&wrong_url, &gh, &FakeCipher),
            Err(Rejection::WrongProvider { .. })
        ));
        let mut pending = gh.clone();
        pending.webhook_secret = None;
        assert_eq!(
            check_delivery(&request(&pending, &[], b"{}"), &pending, &FakeCipher),
            Err(Rejection::NoSecret)
        );
        let mut digest_only = gh.clone();
        digest_only.webhook_secret = Some(StoredSecret::Digest([0; 32]));
        assert!(matches!(
            check_delivery(
                &request(&digest_only, &[], b"{}"),
                &digest_only,
                &FakeCipher
            ),
            Err(Rejection::UnusableSecret(_))
        ));
    }

    #[test]
    fn secrets_are_not_kept_in_headers() {
        let headers = vec![
            ("X-Hub-Signature-256".to_owned(), "sha256=ab".to_owned()),
            ("X-Hub-Signature".to_owned(), "sha1=ab".to_owned()),
            ("X-Gitlab-Token".to_owned(), "t".to_owned()),
            ("Authorization".to_owned(), "Bearer x".to_owned()),
            ("X-GitHub-Event".to_owned(), "push".to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        assert_eq!(
            stored_headers(&headers),
            vec![
                ("x-github-event".to_owned(), "push".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]
        );
    }
}
