//! Every real GitHub and GitLab payload in `shared/fixtures` parses to the expected event,
//! and decides as it should for a repository of that name; random bytes and mutated
//! payloads never make the parsers panic.

use oore_core::domain::build::{Priority, TriggerType};
use oore_core::domain::repository::{BranchName, Provider, Repository};
use oore_core::testing::contract::sample_repository;
use oore_core::webhook::{
    self, EventDecision, ForgeEvent, GitRef, IgnoreReason, InstallationKind, PrAction, ReviewKind,
    github, gitlab,
};
use proptest::prelude::*;

use crate::fixtures;

const NEW_BRANCH_SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const GITLAB_PUSH: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
const GITLAB_TAG: &str = "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7";
const ZEROS: &str = "0000000000000000000000000000000000000000";

/// What a fixture must read as.
#[derive(Debug)]
enum Want {
    Push {
        git_ref: &'static str,
        after: &'static str,
        created: bool,
        deleted: bool,
        head_message: Option<&'static str>,
        repository: &'static str,
    },
    Review {
        kind: ReviewKind,
        action: PrAction,
        number: u64,
        head: &'static str,
        source: &'static str,
        target: &'static str,
        repository: &'static str,
    },
    Ping(u64),
    Installation(
        InstallationKind,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    ),
    Other(&'static str),
}

fn github_event_of(file: &str) -> &str {
    file.split('.').next().unwrap_or_default()
}

fn cases() -> Vec<(&'static str, &'static str, Want)> {
    use Want::*;
    let tag_deleted = || Push {
        git_ref: "refs/tags/simple-tag",
        after: ZEROS,
        created: false,
        deleted: true,
        head_message: None,
        repository: "Codertocat/Hello-World",
    };
    let new_branch = || Push {
        git_ref: "refs/heads/master",
        after: NEW_BRANCH_SHA,
        created: true,
        deleted: false,
        head_message: Some("Initial commit"),
        repository: "Codertocat/Hello-World",
    };
    let pr = |action| Review {
        kind: ReviewKind::PullRequest,
        action,
        number: 2,
        head: PR_HEAD,
        source: "changes",
        target: "master",
        repository: "Codertocat/Hello-World",
    };
    let mr = || Review {
        kind: ReviewKind::MergeRequest,
        action: PrAction::Opened,
        number: 1,
        head: GITLAB_PUSH,
        source: "ms-viewport",
        target: "master",
        repository: "gitlabhq/gitlab-test",
    };
    let gitlab_push = || Push {
        git_ref: "refs/heads/master",
        after: GITLAB_PUSH,
        created: false,
        deleted: false,
        head_message: Some("fixed readme\n"),
        repository: "mike/diaspora",
    };
    let inst = InstallationKind::Installation;
    let repos = InstallationKind::InstallationRepositories;
    vec![
        (
            "github",
            "installation.created.json",
            Installation(inst, "created", &["Codertocat/Hello-World"], &[]),
        ),
        (
            "github",
            "installation.deleted.json",
            Installation(inst, "deleted", &[], &["octocat/Hello-World"]),
        ),
        (
            "github",
            "installation.new_permissions_accepted.json",
            Installation(inst, "new_permissions_accepted", &[], &[]),
        ),
        (
            "github",
            "installation.suspend.json",
            Installation(inst, "suspend", &[], &[]),
        ),
        (
            "github",
            "installation.unsuspend.json",
            Installation(inst, "unsuspend", &[], &[]),
        ),
        (
            "github",
            "installation_repositories.added.json",
            Installation(repos, "added", &["Codertocat/Space"], &[]),
        ),
        (
            "github",
            "installation_repositories.removed.json",
            Installation(repos, "removed", &[], &["octocat/Hello-World"]),
        ),
        ("github", "ping.default.json", Ping(109_948_940)),
        ("github", "ping.with-app_id.json", Ping(109_948_940)),
        ("github", "pull_request.closed.json", pr(PrAction::Closed)),
        ("github", "pull_request.labeled.json", pr(PrAction::Labeled)),
        ("github", "pull_request.opened.json", pr(PrAction::Opened)),
        (
            "github",
            "pull_request.opened.with-null-body.json",
            pr(PrAction::Opened),
        ),
        (
            "github",
            "pull_request.reopened.json",
            pr(PrAction::Reopened),
        ),
        (
            "github",
            "pull_request.synchronize.json",
            pr(PrAction::Synchronized),
        ),
        ("github", "push.1.json", tag_deleted()),
        ("github", "push.default.json", tag_deleted()),
        ("github", "push.with-installation.json", tag_deleted()),
        ("github", "push.with-new-branch.json", new_branch()),
        (
            "github",
            "push.with-no-username-committer.json",
            new_branch(),
        ),
        ("github", "push.with-organization.json", tag_deleted()),
        ("gitlab", "merge_request.client-go.json", mr()),
        ("gitlab", "merge_request.default.json", mr()),
        ("gitlab", "pipeline.default.json", Other("Pipeline Hook")),
        ("gitlab", "push.client-go.json", gitlab_push()),
        ("gitlab", "push.default.json", gitlab_push()),
        (
            "gitlab",
            "tag_push.default.json",
            Push {
                git_ref: "refs/tags/v1.0.0",
                after: GITLAB_TAG,
                created: true,
                deleted: false,
                head_message: Some(
                    "Merge branch 'some-feature' into 'master'\n\nRelease v1.0.0\n\nSee merge request jsmith/example!1",
                ),
                repository: "jsmith/example",
            },
        ),
    ]
}

/// The `X-Gitlab-Event` GitLab sends with a fixture.
fn gitlab_header(file: &str) -> &'static str {
    match file.split('.').next().unwrap_or_default() {
        "push" => "Push Hook",
        "tag_push" => "Tag Push Hook",
        "merge_request" => "Merge Request Hook",
        _ => "Pipeline Hook",
    }
}

fn read(provider: &str, file: &str) -> Vec<u8> {
    fixtures::read(&format!("{provider}/{file}")).into_bytes()
}

fn parse_fixture(provider: &str, file: &str) -> ForgeEvent {
    let body = read(provider, file);
    let parsed = match provider {
        "github" => github::parse(github_event_of(file), &body),
        _ => gitlab::parse(gitlab_header(file), &body),
    };
    parsed.unwrap_or_else(|e| panic!("{provider}/{file}: {e}"))
}

#[test]
fn the_table_covers_every_fixture() {
    let mut listed: Vec<String> = cases().iter().map(|(p, f, _)| format!("{p}/{f}")).collect();
    listed.sort();
    let mut on_disk = Vec::new();
    for provider in ["github", "gitlab"] {
        for entry in std::fs::read_dir(fixtures::dir().join(provider)).expect("fixture dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".json") {
                on_disk.push(format!("{provider}/{name}"));
            }
        }
    }
    on_disk.sort();
    assert_eq!(listed, on_disk, "add new fixtures to the table");
}

#[test]
fn every_fixture_parses_to_the_expected_event() {
    for (provider, file, want) in cases() {
        let got = parse_fixture(provider, file);
        let name = format!("{provider}/{file}");
        match (&want, &got) {
            (
                Want::Push {
                    git_ref,
                    after,
                    created,
                    deleted,
                    head_message,
                    repository,
                },
                ForgeEvent::Push(p),
            ) => {
                assert_eq!(
                    p.git_ref,
                    GitRef::parse(git_ref).expect("valid ref"),
                    "{name}"
                );
                assert_eq!(
                    (
                        p.after.as_str(),
                        p.created,
                        p.deleted,
                        p.head_commit_message.as_deref(),
                        p.repository.as_str()
                    ),
                    (*after, *created, *deleted, *head_message, *repository),
                    "{name}"
                );
                assert_eq!(p.before.len(), 40, "{name}");
                if !p.deleted {
                    assert!(!p.commit_messages.is_empty(), "{name}");
                    assert!(p.sender.is_some(), "{name}");
                }
            }
            (
                Want::Review {
                    kind,
                    action,
                    number,
                    head,
                    source,
                    target,
                    repository,
                },
                ForgeEvent::PullRequest(pr),
            ) => {
                assert_eq!(
                    (
                        pr.kind,
                        &pr.action,
                        pr.number,
                        pr.head_sha.as_str(),
                        pr.source_branch.as_str(),
                        pr.target_branch.as_str(),
                        pr.repository.as_str()
                    ),
                    (*kind, action, *number, *head, *source, *target, *repository),
                    "{name}"
                );
                assert!(!pr.title.is_empty(), "{name}");
                assert!(pr.source_repository.is_some(), "{name}");
                assert!(
                    !pr.from_fork,
                    "{name}: the fixtures are from the same repository"
                );
            }
            (Want::Ping(hook), ForgeEvent::Ping(p)) => {
                assert_eq!(p.hook_id, Some(*hook), "{name}");
                assert!(p.zen.is_some(), "{name}");
            }
            (Want::Installation(kind, action, added, removed), ForgeEvent::Installation(i)) => {
                assert_eq!(
                    (
                        i.kind,
                        i.action.as_str(),
                        &i.repositories_added,
                        &i.repositories_removed
                    ),
                    (
                        *kind,
                        *action,
                        &added.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                        &removed.iter().map(|s| s.to_string()).collect::<Vec<_>>()
                    ),
                    "{name}"
                );
                assert!(i.installation_id.is_some() && i.account.is_some(), "{name}");
            }
            (Want::Other(event), ForgeEvent::Other { event: got }) => {
                assert_eq!(got, event, "{name}");
            }
            _ => panic!("{name}: expected {want:?}, got {got:?}"),
        }
    }
}

fn repository_for(provider: &str, full_name: &str) -> Repository {
    let provider = if provider == "github" {
        Provider::GitHub
    } else {
        Provider::GitLab
    };
    let (owner, name) = full_name.rsplit_once('/').expect("owner/name");
    let mut repo = sample_repository(1, provider, owner, name);
    repo.default_branch = BranchName::new("master").expect("valid");
    repo
}

#[test]
fn every_fixture_decides_as_expected() {
    for (provider, file, want) in cases() {
        let event = parse_fixture(provider, file);
        let full_name = match &want {
            Want::Push { repository, .. } | Want::Review { repository, .. } => *repository,
            _ => "Codertocat/Hello-World",
        };
        let decision = webhook::decide(&event, &repository_for(provider, full_name), None, false);
        let name = format!("{provider}/{file}");
        match (&want, decision) {
            (
                Want::Push { deleted: true, .. },
                EventDecision::Ignore(IgnoreReason::RefDeleted(_)),
            ) => {}
            (Want::Push { git_ref, after, .. }, EventDecision::Build(plans)) => {
                assert_eq!(plans.len(), 1, "{name}");
                let plan = &plans[0];
                assert_eq!(plan.trigger, TriggerType::Push, "{name}");
                assert_eq!(plan.commit_sha, *after, "{name}");
                if git_ref.starts_with("refs/tags/") {
                    assert_eq!(
                        plan.tag.as_deref(),
                        git_ref.strip_prefix("refs/tags/"),
                        "{name}"
                    );
                    assert_eq!(plan.priority, Priority::OTHER_PUSH, "{name}");
                } else {
                    assert_eq!(
                        plan.branch.as_ref().map(|b| b.as_str()),
                        Some("master"),
                        "{name}"
                    );
                    assert_eq!(
                        plan.priority,
                        Priority::DEFAULT_BRANCH_PUSH,
                        "{name}: master is the default"
                    );
                }
            }
            (Want::Review { action, number, .. }, EventDecision::Build(plans))
                if action.builds() =>
            {
                assert_eq!(plans[0].pull_request, Some(*number), "{name}");
                assert_eq!(plans[0].priority, Priority::REVIEW, "{name}");
                assert_eq!(
                    plans[0].base_branch.as_ref().map(|b| b.as_str()),
                    Some("master"),
                    "{name}"
                );
            }
            (
                Want::Review { .. },
                EventDecision::Ignore(IgnoreReason::PullRequestAction { .. }),
            ) => {}
            (Want::Ping(_), EventDecision::Ignore(IgnoreReason::Ping)) => {}
            (Want::Installation(..), EventDecision::Ignore(IgnoreReason::Installation { .. })) => {}
            (Want::Other(_), EventDecision::Ignore(IgnoreReason::UnknownEvent(_))) => {}
            (_, decision) => panic!("{name}: unexpected {decision:?}"),
        }
    }
}

/// A fixture's JSON, changed by `edit`, parsed as `provider`'s event of that file.
fn edited(provider: &str, file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> ForgeEvent {
    let mut value: serde_json::Value =
        serde_json::from_slice(&read(provider, file)).expect("fixtures are JSON");
    edit(&mut value);
    let body = value.to_string().into_bytes();
    match provider {
        "github" => github::parse(github_event_of(file), &body),
        _ => gitlab::parse(gitlab_header(file), &body),
    }
    .unwrap_or_else(|e| panic!("{provider}/{file} edited: {e}"))
}

fn pr(event: ForgeEvent) -> oore_core::webhook::PullRequestEvent {
    match event {
        ForgeEvent::PullRequest(pr) => pr,
        other => panic!("a pull request: {other:?}"),
    }
}

/// The real pull/merge request payloads, made to come from a fork the way the forges
/// say so: another `head.repo`, a `null` one (the fork was deleted), another
/// `source_project_id`. A fork's build waits for approval unless its author is trusted.
#[test]
fn fixtures_from_forks_wait_for_approval() {
    let held = |event: &ForgeEvent, name: &str| {
        let repo = repository_for(
            if name.starts_with("gitlab") {
                "gitlab"
            } else {
                "github"
            },
            if name.starts_with("gitlab") {
                "gitlabhq/gitlab-test"
            } else {
                "Codertocat/Hello-World"
            },
        );
        match webhook::decide(event, &repo, None, false) {
            EventDecision::AwaitApproval(hold) => hold,
            other => panic!("{name}: expected a hold, got {other:?}"),
        }
    };
    let contributor = |v: &mut serde_json::Value| {
        v["pull_request"]["author_association"] = "CONTRIBUTOR".into();
    };
    for file in ["pull_request.opened.json", "pull_request.synchronize.json"] {
        let name = format!("github/{file}");
        let other = pr(edited("github", file, |v| {
            contributor(v);
            v["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World".into();
        }));
        assert!(other.from_fork, "{name}");
        let hold = held(&ForgeEvent::PullRequest(other.clone()), &name);
        assert_eq!(hold.source.as_deref(), Some("stranger/Hello-World"));
        assert_eq!(hold.head_sha, PR_HEAD);
        let deleted = pr(edited("github", file, |v| {
            contributor(v);
            v["pull_request"]["head"]["repo"] = serde_json::Value::Null;
        }));
        assert!(deleted.from_fork, "{name}: head.repo null");
        assert_eq!(held(&ForgeEvent::PullRequest(deleted), &name).source, None);
        // The fixture's author is the OWNER: trusted, so it builds.
        let owner = pr(edited("github", file, |v| {
            v["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World".into();
        }));
        let repo = repository_for("github", "Codertocat/Hello-World");
        assert!(matches!(
            webhook::decide(&ForgeEvent::PullRequest(owner), &repo, None, false),
            EventDecision::Build(_)
        ));
        // Names compare case-insensitively.
        let same = pr(edited("github", file, |v| {
            v["pull_request"]["head"]["repo"]["full_name"] = "codertocat/hello-world".into();
        }));
        assert!(!same.from_fork, "{name}");
    }
    for file in ["merge_request.default.json", "merge_request.client-go.json"] {
        let name = format!("gitlab/{file}");
        let fork = pr(edited("gitlab", file, |v| {
            v["object_attributes"]["source_project_id"] = 99.into();
        }));
        assert!(fork.from_fork, "{name}");
        held(&ForgeEvent::PullRequest(fork), &name);
        let no_ids = pr(edited("gitlab", file, |v| {
            let attrs = v["object_attributes"].as_object_mut().expect("attributes");
            attrs.remove("source_project_id");
            attrs.remove("target_project_id");
        }));
        assert!(
            !no_ids.from_fork,
            "{name}: without ids, the source and target paths are compared"
        );
    }
}

/// Every parser entry point on `body`; errors are fine, panics are not.
fn exercise(body: &[u8]) {
    for event in [
        "push",
        "pull_request",
        "ping",
        "installation",
        "installation_repositories",
        "issues",
    ] {
        let _ = github::parse(event, body);
    }
    for event in [
        "Push Hook",
        "Tag Push Hook",
        "Merge Request Hook",
        "System Hook",
        "Note Hook",
    ] {
        let _ = gitlab::parse(event, body);
    }
}

fn all_fixture_bodies() -> Vec<Vec<u8>> {
    cases().iter().map(|(p, f, _)| read(p, f)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&body);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..27,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let bodies = all_fixture_bodies();
        let mut body = bodies[which % bodies.len()].clone();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        exercise(&body);
        let end = cut.index(body.len() + 1);
        exercise(&body[..end]);
    }

    #[test]
    fn fields_of_the_wrong_type_or_null_never_panic(
        which in 0usize..27,
        field in prop::sample::select(vec![
            "ref", "before", "after", "number", "action", "pull_request", "head", "base", "sha",
            "repository", "full_name", "commits", "head_commit", "object_attributes", "iid",
            "last_commit", "id", "oldrev", "source_branch", "project", "installation",
        ]),
        replacement in prop::sample::select(vec!["null", "42", "\"\"", "[]", "{}", "true", "-1", "1e400"]),
    ) {
        let bodies = all_fixture_bodies();
        let text = String::from_utf8_lossy(&bodies[which % bodies.len()]).into_owned();
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("fixtures are JSON");
        let replacement: serde_json::Value = serde_json::from_str(replacement).unwrap_or(serde_json::Value::Null);
        replace_everywhere(&mut value, field, &replacement);
        exercise(value.to_string().as_bytes());
    }
}

fn replace_everywhere(value: &mut serde_json::Value, field: &str, with: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == field {
                    *v = with.clone();
                } else {
                    replace_everywhere(v, field, with);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                replace_everywhere(v, field, with);
            }
        }
        _ => {}
    }
}
