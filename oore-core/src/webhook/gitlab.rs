//! GitLab webhooks: the payloads of `Push Hook`, `Tag Push Hook` and `Merge Request Hook`
//! (forges.md L5), and the `X-Gitlab-Token` check against the stored keyed digest.

use serde::Deserialize;

use super::{
    ForgeEvent, GitRef, PayloadError, PrAction, PullRequestEvent, PushEvent, ReviewKind, branch,
    commit_sha, from_json, is_zero_sha, required,
};
use crate::domain::secret::{SecretBinding, SecretString, StoredSecret, constant_time_eq};
use crate::ports::SecretCipher;

/// The token header (lowercase).
pub const TOKEN_HEADER: &str = "x-gitlab-token";
/// The event name header (`Push Hook`, `Merge Request Hook`, ...).
pub const EVENT_HEADER: &str = "x-gitlab-event";
/// The per-event key GitLab reuses when an event is re-sent (newer versions).
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Reads a GitLab delivery whose `X-Gitlab-Event` is `event_header`. A `System Hook` is
/// read by its `object_kind`. Events Oore does not act on are [`ForgeEvent::Other`].
pub fn parse(event_header: &str, body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    match event_header {
        "Push Hook" | "Tag Push Hook" => push(event_header, body),
        "Merge Request Hook" => merge_request(event_header, body),
        "System Hook" => {
            let kind: RawKind = from_json(event_header, body)?;
            match kind.object_kind.as_deref() {
                Some("push" | "tag_push") => push(event_header, body),
                Some("merge_request") => merge_request(event_header, body),
                _ => Ok(ForgeEvent::Other {
                    event: event_header.to_owned(),
                }),
            }
        }
        other => Ok(ForgeEvent::Other {
            event: other.to_owned(),
        }),
    }
}

#[derive(Deserialize)]
struct RawKind {
    object_kind: Option<String>,
}

#[derive(Deserialize)]
struct RawProject {
    path_with_namespace: Option<String>,
    git_http_url: Option<String>,
}

#[derive(Deserialize)]
struct RawCommit {
    id: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct RawUser {
    username: Option<String>,
}

#[derive(Deserialize)]
struct RawPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    checkout_sha: Option<String>,
    user_username: Option<String>,
    project: Option<RawProject>,
    commits: Option<Vec<Option<RawCommit>>>,
}

fn push(event: &str, body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    let raw: RawPush = from_json(event, body)?;
    let full_ref = required(event, "ref", raw.git_ref)?;
    let git_ref = GitRef::parse(&full_ref).map_err(|e| PayloadError::new(event, e))?;
    let before = commit_sha(event, "before", &required(event, "before", raw.before)?)?;
    let after = commit_sha(event, "after", &required(event, "after", raw.after)?)?;
    let project = required(event, "project", raw.project)?;
    let commits: Vec<RawCommit> = raw
        .commits
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    // The commit the ref now points to: `checkout_sha` (null when deleted), else `after`;
    // GitLab lists the newest commits last.
    let head = raw
        .checkout_sha
        .as_deref()
        .unwrap_or(&after)
        .to_ascii_lowercase();
    let head_commit_message = commits
        .iter()
        .find(|c| {
            c.id.as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&head))
        })
        .or_else(|| commits.last())
        .and_then(|c| c.message.clone());
    Ok(ForgeEvent::Push(PushEvent {
        git_ref,
        created: is_zero_sha(&before),
        deleted: is_zero_sha(&after),
        before,
        after,
        head_commit_message,
        commit_messages: commits.into_iter().filter_map(|c| c.message).collect(),
        repository: required(
            event,
            "project.path_with_namespace",
            project.path_with_namespace,
        )?,
        clone_url: project.git_http_url,
        sender: raw.user_username,
    }))
}

#[derive(Deserialize)]
struct RawMergeRequestAttributes {
    iid: Option<u64>,
    action: Option<String>,
    source_branch: Option<String>,
    target_branch: Option<String>,
    title: Option<String>,
    oldrev: Option<String>,
    last_commit: Option<RawCommit>,
    source: Option<RawProject>,
    target: Option<RawProject>,
    source_project_id: Option<u64>,
    target_project_id: Option<u64>,
}

#[derive(Deserialize)]
struct RawMergeRequest {
    user: Option<RawUser>,
    project: Option<RawProject>,
    object_attributes: Option<RawMergeRequestAttributes>,
}

fn merge_request(event: &str, body: &[u8]) -> Result<ForgeEvent, PayloadError> {
    let raw: RawMergeRequest = from_json(event, body)?;
    let attrs = required(event, "object_attributes", raw.object_attributes)?;
    let action_name = attrs.action.unwrap_or_default();
    let new_commits = attrs
        .oldrev
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    let action = match action_name.as_str() {
        "open" => PrAction::Opened,
        "reopen" => PrAction::Reopened,
        "update" if new_commits => PrAction::Synchronized,
        "update" => PrAction::Updated,
        "close" => PrAction::Closed,
        "merge" => PrAction::Merged,
        "" => PrAction::Other("unknown".to_owned()),
        other => PrAction::Other(other.to_owned()),
    };
    let last_commit = required(event, "object_attributes.last_commit", attrs.last_commit)?;
    let head_sha = commit_sha(
        event,
        "object_attributes.last_commit.id",
        &required(event, "object_attributes.last_commit.id", last_commit.id)?,
    )?;
    let source = required(
        event,
        "object_attributes.source_branch",
        attrs.source_branch,
    )?;
    let target = required(
        event,
        "object_attributes.target_branch",
        attrs.target_branch,
    )?;
    let repository = required(
        event,
        "project.path_with_namespace",
        raw.project.and_then(|p| p.path_with_namespace),
    )?;
    let source_repository = attrs.source.and_then(|p| p.path_with_namespace);
    // By project id, which survives renames; by path when a payload lacks the ids; a
    // fork when it says neither.
    let from_fork = match (attrs.source_project_id, attrs.target_project_id) {
        (Some(source), Some(target)) => source != target,
        _ => {
            let target = attrs
                .target
                .and_then(|p| p.path_with_namespace)
                .unwrap_or_else(|| repository.clone());
            source_repository
                .as_ref()
                .is_none_or(|source| !source.eq_ignore_ascii_case(&target))
        }
    };
    Ok(ForgeEvent::PullRequest(PullRequestEvent {
        kind: ReviewKind::MergeRequest,
        action,
        action_name: if action_name.is_empty() {
            "unknown".to_owned()
        } else {
            action_name
        },
        number: required(event, "object_attributes.iid", attrs.iid)?,
        head_sha,
        source_branch: branch(event, "object_attributes.source_branch", &source)?,
        target_branch: branch(event, "object_attributes.target_branch", &target)?,
        title: attrs.title.unwrap_or_default(),
        repository,
        source_repository,
        from_fork,
        author_association: None,
        head_commit_message: last_commit.message,
        sender: raw.user.and_then(|u| u.username),
    }))
}

/// Why a GitLab token was refused. The HTTP answer must not say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `X-Gitlab-Token` header.
    #[error(
        "token verification failed: no X-Gitlab-Token header (is a secret token set on the GitLab webhook?)"
    )]
    Missing,
    /// The token differs from the stored one.
    #[error("token verification failed: X-Gitlab-Token differs from the token stored in Oore")]
    Mismatch,
    /// The stored secret could not be opened (wrong `ENCRYPTION_KEY`).
    #[error(
        "token verification failed: the stored webhook token cannot be decrypted; check ENCRYPTION_KEY or set the token again"
    )]
    Unreadable,
}

/// Checks `X-Gitlab-Token` against what the repository stores, in constant time: its
/// keyed digest for a [`StoredSecret::Digest`]; the decrypted token for a
/// [`StoredSecret::Sealed`] (repositories stored before tokens were digested).
pub fn verify_token(
    cipher: &dyn SecretCipher,
    stored: &StoredSecret,
    binding: &SecretBinding,
    header: Option<&str>,
) -> Result<(), TokenError> {
    let given = SecretString::new(header.ok_or(TokenError::Missing)?);
    let equal = match stored {
        StoredSecret::Digest(digest) => {
            constant_time_eq(&cipher.keyed_digest(&given, binding), digest)
        }
        StoredSecret::Sealed(sealed) => {
            let token = cipher
                .decrypt(sealed, binding)
                .map_err(|_| TokenError::Unreadable)?;
            // Compare digests so the time taken does not depend on the token's length.
            constant_time_eq(
                &cipher.keyed_digest(&given, binding),
                &cipher.keyed_digest(&token, binding),
            )
        }
    };
    if equal {
        Ok(())
    } else {
        Err(TokenError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeCipher;

    fn binding() -> SecretBinding {
        SecretBinding::new(
            "repositories",
            "webhook_secret",
            "01J0000000000000000000000A",
        )
    }

    #[test]
    fn tokens_verify_against_their_digest_only() {
        let cipher = FakeCipher;
        let stored =
            StoredSecret::Digest(cipher.keyed_digest(&SecretString::new("t0ken"), &binding()));
        assert_eq!(
            verify_token(&cipher, &stored, &binding(), Some("t0ken")),
            Ok(())
        );
        assert_eq!(
            verify_token(&cipher, &stored, &binding(), Some("t0ken ")),
            Err(TokenError::Mismatch)
        );
        assert_eq!(
            verify_token(&cipher, &stored, &binding(), Some("")),
            Err(TokenError::Mismatch)
        );
        assert_eq!(
            verify_token(&cipher, &stored, &binding(), None),
            Err(TokenError::Missing)
        );
        let other_row = SecretBinding::new(
            "repositories",
            "webhook_secret",
            "01J0000000000000000000000B",
        );
        assert_eq!(
            verify_token(&cipher, &stored, &other_row, Some("t0ken")),
            Err(TokenError::Mismatch),
            "a digest copied to another row does not verify there"
        );
    }

    #[test]
    fn sealed_tokens_of_older_rows_still_verify() {
        let cipher = FakeCipher;
        let sealed = cipher
            .encrypt(&SecretString::new("t0ken"), &binding())
            .unwrap();
        let stored = StoredSecret::Sealed(sealed);
        assert_eq!(
            verify_token(&cipher, &stored, &binding(), Some("t0ken")),
            Ok(())
        );
        assert_eq!(
            verify_token(&cipher, &stored, &binding(), Some("nope")),
            Err(TokenError::Mismatch)
        );
        let other_row = SecretBinding::new("repositories", "webhook_secret", "x");
        assert_eq!(
            verify_token(&cipher, &stored, &other_row, Some("t0ken")),
            Err(TokenError::Unreadable)
        );
    }

    #[test]
    fn merge_request_update_builds_only_with_new_commits() {
        let body = |oldrev: &str| {
            format!(
                r#"{{"object_kind":"merge_request","project":{{"path_with_namespace":"g/p"}},
                "object_attributes":{{"iid":3,"action":"update","source_branch":"f","target_branch":"main",
                "last_commit":{{"id":"{}"}}{oldrev}}}}}"#,
                "a".repeat(40)
            )
        };
        let action =
            |oldrev: &str| match parse("Merge Request Hook", body(oldrev).as_bytes()).unwrap() {
                ForgeEvent::PullRequest(pr) => pr.action,
                other => panic!("{other:?}"),
            };
        assert_eq!(
            action(&format!(r#","oldrev":"{}""#, "b".repeat(40))),
            PrAction::Synchronized
        );
        assert_eq!(action(r#","oldrev":null"#), PrAction::Updated);
        assert_eq!(action(""), PrAction::Updated);
    }

    #[test]
    fn system_hooks_are_read_by_object_kind() {
        let push = format!(
            r#"{{"object_kind":"push","ref":"refs/heads/main","before":"{}","after":"{}","checkout_sha":null,"project":{{"path_with_namespace":"g/p"}}}}"#,
            "1".repeat(40),
            "0".repeat(40)
        );
        let ForgeEvent::Push(p) = parse("System Hook", push.as_bytes()).unwrap() else {
            panic!("a push");
        };
        assert!(p.deleted);
        assert_eq!(
            parse("System Hook", br#"{"object_kind":"repository_update"}"#).unwrap(),
            ForgeEvent::Other {
                event: "System Hook".into()
            }
        );
        assert_eq!(
            parse("Pipeline Hook", b"garbage").unwrap(),
            ForgeEvent::Other {
                event: "Pipeline Hook".into()
            }
        );
    }
}
