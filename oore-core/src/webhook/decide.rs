//! What an event builds: [`decide`] turns a [`ForgeEvent`] for a repository (and its
//! stored pipeline, when it has one) into builds to create, the reason to create none,
//! or a hold: a pull/merge request from a fork that waits for someone's approval.

use std::fmt;

use super::{ForgeEvent, GitRef, PullRequestEvent, PushEvent, ReviewKind};
use crate::domain::build::{Priority, TriggerType};
use crate::domain::repository::{BranchName, ForkPolicy, Repository, RepositoryState};
use crate::pipeline::{Pipeline, Trigger, select_for_event};

/// One build an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPlan {
    /// `push`, `pull_request` or `merge_request`.
    pub trigger: TriggerType,
    /// Spec 16.3: pull/merge requests 2, pushes to the default branch 3, other pushes
    /// (and tags) 4.
    pub priority: Priority,
    /// The branch pushed, or the source branch of a pull/merge request; `None` for tags.
    pub branch: Option<BranchName>,
    /// The target branch of a pull/merge request.
    pub base_branch: Option<BranchName>,
    /// The tag pushed.
    pub tag: Option<String>,
    /// The commit to build, lowercase hex.
    pub commit_sha: String,
    /// The pull/merge request number.
    pub pull_request: Option<u64>,
    /// The workflow, when the stored pipeline selected it now; `None` when the pipeline
    /// is only known after checkout (the executor selects then, with the same rule).
    pub workflow: Option<String>,
    /// The selected workflow says `cancel_previous_builds: true`: pending and running
    /// builds of the same repository, branch and workflow are to be cancelled.
    pub cancel_previous: bool,
}

/// Why an event builds nothing. `Display` is the reason stored with the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    /// GitHub's `ping`.
    Ping,
    /// A GitHub App installation event, stored for the installation sync.
    Installation {
        /// `installation` or `installation_repositories`.
        event: &'static str,
        /// Its action.
        action: String,
    },
    /// An event Oore does not build for.
    UnknownEvent(String),
    /// The repository is not active.
    RepositoryInactive(RepositoryState),
    /// The payload is about another repository than the one whose URL received it.
    OtherRepository {
        /// In the payload.
        payload: String,
        /// The repository of the URL.
        expected: String,
    },
    /// The push deleted the branch or tag.
    RefDeleted(GitRef),
    /// A push to a ref that is neither a branch nor a tag.
    UnsupportedRef(String),
    /// `[skip ci]` or `[ci skip]` in the head commit message.
    SkipCi(&'static str),
    /// A pull/merge request action that does not build (closed, labeled, ...).
    PullRequestAction {
        /// Pull or merge request.
        kind: ReviewKind,
        /// The action as sent.
        action: String,
    },
    /// The stored pipeline has no workflow for this event.
    NoWorkflowTriggered(Trigger),
    /// A pull/merge request from a fork, and the repository never builds those.
    ForkNotBuilt {
        /// Pull or merge request.
        kind: ReviewKind,
        /// Its number.
        number: u64,
        /// The fork, when the payload names it.
        source: Option<String>,
    },
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ping => f.write_str("ping: the forge checked the webhook; nothing to build"),
            Self::Installation { event, action } => write!(
                f,
                "{event} event ({action}): recorded for the GitHub App sync; nothing to build"
            ),
            Self::UnknownEvent(event) => {
                write!(f, "event `{event}` does not start builds")
            }
            Self::RepositoryInactive(state) => write!(
                f,
                "repository is {state}: builds are paused; activate it with `oore repo activate <id>`"
            ),
            Self::OtherRepository { payload, expected } => write!(
                f,
                "the payload is for {payload}, but this webhook URL belongs to {expected}; \
                 fix the URL on the forge, or update the repository's owner/name if it was renamed"
            ),
            Self::RefDeleted(git_ref) => write!(f, "{git_ref} was deleted; nothing to build"),
            Self::UnsupportedRef(r) => {
                write!(f, "push to {r}, which is neither a branch nor a tag")
            }
            Self::SkipCi(marker) => {
                write!(f, "the head commit message contains {marker}")
            }
            Self::PullRequestAction { kind, action } => write!(
                f,
                "{} action `{action}` does not build (only opened, reopened and new commits do)",
                kind.as_str().replace('_', " ")
            ),
            Self::NoWorkflowTriggered(trigger) => write!(
                f,
                "no workflow in the stored pipeline is triggered by {}; add a `triggering` \
                 section with this event to a workflow, or trigger the build by hand",
                trigger.describe()
            ),
            Self::ForkNotBuilt {
                kind,
                number,
                source,
            } => write!(
                f,
                "{} #{number} comes from {}, and this repository never builds forks \
                 (fork_pull_requests: never); to build forks after approval, run \
                 `oore repo update <id> --fork-pull-requests approve`",
                kind.as_str().replace('_', " "),
                fork_name(source.as_deref())
            ),
        }
    }
}

/// Why a pull/merge request from a fork waits for approval. `Display` is the start of
/// the reason stored with the event (the caller adds how to approve it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkHold {
    /// Pull or merge request.
    pub kind: ReviewKind,
    /// Its number.
    pub number: u64,
    /// The fork, when the payload names it.
    pub source: Option<String>,
    /// The author's association as GitHub sent it.
    pub author_association: Option<String>,
    /// The commit that would be built.
    pub head_sha: String,
    /// The builds it would create once approved.
    pub plans: Vec<BuildPlan>,
}

impl fmt::Display for ForkHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} #{} comes from {}",
            self.kind.as_str().replace('_', " "),
            self.number,
            fork_name(self.source.as_deref())
        )?;
        if let Some(association) = &self.author_association {
            write!(f, " (author: {association})")?;
        }
        write!(
            f,
            "; builds of forks wait for approval, so code from outside the repository runs \
             only once someone has looked at commit {}",
            self.head_sha.get(..12).unwrap_or(&self.head_sha)
        )
    }
}

/// `the fork owner/name`, or a fork that is gone.
fn fork_name(source: Option<&str>) -> String {
    match source {
        Some(name) => format!("the fork {name}"),
        None => "a fork that no longer exists or is not named".to_owned(),
    }
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDecision {
    /// Create these builds (at least one), in order.
    Build(Vec<BuildPlan>),
    /// Create none, for this reason.
    Ignore(IgnoreReason),
    /// A pull/merge request from a fork: create none until someone approves the event.
    AwaitApproval(ForkHold),
}

/// GitHub's `author_association` values whose pull requests from forks build without an
/// approval: people who can push to the repository anyway.
const TRUSTED_ASSOCIATIONS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// Whether a pull request author with this `author_association` is trusted (OWNER,
/// MEMBER or COLLABORATOR, in any case).
pub fn is_trusted_author(association: Option<&str>) -> bool {
    association.is_some_and(|a| {
        TRUSTED_ASSOCIATIONS
            .iter()
            .any(|t| t.eq_ignore_ascii_case(a.trim()))
    })
}

/// The skip marker in a commit message, if any: `[skip ci]` or `[ci skip]`, in any case.
pub fn skip_ci_marker(message: &str) -> Option<&'static str> {
    let lower = message.to_lowercase();
    ["[skip ci]", "[ci skip]"]
        .into_iter()
        .find(|m| lower.contains(m))
}

/// Decides what `event` builds for `repository`.
///
/// `stored` is the repository's stored pipeline when it is the one builds will use
/// (database precedence) and valid. With it, workflows are selected now, one build per
/// selected workflow, with [`select_for_event`]; without it (the pipeline is a
/// repository file, known only after checkout) one build is planned with no workflow and
/// the executor selects with the same rule.
///
/// A pull/merge request from a fork that would build follows the repository's
/// [`ForkPolicy`]: `always` builds, `never` ignores it, `approve` (the default) holds it
/// ([`EventDecision::AwaitApproval`]) unless GitHub says its author is trusted
/// ([`is_trusted_author`]). `approved` is true once someone approved this very event
/// (its payload, and so its commit, cannot change): it then builds whatever the policy.
pub fn decide(
    event: &ForgeEvent,
    repository: &Repository,
    stored: Option<&Pipeline>,
    approved: bool,
) -> EventDecision {
    let decision = decide_builds(event, repository, stored);
    let (ForgeEvent::PullRequest(pr), EventDecision::Build(plans)) = (event, &decision) else {
        return decision;
    };
    if !pr.from_fork || approved {
        return decision;
    }
    match repository.fork_pull_requests {
        ForkPolicy::Always => decision,
        ForkPolicy::Approve if is_trusted_author(pr.author_association.as_deref()) => decision,
        ForkPolicy::Approve => EventDecision::AwaitApproval(ForkHold {
            kind: pr.kind,
            number: pr.number,
            source: pr.source_repository.clone(),
            author_association: pr.author_association.clone(),
            head_sha: pr.head_sha.clone(),
            plans: plans.clone(),
        }),
        ForkPolicy::Never => EventDecision::Ignore(IgnoreReason::ForkNotBuilt {
            kind: pr.kind,
            number: pr.number,
            source: pr.source_repository.clone(),
        }),
    }
}

/// [`decide`] without the fork rule.
fn decide_builds(
    event: &ForgeEvent,
    repository: &Repository,
    stored: Option<&Pipeline>,
) -> EventDecision {
    let (base, trigger) = match event {
        ForgeEvent::Ping(_) => return EventDecision::Ignore(IgnoreReason::Ping),
        ForgeEvent::Installation(i) => {
            return EventDecision::Ignore(IgnoreReason::Installation {
                event: i.kind.as_str(),
                action: i.action.clone(),
            });
        }
        ForgeEvent::Other { event } => {
            return EventDecision::Ignore(IgnoreReason::UnknownEvent(event.clone()));
        }
        ForgeEvent::Push(push) => match push_plan(push, repository) {
            Ok(planned) => planned,
            Err(reason) => return EventDecision::Ignore(reason),
        },
        ForgeEvent::PullRequest(pr) => match review_plan(pr, repository) {
            Ok(planned) => planned,
            Err(reason) => return EventDecision::Ignore(reason),
        },
    };
    let Some(pipeline) = stored else {
        return EventDecision::Build(vec![base]);
    };
    // Automatic triggers never fail to select; they may select nothing.
    let selected = select_for_event(pipeline, &trigger).unwrap_or_default();
    if selected.is_empty() {
        return EventDecision::Ignore(IgnoreReason::NoWorkflowTriggered(trigger));
    }
    EventDecision::Build(
        selected
            .into_iter()
            .map(|w| BuildPlan {
                workflow: Some(w.id.clone()),
                cancel_previous: w
                    .triggering
                    .as_ref()
                    .and_then(|t| t.cancel_previous_builds)
                    .unwrap_or(false),
                ..base.clone()
            })
            .collect(),
    )
}

/// Checks shared by pushes and pull requests: the repository builds and is the one the
/// payload is about.
fn check_repository(repository: &Repository, payload_repository: &str) -> Result<(), IgnoreReason> {
    if !repository.state.builds_enabled() {
        return Err(IgnoreReason::RepositoryInactive(repository.state));
    }
    let expected = repository.full_name();
    if payload_repository.to_lowercase() != expected.to_lowercase() {
        return Err(IgnoreReason::OtherRepository {
            payload: payload_repository.to_owned(),
            expected,
        });
    }
    Ok(())
}

fn push_plan(
    push: &PushEvent,
    repository: &Repository,
) -> Result<(BuildPlan, Trigger), IgnoreReason> {
    check_repository(repository, &push.repository)?;
    if push.deleted {
        return Err(IgnoreReason::RefDeleted(push.git_ref.clone()));
    }
    if let Some(marker) = push.head_commit_message.as_deref().and_then(skip_ci_marker) {
        return Err(IgnoreReason::SkipCi(marker));
    }
    let plan = BuildPlan {
        trigger: TriggerType::Push,
        priority: Priority::OTHER_PUSH,
        branch: None,
        base_branch: None,
        tag: None,
        commit_sha: push.after.clone(),
        pull_request: None,
        workflow: None,
        cancel_previous: false,
    };
    match &push.git_ref {
        GitRef::Branch(branch) => Ok((
            BuildPlan {
                priority: Priority::for_trigger(
                    TriggerType::Push,
                    *branch == repository.default_branch,
                ),
                branch: Some(branch.clone()),
                ..plan
            },
            Trigger::Push {
                branch: branch.as_str().to_owned(),
            },
        )),
        GitRef::Tag(tag) => Ok((
            BuildPlan {
                tag: Some(tag.clone()),
                ..plan
            },
            Trigger::Tag { tag: tag.clone() },
        )),
        GitRef::Other(r) => Err(IgnoreReason::UnsupportedRef(r.clone())),
    }
}

fn review_plan(
    pr: &PullRequestEvent,
    repository: &Repository,
) -> Result<(BuildPlan, Trigger), IgnoreReason> {
    check_repository(repository, &pr.repository)?;
    if !pr.action.builds() {
        return Err(IgnoreReason::PullRequestAction {
            kind: pr.kind,
            action: pr.action_name.clone(),
        });
    }
    if let Some(marker) = pr.head_commit_message.as_deref().and_then(skip_ci_marker) {
        return Err(IgnoreReason::SkipCi(marker));
    }
    let trigger = match pr.kind {
        ReviewKind::PullRequest => TriggerType::PullRequest,
        ReviewKind::MergeRequest => TriggerType::MergeRequest,
    };
    Ok((
        BuildPlan {
            trigger,
            priority: Priority::for_trigger(trigger, false),
            branch: Some(pr.source_branch.clone()),
            base_branch: Some(pr.target_branch.clone()),
            tag: None,
            commit_sha: pr.head_sha.clone(),
            pull_request: Some(pr.number),
            workflow: None,
            cancel_previous: false,
        },
        Trigger::PullRequest {
            source_branch: pr.source_branch.as_str().to_owned(),
            target_branch: pr.target_branch.as_str().to_owned(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::Provider;
    use crate::pipeline::{self, Format};
    use crate::testing::contract::sample_repository;
    use crate::webhook::{InstallationEvent, InstallationKind, PingEvent, PrAction};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn repo() -> Repository {
        sample_repository(1, Provider::GitHub, "acme", "app")
    }

    fn push_to(full_ref: &str) -> PushEvent {
        PushEvent {
            git_ref: GitRef::parse(full_ref).expect("valid ref"),
            before: "1".repeat(40),
            after: SHA.to_owned(),
            created: false,
            deleted: false,
            head_commit_message: Some("fix the thing".into()),
            commit_messages: vec!["fix the thing".into()],
            repository: "acme/app".into(),
            clone_url: None,
            sender: Some("alex".into()),
        }
    }

    fn push(full_ref: &str, change: impl FnOnce(&mut PushEvent)) -> ForgeEvent {
        let mut p = push_to(full_ref);
        change(&mut p);
        ForgeEvent::Push(p)
    }

    fn review(kind: ReviewKind, action: PrAction, name: &str) -> ForgeEvent {
        ForgeEvent::PullRequest(PullRequestEvent {
            kind,
            action,
            action_name: name.into(),
            number: 7,
            head_sha: SHA.into(),
            source_branch: BranchName::new("feature/x").expect("valid"),
            target_branch: BranchName::main(),
            title: "Add x".into(),
            repository: "acme/app".into(),
            source_repository: Some("acme/app".into()),
            from_fork: false,
            author_association: Some("CONTRIBUTOR".into()),
            head_commit_message: None,
            sender: None,
        })
    }

    fn stored(yaml: &str) -> Pipeline {
        pipeline::parse_and_validate(yaml, Format::Yaml)
            .expect("valid pipeline")
            .0
    }

    fn plan(trigger: TriggerType, priority: Priority) -> BuildPlan {
        BuildPlan {
            trigger,
            priority,
            branch: None,
            base_branch: None,
            tag: None,
            commit_sha: SHA.into(),
            pull_request: None,
            workflow: None,
            cancel_previous: false,
        }
    }

    fn branch(name: &str) -> Option<BranchName> {
        Some(BranchName::new(name).expect("valid"))
    }

    #[test]
    fn pushes_pull_requests_and_what_is_ignored() {
        use EventDecision::{Build, Ignore};
        let mut inactive = repo();
        inactive.state = RepositoryState::Inactive;
        let main_push = BuildPlan {
            branch: branch("main"),
            ..plan(TriggerType::Push, Priority::DEFAULT_BRANCH_PUSH)
        };
        let review_plan = |trigger| BuildPlan {
            branch: branch("feature/x"),
            base_branch: branch("main"),
            pull_request: Some(7),
            ..plan(trigger, Priority::REVIEW)
        };
        let cases: Vec<(&str, ForgeEvent, Repository, EventDecision)> = vec![
            (
                "push to the default branch",
                push("refs/heads/main", |_| {}),
                repo(),
                Build(vec![main_push.clone()]),
            ),
            (
                "push to another branch",
                push("refs/heads/feature/y", |_| {}),
                repo(),
                Build(vec![BuildPlan {
                    branch: branch("feature/y"),
                    ..plan(TriggerType::Push, Priority::OTHER_PUSH)
                }]),
            ),
            (
                "tag",
                push("refs/tags/v1.2.0", |_| {}),
                repo(),
                Build(vec![BuildPlan {
                    tag: Some("v1.2.0".into()),
                    ..plan(TriggerType::Push, Priority::OTHER_PUSH)
                }]),
            ),
            (
                "a new branch builds",
                push("refs/heads/new", |p| p.created = true),
                repo(),
                Build(vec![BuildPlan {
                    branch: branch("new"),
                    ..plan(TriggerType::Push, Priority::OTHER_PUSH)
                }]),
            ),
            (
                "deleted branch",
                push("refs/heads/old", |p| {
                    p.deleted = true;
                    p.after = "0".repeat(40);
                }),
                repo(),
                Ignore(IgnoreReason::RefDeleted(GitRef::Branch(
                    BranchName::new("old").unwrap(),
                ))),
            ),
            (
                "[skip ci]",
                push("refs/heads/main", |p| {
                    p.head_commit_message = Some("docs only [Skip CI]".into())
                }),
                repo(),
                Ignore(IgnoreReason::SkipCi("[skip ci]")),
            ),
            (
                "[ci skip] in an older commit does not count",
                push("refs/heads/main", |p| {
                    p.commit_messages = vec!["wip [ci skip]".into(), "real".into()];
                    p.head_commit_message = Some("real".into());
                }),
                repo(),
                Build(vec![main_push.clone()]),
            ),
            (
                "[ci skip]",
                push("refs/heads/main", |p| {
                    p.head_commit_message = Some("x\n\n[ci skip]".into())
                }),
                repo(),
                Ignore(IgnoreReason::SkipCi("[ci skip]")),
            ),
            (
                "a ref that is no branch or tag",
                push("refs/notes/commits", |_| {}),
                repo(),
                Ignore(IgnoreReason::UnsupportedRef("refs/notes/commits".into())),
            ),
            (
                "another repository's payload",
                push("refs/heads/main", |p| p.repository = "acme/other".into()),
                repo(),
                Ignore(IgnoreReason::OtherRepository {
                    payload: "acme/other".into(),
                    expected: "acme/app".into(),
                }),
            ),
            (
                "repository names compare case-insensitively",
                push("refs/heads/main", |p| p.repository = "ACME/App".into()),
                repo(),
                Build(vec![main_push.clone()]),
            ),
            (
                "inactive repository",
                push("refs/heads/main", |_| {}),
                inactive.clone(),
                Ignore(IgnoreReason::RepositoryInactive(RepositoryState::Inactive)),
            ),
            (
                "pull request opened",
                review(ReviewKind::PullRequest, PrAction::Opened, "opened"),
                repo(),
                Build(vec![review_plan(TriggerType::PullRequest)]),
            ),
            (
                "pull request synchronize",
                review(
                    ReviewKind::PullRequest,
                    PrAction::Synchronized,
                    "synchronize",
                ),
                repo(),
                Build(vec![review_plan(TriggerType::PullRequest)]),
            ),
            (
                "pull request reopened",
                review(ReviewKind::PullRequest, PrAction::Reopened, "reopened"),
                repo(),
                Build(vec![review_plan(TriggerType::PullRequest)]),
            ),
            (
                "pull request closed",
                review(ReviewKind::PullRequest, PrAction::Closed, "closed"),
                repo(),
                Ignore(IgnoreReason::PullRequestAction {
                    kind: ReviewKind::PullRequest,
                    action: "closed".into(),
                }),
            ),
            (
                "pull request labeled",
                review(ReviewKind::PullRequest, PrAction::Labeled, "labeled"),
                repo(),
                Ignore(IgnoreReason::PullRequestAction {
                    kind: ReviewKind::PullRequest,
                    action: "labeled".into(),
                }),
            ),
            (
                "merge request update with new commits",
                review(ReviewKind::MergeRequest, PrAction::Synchronized, "update"),
                repo(),
                Build(vec![review_plan(TriggerType::MergeRequest)]),
            ),
            (
                "merge request update without oldrev",
                review(ReviewKind::MergeRequest, PrAction::Updated, "update"),
                repo(),
                Ignore(IgnoreReason::PullRequestAction {
                    kind: ReviewKind::MergeRequest,
                    action: "update".into(),
                }),
            ),
            (
                "merge request merged",
                review(ReviewKind::MergeRequest, PrAction::Merged, "merge"),
                repo(),
                Ignore(IgnoreReason::PullRequestAction {
                    kind: ReviewKind::MergeRequest,
                    action: "merge".into(),
                }),
            ),
            (
                "ping",
                ForgeEvent::Ping(PingEvent {
                    zen: None,
                    hook_id: Some(1),
                }),
                inactive,
                Ignore(IgnoreReason::Ping),
            ),
            (
                "installation",
                ForgeEvent::Installation(InstallationEvent {
                    kind: InstallationKind::Installation,
                    action: "created".into(),
                    installation_id: Some(1),
                    account: None,
                    repositories_added: vec![],
                    repositories_removed: vec![],
                }),
                repo(),
                Ignore(IgnoreReason::Installation {
                    event: "installation",
                    action: "created".into(),
                }),
            ),
            (
                "unknown event",
                ForgeEvent::Other {
                    event: "Pipeline Hook".into(),
                },
                repo(),
                Ignore(IgnoreReason::UnknownEvent("Pipeline Hook".into())),
            ),
        ];
        for (name, event, repository, want) in cases {
            assert_eq!(decide(&event, &repository, None, false), want, "{name}");
        }
    }

    #[test]
    fn a_stored_pipeline_selects_zero_one_or_two_workflows() {
        let two = stored(
            "workflows:\n\
             \x20 ios:\n    triggering:\n      events: [push]\n      branch_patterns:\n        - pattern: main\n      cancel_previous_builds: true\n    scripts: [echo ios]\n\
             \x20 android:\n    triggering:\n      events: [push, pull_request]\n    scripts: [echo android]\n\
             \x20 release:\n    triggering:\n      events: [tag]\n    scripts: [echo release]\n",
        );
        let workflows = |d: EventDecision| match d {
            EventDecision::Build(plans) => plans
                .into_iter()
                .map(|p| (p.workflow.unwrap_or_default(), p.cancel_previous))
                .collect::<Vec<_>>(),
            other => panic!("no builds: {other:?}"),
        };
        assert_eq!(
            workflows(decide(
                &push("refs/heads/main", |_| {}),
                &repo(),
                Some(&two),
                false
            )),
            [("ios".to_owned(), true), ("android".to_owned(), false)]
        );
        assert_eq!(
            workflows(decide(
                &push("refs/heads/dev", |_| {}),
                &repo(),
                Some(&two),
                false
            )),
            [("android".to_owned(), false)]
        );
        let none = stored(
            "workflows:\n  release:\n    triggering:\n      events: [tag]\n    scripts: [echo]\n",
        );
        let ignored = decide(
            &push("refs/heads/main", |_| {}),
            &repo(),
            Some(&none),
            false,
        );
        let EventDecision::Ignore(reason) = ignored else {
            panic!("expected ignore");
        };
        assert_eq!(
            reason.to_string(),
            "no workflow in the stored pipeline is triggered by push to main; add a `triggering` \
             section with this event to a workflow, or trigger the build by hand"
        );

        let simple =
            stored("workflows:\n  build:\n    scripts: [echo]\n  other:\n    scripts: [echo]\n");
        assert_eq!(
            workflows(decide(
                &review(ReviewKind::PullRequest, PrAction::Opened, "opened"),
                &repo(),
                Some(&simple),
                false
            )),
            [("build".to_owned(), false)],
            "without any triggering the first workflow runs for every event"
        );
    }

    fn from_fork(association: Option<&str>) -> ForgeEvent {
        let ForgeEvent::PullRequest(mut pr) = review(
            ReviewKind::PullRequest,
            PrAction::Synchronized,
            "synchronize",
        ) else {
            unreachable!("a review");
        };
        pr.from_fork = true;
        pr.source_repository = Some("stranger/app".into());
        pr.author_association = association.map(str::to_owned);
        ForgeEvent::PullRequest(pr)
    }

    fn with_policy(policy: ForkPolicy) -> Repository {
        Repository {
            fork_pull_requests: policy,
            ..repo()
        }
    }

    #[test]
    fn forks_follow_the_repositorys_policy() {
        let builds = |d: &EventDecision| matches!(d, EventDecision::Build(p) if p.len() == 1);
        let event = from_fork(Some("CONTRIBUTOR"));
        let held = decide(&event, &with_policy(ForkPolicy::Approve), None, false);
        let EventDecision::AwaitApproval(hold) = &held else {
            panic!("held: {held:?}");
        };
        assert_eq!((hold.number, hold.plans.len()), (7, 1));
        assert_eq!(
            hold.to_string(),
            "pull request #7 comes from the fork stranger/app (author: CONTRIBUTOR); builds of \
             forks wait for approval, so code from outside the repository runs only once \
             someone has looked at commit 0123456789ab"
        );
        assert!(
            builds(&decide(
                &event,
                &with_policy(ForkPolicy::Approve),
                None,
                true
            )),
            "approved"
        );
        assert!(builds(&decide(
            &event,
            &with_policy(ForkPolicy::Always),
            None,
            false
        )));
        let never = decide(&event, &with_policy(ForkPolicy::Never), None, false);
        assert!(
            matches!(
                &never,
                EventDecision::Ignore(IgnoreReason::ForkNotBuilt { number: 7, .. })
            ),
            "{never:?}"
        );
        assert!(
            builds(&decide(&event, &with_policy(ForkPolicy::Never), None, true)),
            "an approval is a decision about this very commit"
        );
        for trusted in ["OWNER", "member", "COLLABORATOR"] {
            let event = from_fork(Some(trusted));
            assert!(
                builds(&decide(
                    &event,
                    &with_policy(ForkPolicy::Approve),
                    None,
                    false
                )),
                "{trusted}"
            );
        }
        for untrusted in [None, Some("NONE"), Some("FIRST_TIME_CONTRIBUTOR"), Some("")] {
            let event = from_fork(untrusted);
            assert!(
                matches!(
                    decide(&event, &with_policy(ForkPolicy::Approve), None, false),
                    EventDecision::AwaitApproval(_)
                ),
                "{untrusted:?}"
            );
        }
        // Only what would build is held: a closed fork pull request is just ignored.
        let ForgeEvent::PullRequest(mut closed) = from_fork(None) else {
            unreachable!()
        };
        closed.action = PrAction::Closed;
        closed.action_name = "closed".into();
        assert!(matches!(
            decide(&ForgeEvent::PullRequest(closed), &repo(), None, false),
            EventDecision::Ignore(IgnoreReason::PullRequestAction { .. })
        ));
        // Not a fork: builds whatever the policy.
        let own = review(ReviewKind::PullRequest, PrAction::Opened, "opened");
        assert!(builds(&decide(
            &own,
            &with_policy(ForkPolicy::Never),
            None,
            false
        )));
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            IgnoreReason::PullRequestAction {
                kind: ReviewKind::MergeRequest,
                action: "close".into()
            }
            .to_string(),
            "merge request action `close` does not build (only opened, reopened and new commits do)"
        );
        assert!(
            IgnoreReason::RepositoryInactive(RepositoryState::Inactive)
                .to_string()
                .starts_with("repository is inactive")
        );
        assert_eq!(skip_ci_marker("no markers"), None);
    }
}
