//! GitHub webhooks: the payloads of `push`, `pull_request`, `ping`, `installation` and
//! `installation_repositories` (forges.md G3), and the `X-Hub-Signature-256` check.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{
    ForgeEvent, GitRef, InstallationEvent, InstallationKind, PayloadError, PingEvent, PrAction,
    PullRequestEvent, PushEvent, ReviewKind, branch, commit_sha, from_json, is_zero_sha, required,
};
use crate::domain::secret::SecretString;

/// The signature header (lowercase, as [`super::DeliveryRequest`] holds names).
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The event name header.
pub const EVENT_HEADER: &str = "x-github-event";
/// The delivery id header (a GUID, the same on redelivery).
pub const DELIVERY_HEADER: &str = "x-github-delivery";

/// Reads a GitHub delivery whose `X-GitHub-Event` is `event`. Events Oore does not act
/// on are [`ForgeEvent::Other`] without reading the body.
pub fn parse(event: &str, body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    match event {
        "push" => push(body),
        "pull_request" => pull_request(body),
        "ping" => {
            let raw: RawPing = from_json(event, body)?;
            Ok(ForgeEvent::Ping(PingEvent {
                zen: raw.zen,
                hook_id: raw.hook_id.or(raw.hook.and_then(|h| h.id)),
            }))
        }
        "installation" => installation(InstallationKind::Installation, body),
        "installation_repositories" => {
            installation(InstallationKind::InstallationRepositories, body)
        }
        other => Ok(ForgeEvent::Other {
            event: other.to_owned(),
        }),
    }
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: Option<String>,
    clone_url: Option<String>,
}

#[derive(Deserialize)]
struct RawUser {
    login: Option<String>,
}

#[derive(Deserialize)]
struct RawCommit {
    message: Option<String>,
}

#[derive(Deserialize)]
struct RawPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    created: Option<bool>,
    deleted: Option<bool>,
    commits: Option<Vec<Option<RawCommit>>>,
    head_commit: Option<RawCommit>,
    repository: Option<RawRepository>,
    sender: Option<RawUser>,
}

fn push(body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    const E: &str = "push";
    let raw: RawPush = from_json(E, body)?;
    let full_ref = required(E, "ref", raw.git_ref)?;
    let git_ref = GitRef::parse(&full_ref).map_err(|e| PayloadError::new(E, e))?;
    let before = commit_sha(E, "before", &required(E, "before", raw.before)?)?;
    let after = commit_sha(E, "after", &required(E, "after", raw.after)?)?;
    let repository = required(E, "repository", raw.repository)?;
    Ok(ForgeEvent::Push(PushEvent {
        git_ref,
        created: raw.created.unwrap_or(false) || is_zero_sha(&before),
        deleted: raw.deleted.unwrap_or(false) || is_zero_sha(&after),
        before,
        after,
        head_commit_message: raw.head_commit.and_then(|c| c.message),
        commit_messages: raw
            .commits
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter_map(|c| c.message)
            .collect(),
        repository: required(E, "repository.full_name", repository.full_name)?,
        clone_url: repository.clone_url,
        sender: raw.sender.and_then(|s| s.login),
    }))
}

#[derive(Deserialize)]
struct RawBranchRef {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    sha: Option<String>,
    repo: Option<RawRepository>,
}

#[derive(Deserialize)]
struct RawPullRequest {
    number: Option<u64>,
    title: Option<String>,
    head: Option<RawBranchRef>,
    base: Option<RawBranchRef>,
    author_association: Option<String>,
}

#[derive(Deserialize)]
struct RawPullRequestEvent {
    action: Option<String>,
    number: Option<u64>,
    pull_request: Option<RawPullRequest>,
    repository: Option<RawRepository>,
    sender: Option<RawUser>,
}

fn pull_request(body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    const E: &str = "pull_request";
    let raw: RawPullRequestEvent = from_json(E, body)?;
    let action_name = required(E, "action", raw.action)?;
    let pr = required(E, "pull_request", raw.pull_request)?;
    let head = required(E, "pull_request.head", pr.head)?;
    let base = required(E, "pull_request.base", pr.base)?;
    let head_sha = commit_sha(
        E,
        "pull_request.head.sha",
        &required(E, "pull_request.head.sha", head.sha)?,
    )?;
    let source = required(E, "pull_request.head.ref", head.git_ref)?;
    let target = required(E, "pull_request.base.ref", base.git_ref)?;
    let base_repository = base.repo.and_then(|r| r.full_name);
    let repository = raw
        .repository
        .and_then(|r| r.full_name)
        .or_else(|| base_repository.clone());
    let source_repository = head.repo.and_then(|r| r.full_name);
    // `head.repo` is null when the fork was deleted: a fork all the same.
    let from_fork = match (
        &source_repository,
        base_repository.as_ref().or(repository.as_ref()),
    ) {
        (Some(source), Some(target)) => !source.eq_ignore_ascii_case(target),
        _ => true,
    };
    let action = match action_name.as_str() {
        "opened" => PrAction::Opened,
        "reopened" => PrAction::Reopened,
        "synchronize" => PrAction::Synchronized,
        "edited" => PrAction::Updated,
        "closed" => PrAction::Closed,
        "labeled" => PrAction::Labeled,
        other => PrAction::Other(other.to_owned()),
    };
    Ok(ForgeEvent::PullRequest(PullRequestEvent {
        kind: ReviewKind::PullRequest,
        action,
        action_name,
        number: required(E, "number", raw.number.or(pr.number))?,
        head_sha,
        source_branch: branch(E, "pull_request.head.ref", &source)?,
        target_branch: branch(E, "pull_request.base.ref", &target)?,
        title: pr.title.unwrap_or_default(),
        repository: required(E, "repository.full_name", repository)?,
        source_repository,
        from_fork,
        author_association: pr.author_association,
        head_commit_message: None,
        sender: raw.sender.and_then(|s| s.login),
    }))
}

#[derive(Deserialize)]
struct RawHook {
    id: Option<u64>,
}

#[derive(Deserialize)]
struct RawPing {
    zen: Option<String>,
    hook_id: Option<u64>,
    hook: Option<RawHook>,
}

#[derive(Deserialize)]
struct RawInstallation {
    id: Option<u64>,
    account: Option<RawUser>,
}

#[derive(Deserialize)]
struct RawInstallationEvent {
    action: Option<String>,
    installation: Option<RawInstallation>,
    repositories: Option<Vec<Option<RawRepository>>>,
    repositories_added: Option<Vec<Option<RawRepository>>>,
    repositories_removed: Option<Vec<Option<RawRepository>>>,
}

fn names(repos: Option<Vec<Option<RawRepository>>>) -> Vec<String> {
    repos
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|r| r.full_name)
        .collect()
}

fn installation(kind: InstallationKind, body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    let e = kind.as_str();
    let raw: RawInstallationEvent = from_json(e, body)?;
    let action = required(e, "action", raw.action)?;
    let (installation_id, account) = raw
        .installation
        .map(|i| (i.id, i.account.and_then(|a| a.login)))
        .unwrap_or_default();
    let mut added = names(raw.repositories_added);
    let mut removed = names(raw.repositories_removed);
    if kind == InstallationKind::Installation {
        match action.as_str() {
            "created" => added.extend(names(raw.repositories)),
            "deleted" => removed.extend(names(raw.repositories)),
            _ => {}
        }
    }
    Ok(ForgeEvent::Installation(InstallationEvent {
        kind,
        action,
        installation_id,
        account,
        repositories_added: added,
        repositories_removed: removed,
    }))
}

/// Why a GitHub signature was refused. The HTTP answer must not say which (401 either
/// way); the stored reason does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error(
        "HMAC verification failed: no X-Hub-Signature-256 header (is a secret set on the GitHub webhook?)"
    )]
    Missing,
    /// The header is not `sha256=<64 hex digits>`.
    #[error("HMAC verification failed: X-Hub-Signature-256 is not sha256=<64 hex digits>")]
    Malformed,
    /// The signature does not match the body and the stored secret.
    #[error(
        "HMAC verification failed: the signature does not match; the secret on GitHub differs from the one stored in Oore"
    )]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw `body` keyed by
/// `secret`, compared in constant time.
pub fn verify_signature(
    secret: &SecretString,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let digits = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(digits).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = hmac_sha256(secret.expose().as_bytes());
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` value GitHub sends for `body` signed with `secret`
/// (`sha256=<lowercase hex>`): for fake forges and tests.
pub fn signature_header(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac_sha256(secret.as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// HMAC-SHA256 keyed by `key`.
pub(crate) fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";

    #[test]
    fn github_documentation_example_verifies() {
        // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(signature_header(SECRET, BODY), header);
        let secret = SecretString::new(SECRET);
        assert_eq!(verify_signature(&secret, Some(header), BODY), Ok(()));
        assert_eq!(
            verify_signature(
                &secret,
                Some(&header.to_uppercase().replace("SHA256", "sha256")),
                BODY
            ),
            Ok(()),
            "hex digits in either case"
        );
    }

    #[test]
    fn signature_failures_are_told_apart_for_the_record() {
        let secret = SecretString::new(SECRET);
        let good = signature_header(SECRET, BODY);
        assert_eq!(
            verify_signature(&secret, None, BODY),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "sha1=abc",
            "sha256=",
            "sha256=zz",
            "sha256=abc",
            &good[..good.len() - 2],
        ] {
            assert_eq!(
                verify_signature(&secret, Some(bad), BODY),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify_signature(&secret, Some(&good), b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&SecretString::new("other"), Some(&good), BODY),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = good.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            verify_signature(&secret, Some(&flipped), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn unknown_events_are_other_without_reading_the_body() {
        assert_eq!(
            parse("issues", b"not json").unwrap(),
            ForgeEvent::Other {
                event: "issues".into()
            }
        );
    }

    #[test]
    fn nulls_and_missing_fields_are_errors_not_panics() {
        let cases: [(&str, &str, &str); 6] = [
            ("push", "{}", "missing field ref"),
            (
                "push",
                r#"{"ref":"refs/heads/main","before":null}"#,
                "missing field before",
            ),
            (
                "push",
                r#"{"ref":"refs/heads/main","before":"x","after":"y"}"#,
                "before is not a commit id",
            ),
            (
                "pull_request",
                r#"{"action":"opened"}"#,
                "missing field pull_request",
            ),
            ("pull_request", "[1,2]", "not the expected JSON"),
            ("ping", "nul", "not the expected JSON"),
        ];
        for (event, body, want) in cases {
            let err = parse(event, body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(want), "{event} {body}: {err}");
        }
    }

    #[test]
    fn a_minimal_push_is_enough() {
        let body = format!(
            r#"{{"ref":"refs/heads/main","before":"{}","after":"{}","repository":{{"full_name":"a/b"}},"head_commit":null,"commits":[null]}}"#,
            "1".repeat(40),
            "2".repeat(40)
        );
        let ForgeEvent::Push(p) = parse("push", body.as_bytes()).unwrap() else {
            panic!("a push");
        };
        assert_eq!(p.git_ref.name(), "main");
        assert!(!p.created && !p.deleted);
        assert_eq!(p.head_commit_message, None);
        assert!(p.commit_messages.is_empty());
    }
}
