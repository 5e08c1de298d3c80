//! Webhook deliveries from GitHub and GitLab, pure: reading payloads into one
//! [`ForgeEvent`], checking signatures and tokens, telling duplicates apart, and deciding
//! what an event builds.
//!
//! The flow (the HTTP receiver and the worker in `oored` drive it):
//!
//! 1. receive: [`check_receiver`] says, before the body is read, whether the URL's
//!    repository can verify anything at all; [`check_delivery`] verifies a
//!    [`DeliveryRequest`] against its repository
//!    (GitHub `X-Hub-Signature-256`, GitLab `X-Gitlab-Token`) and names its delivery id;
//!    the event is stored (`received`), duplicates by delivery id are answered without
//!    being stored twice;
//! 2. process: [`github::parse`] / [`gitlab::parse`] read the body, [`decide`] turns the
//!    event into builds to create, a reason to ignore it, or a hold for approval (a
//!    pull/merge request from a fork).
//!
//! Nothing here panics on untrusted input: bodies are read into private serde structs
//! whose every field is optional, so a missing or `null` field is an error value (or a
//! default), never a crash.

pub mod github;
pub mod gitlab;

mod decide;
mod delivery;

pub use decide::{
    BuildPlan, EventDecision, ForkHold, IgnoreReason, decide, is_trusted_author, skip_ci_marker,
};
pub use delivery::{
    DeliveryRequest, REJECTED_PAYLOAD_LIMIT, Rejection, VerifiedDelivery, check_delivery,
    check_receiver, delivery_id, stored_headers,
};

use std::fmt;

use crate::domain::repository::{BranchName, Provider};

/// How long delivery ids are remembered (spec 16.3, 20.3): a cleanup task calls
/// [`forget_deliveries_before`](crate::ports::WebhookEventStore::forget_deliveries_before)
/// with now minus this.
pub const REPLAY_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Events taken per [`unprocessed`](crate::ports::WebhookEventStore::unprocessed) call
/// when the worker catches up, e.g. after a restart (spec 16.2).
pub const RECOVERY_BATCH: u32 = 100;

/// Received, unprocessed events beyond which receivers answer 503 so forges retry later
/// (spec 16.1, 23.2); see
/// [`count_unprocessed`](crate::ports::WebhookEventStore::count_unprocessed).
pub const QUEUE_CAPACITY: u64 = 1000;

/// A webhook delivery, read: what happened, independent of the forge that said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeEvent {
    /// Commits (or a deletion) pushed to a branch or tag.
    Push(PushEvent),
    /// A GitHub pull request or GitLab merge request changed.
    PullRequest(PullRequestEvent),
    /// GitHub's hello when a webhook is created.
    Ping(PingEvent),
    /// GitHub App installation lifecycle (`installation`, `installation_repositories`);
    /// kept for the GitHub App sync, nothing to build.
    Installation(InstallationEvent),
    /// Any other event (issues, pipelines, notes, ...): recorded and ignored.
    Other {
        /// The event name as sent.
        event: String,
    },
}

impl ForgeEvent {
    /// A short label for logs and reasons: `push`, `tag push`, `pull request`, ...
    pub fn label(&self) -> String {
        match self {
            ForgeEvent::Push(p) => match &p.git_ref {
                GitRef::Tag(_) => "tag push".to_owned(),
                _ => "push".to_owned(),
            },
            ForgeEvent::PullRequest(pr) => pr.kind.as_str().replace('_', " "),
            ForgeEvent::Ping(_) => "ping".to_owned(),
            ForgeEvent::Installation(i) => i.kind.as_str().to_owned(),
            ForgeEvent::Other { event } => event.clone(),
        }
    }
}

/// The ref a push updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitRef {
    /// `refs/heads/<branch>`.
    Branch(BranchName),
    /// `refs/tags/<tag>` (the tag name, checked like a branch name).
    Tag(String),
    /// Anything else (`refs/notes/...`, ...), the full ref as sent.
    Other(String),
}

impl GitRef {
    /// Reads a full ref (`refs/heads/main`, `refs/tags/v1`); `Err` with the reason for a
    /// branch or tag name git would not accept.
    pub fn parse(full: &str) -> Result<GitRef, String> {
        if let Some(branch) = full.strip_prefix("refs/heads/") {
            BranchName::new_for("ref", branch)
                .map(GitRef::Branch)
                .map_err(|e| format!("ref {full:?} names no valid branch: {}", e.message))
        } else if let Some(tag) = full.strip_prefix("refs/tags/") {
            BranchName::new_for("ref", tag)
                .map(|t| GitRef::Tag(t.as_str().to_owned()))
                .map_err(|e| format!("ref {full:?} names no valid tag: {}", e.message))
        } else if full.is_empty() {
            Err("the ref is empty".to_owned())
        } else {
            Ok(GitRef::Other(full.to_owned()))
        }
    }

    /// The branch or tag name, or the whole ref for [`GitRef::Other`].
    pub fn name(&self) -> &str {
        match self {
            GitRef::Branch(b) => b.as_str(),
            GitRef::Tag(t) | GitRef::Other(t) => t,
        }
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitRef::Branch(b) => write!(f, "branch {}", b.as_str()),
            GitRef::Tag(t) => write!(f, "tag {t}"),
            GitRef::Other(r) => write!(f, "ref {r}"),
        }
    }
}

/// A push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// The branch or tag pushed.
    pub git_ref: GitRef,
    /// The ref's commit before the push (40 zeros when the ref was created).
    pub before: String,
    /// The ref's commit after the push (40 zeros when it was deleted), lowercase hex.
    pub after: String,
    /// The ref was created by this push.
    pub created: bool,
    /// The ref was deleted by this push: nothing to build.
    pub deleted: bool,
    /// The message of the commit the ref now points to (GitHub `head_commit`, GitLab the
    /// commit whose id is `checkout_sha`/`after`, else the last one listed).
    pub head_commit_message: Option<String>,
    /// Every commit message the payload lists (GitLab lists at most 20).
    pub commit_messages: Vec<String>,
    /// `owner/name` (GitLab: `path_with_namespace`).
    pub repository: String,
    /// The clone URL the forge gives (informational; builds clone the stored URL).
    pub clone_url: Option<String>,
    /// Who pushed (GitHub `sender.login`, GitLab `user_username`).
    pub sender: Option<String>,
}

/// GitHub pull request or GitLab merge request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKind {
    /// GitHub.
    PullRequest,
    /// GitLab.
    MergeRequest,
}

impl ReviewKind {
    /// `pull_request` or `merge_request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PullRequest => "pull_request",
            Self::MergeRequest => "merge_request",
        }
    }
}

/// What happened to a pull/merge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrAction {
    /// GitHub `opened`, GitLab `open`.
    Opened,
    /// GitHub `reopened`, GitLab `reopen`.
    Reopened,
    /// New commits: GitHub `synchronize`, GitLab `update` with `oldrev`.
    Synchronized,
    /// Changed without new commits: GitHub `edited`, GitLab `update` without `oldrev`
    /// (title, labels, assignees, ...).
    Updated,
    /// GitHub `closed` (merged or not), GitLab `close`.
    Closed,
    /// GitLab `merge`.
    Merged,
    /// GitHub `labeled`.
    Labeled,
    /// Anything else (`unlabeled`, `assigned`, `approved`, ...), as sent.
    Other(String),
}

impl PrAction {
    /// Whether this action builds: the request is new, back, or has new commits.
    pub fn builds(&self) -> bool {
        matches!(self, Self::Opened | Self::Reopened | Self::Synchronized)
    }
}

/// A pull/merge request event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// Pull request (GitHub) or merge request (GitLab).
    pub kind: ReviewKind,
    /// What happened.
    pub action: PrAction,
    /// The action as sent (`synchronize`, `update`, ...), for reasons and logs.
    pub action_name: String,
    /// The number (GitHub) or iid (GitLab).
    pub number: u64,
    /// The head commit of the source branch, lowercase hex.
    pub head_sha: String,
    /// The branch with the changes.
    pub source_branch: BranchName,
    /// The branch the changes go into.
    pub target_branch: BranchName,
    /// The title.
    pub title: String,
    /// `owner/name` of the repository the request is in (the target).
    pub repository: String,
    /// `owner/name` of the source repository when known (differs for forks).
    pub source_repository: Option<String>,
    /// The changes come from another repository than the target: GitHub
    /// `pull_request.head.repo` differs from the base repository or is `null` (a deleted
    /// fork), GitLab `source_project_id` differs from `target_project_id`. When the
    /// payload does not say, it counts as a fork.
    pub from_fork: bool,
    /// GitHub `pull_request.author_association` (`OWNER`, `MEMBER`, `COLLABORATOR`,
    /// `CONTRIBUTOR`, `NONE`, ...), as sent; GitLab sends none.
    pub author_association: Option<String>,
    /// The head commit's message when the payload has it (GitLab `last_commit`).
    pub head_commit_message: Option<String>,
    /// Who did it.
    pub sender: Option<String>,
}

/// GitHub `ping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingEvent {
    /// GitHub's zen line.
    pub zen: Option<String>,
    /// The webhook's id.
    pub hook_id: Option<u64>,
}

/// `installation` or `installation_repositories`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallationKind {
    /// The App was installed, removed, suspended, ...
    Installation,
    /// Repositories were added to or removed from an installation.
    InstallationRepositories,
}

impl InstallationKind {
    /// The GitHub event name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Installation => "installation",
            Self::InstallationRepositories => "installation_repositories",
        }
    }
}

/// A GitHub App installation event, kept for the installation sync (a later issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationEvent {
    /// Which event.
    pub kind: InstallationKind,
    /// `created`, `deleted`, `suspend`, `added`, `removed`, ...
    pub action: String,
    /// `installation.id`.
    pub installation_id: Option<u64>,
    /// `installation.account.login`.
    pub account: Option<String>,
    /// `full_name`s in `repositories` (created) or `repositories_added`.
    pub repositories_added: Vec<String>,
    /// `full_name`s in `repositories_removed`.
    pub repositories_removed: Vec<String>,
}

/// A body that could not be read as the event its headers announce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {event} payload is invalid: {detail}")]
pub struct PayloadError {
    /// The event name.
    pub event: String,
    /// What is wrong, e.g. `missing field pull_request.head.sha`.
    pub detail: String,
}

impl PayloadError {
    pub(crate) fn new(event: &str, detail: impl Into<String>) -> Self {
        Self {
            event: event.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The stored event names a filter term stands for. GitHub and GitLab name the same
/// kinds of event differently (`push` / `Push Hook`, `pull_request` /
/// `Merge Request Hook`), so a term naming one of those kinds, either way, case aside,
/// stands for both names; any other term stands for itself, exactly.
pub fn event_names_for(term: &str) -> Vec<String> {
    const KINDS: &[&[&str]] = &[
        &["push", "Push Hook"],
        &["pull_request", "Merge Request Hook"],
        &["Tag Push Hook"],
    ];
    const ALIASES: &[(&str, usize)] = &[
        ("push", 0),
        ("push hook", 0),
        ("pull_request", 1),
        ("merge_request", 1),
        ("merge request hook", 1),
        ("tag_push", 2),
        ("tag push hook", 2),
    ];
    let folded = term.trim().to_lowercase();
    match ALIASES.iter().find(|(alias, _)| *alias == folded) {
        Some((_, kind)) => KINDS[*kind].iter().map(|&n| n.to_owned()).collect(),
        None => vec![term.trim().to_owned()],
    }
}

/// Reads a stored delivery with the parser of its provider.
pub fn parse(
    provider: Provider,
    event_type: &str,
    body: &[u8],
) -> Result<ForgeEvent, PayloadError> {
    match provider {
        Provider::GitHub => github::parse(event_type, body),
        Provider::GitLab => gitlab::parse(event_type, body),
        Provider::Git => Err(PayloadError::new(
            event_type,
            "plain git repositories have no webhooks",
        )),
    }
}

/// A commit id as sent: 40 (SHA-1) or 64 (SHA-256) hex digits, returned lowercase.
pub(crate) fn commit_sha(event: &str, field: &str, raw: &str) -> Result<String, PayloadError> {
    let sha = raw.trim().to_ascii_lowercase();
    if (sha.len() == 40 || sha.len() == 64) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha)
    } else {
        Err(PayloadError::new(
            event,
            format!("{field} is not a commit id: {:?}", truncate(raw, 80)),
        ))
    }
}

/// Whether a commit id is all zeros (a created or deleted ref).
pub(crate) fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// `value`, or the error naming the missing field.
pub(crate) fn required<T>(event: &str, field: &str, value: Option<T>) -> Result<T, PayloadError> {
    value.ok_or_else(|| PayloadError::new(event, format!("missing field {field}")))
}

/// A JSON body into a raw struct; the error keeps serde's line and column.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(
    event: &str,
    body: &'a [u8],
) -> Result<T, PayloadError> {
    serde_json::from_slice(body)
        .map_err(|e| PayloadError::new(event, format!("not the expected JSON: {e}")))
}

/// At most `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A branch name from a payload field.
pub(crate) fn branch(event: &str, field: &str, raw: &str) -> Result<BranchName, PayloadError> {
    BranchName::new_for("branch", raw)
        .map_err(|e| PayloadError::new(event, format!("{field}: {}", e.message)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_filter_terms_name_both_forges_events() {
        use super::event_names_for as names;
        assert_eq!(names("push"), ["push", "Push Hook"]);
        assert_eq!(names("Push Hook"), ["push", "Push Hook"]);
        assert_eq!(names(" PUSH "), ["push", "Push Hook"]);
        assert_eq!(
            names("merge_request"),
            ["pull_request", "Merge Request Hook"]
        );
        assert_eq!(
            names("pull_request"),
            ["pull_request", "Merge Request Hook"]
        );
        assert_eq!(names("tag_push"), ["Tag Push Hook"]);
        assert_eq!(names("installation"), ["installation"]);
        assert_eq!(names("Note Hook"), ["Note Hook"]);
    }

    use super::*;

    #[test]
    fn refs_are_split_into_branches_tags_and_others() {
        assert_eq!(
            GitRef::parse("refs/heads/feature/x").unwrap(),
            GitRef::Branch(BranchName::new("feature/x").unwrap())
        );
        assert_eq!(
            GitRef::parse("refs/tags/v1.0").unwrap(),
            GitRef::Tag("v1.0".into())
        );
        assert_eq!(
            GitRef::parse("refs/notes/commits").unwrap(),
            GitRef::Other("refs/notes/commits".into())
        );
        assert!(GitRef::parse("refs/heads/a..b").is_err());
        assert!(GitRef::parse("refs/tags/").unwrap_err().contains("tag"));
        assert!(GitRef::parse("").is_err());
    }

    #[test]
    fn commit_ids_are_hex_of_either_length() {
        let sha1 = "A".repeat(40);
        assert_eq!(commit_sha("push", "after", &sha1).unwrap(), "a".repeat(40));
        assert!(commit_sha("push", "after", &"b".repeat(64)).is_ok());
        for bad in ["", "abc", &"g".repeat(40), &"a".repeat(41)] {
            assert!(commit_sha("push", "after", bad).is_err(), "{bad}");
        }
        assert!(is_zero_sha(&"0".repeat(40)));
        assert!(!is_zero_sha(""));
    }

    #[test]
    fn truncate_respects_characters() {
        assert_eq!(truncate("zoë-ñandú", 3), "zoë");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
