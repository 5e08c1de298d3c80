//! The listing part of the [`BuildStore`] contract suite: every filter, both orders,
//! keyset pages and the page-size cap. Its cases are part of
//! [`super::build_store`].

use std::collections::HashSet;

use super::build_store::{add_repo, at, create, get, sample_build};
use crate::domain::build::{Build, BuildStatus, TriggerType};
use crate::domain::repository::BranchName;
use crate::ids::{BuildId, RepositoryId, WebhookEventId};
use crate::ports::{BuildQuery, BuildStore, BuildUpdate, RepositoryStore};
use crate::scheduling::RepoConcurrency;
use crate::testing::join_all;

/// The filters as the port describes them, to check stores against.
fn reference_matches(q: &BuildQuery, b: &Build) -> bool {
    let prefix_ok = match (&q.commit_prefix, &b.commit_sha) {
        (None, _) => true,
        (Some(p), Some(sha)) => sha.starts_with(p.as_str()),
        (Some(_), None) => false,
    };
    q.repository_id.is_none_or(|r| r == b.repository_id)
        && (q.statuses.is_empty() || q.statuses.contains(&b.status))
        && q.branch
            .as_ref()
            .is_none_or(|br| Some(br) == b.branch.as_ref())
        && q.trigger.is_none_or(|t| t == b.trigger)
        && q.created_from.is_none_or(|t| b.created_at >= t)
        && q.created_until.is_none_or(|t| b.created_at < t)
        && q.webhook_event_id
            .is_none_or(|e| b.webhook_event_id == Some(e))
        && prefix_ok
}

/// Twelve builds across two repositories with every kind of status, branch, trigger and
/// commit, as stored.
async fn seed(builds: &dyn BuildStore, repos: &dyn RepositoryStore) -> (Vec<Build>, RepositoryId) {
    let a = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let b = add_repo(repos, 2, RepoConcurrency::Serial).await;
    let triggers = [
        TriggerType::Push,
        TriggerType::PullRequest,
        TriggerType::Manual,
        TriggerType::MergeRequest,
    ];
    let branches = [Some("main"), Some("feature/ü"), None];
    let paths: [&[BuildStatus]; 5] = [
        &[],
        &[BuildStatus::Running],
        &[BuildStatus::Running, BuildStatus::Success],
        &[BuildStatus::Running, BuildStatus::Failure],
        &[BuildStatus::Cancelled],
    ];
    let mut stored = Vec::new();
    for n in 0..12u128 {
        let i = n as usize;
        let mut build = sample_build(n + 1, if n % 3 == 0 { b.id } else { a.id });
        build.created_at = at(n as i64 * 60);
        build.trigger = triggers[i % 4];
        build.branch = branches[i % 3].map(|s| BranchName::new_for("branch", s).expect("valid"));
        build.commit_sha = (n % 5 != 4).then(|| format!("{}{n:038x}", ["ab", "cd", "ef"][i % 3]));
        build.webhook_event_id =
            (n % 4 == 1).then(|| WebhookEventId::from_ulid(ulid::Ulid::from_parts(7, n % 8)));
        let created = create(builds, build).await;
        let mut from = BuildStatus::Pending;
        for &to in paths[i % 5] {
            let none = BuildUpdate::default();
            assert_eq!(
                builds.transition_build(created.id, from, to, &none).await,
                Ok(true)
            );
            from = to;
        }
        stored.push(get(builds, created.id).await);
    }
    (stored, a.id)
}

pub async fn every_list_filter_and_both_orders(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let (all, repo_a) = seed(builds, repos).await;
    let main = BranchName::main();
    let queries = [
        ("no filter", BuildQuery::default()),
        (
            "repository",
            BuildQuery {
                repository_id: Some(repo_a),
                ..Default::default()
            },
        ),
        (
            "one status",
            BuildQuery {
                statuses: vec![BuildStatus::Pending],
                ..Default::default()
            },
        ),
        (
            "several statuses",
            BuildQuery {
                statuses: vec![
                    BuildStatus::Success,
                    BuildStatus::Failure,
                    BuildStatus::Cancelled,
                ],
                ..Default::default()
            },
        ),
        (
            "branch",
            BuildQuery {
                branch: Some(main.clone()),
                ..Default::default()
            },
        ),
        (
            "trigger",
            BuildQuery {
                trigger: Some(TriggerType::Manual),
                ..Default::default()
            },
        ),
        (
            "created from (inclusive)",
            BuildQuery {
                created_from: Some(at(5 * 60)),
                ..Default::default()
            },
        ),
        (
            "created until (exclusive)",
            BuildQuery {
                created_until: Some(at(5 * 60)),
                ..Default::default()
            },
        ),
        (
            "created range",
            BuildQuery {
                created_from: Some(at(3 * 60)),
                created_until: Some(at(7 * 60)),
                ..Default::default()
            },
        ),
        (
            "commit prefix",
            BuildQuery {
                commit_prefix: Some("cd".to_owned()),
                ..Default::default()
            },
        ),
        (
            "whole commit",
            BuildQuery {
                commit_prefix: all[1].commit_sha.clone(),
                ..Default::default()
            },
        ),
        (
            "combined",
            BuildQuery {
                repository_id: Some(repo_a),
                statuses: vec![
                    BuildStatus::Pending,
                    BuildStatus::Running,
                    BuildStatus::Success,
                ],
                created_from: Some(at(60)),
                ..Default::default()
            },
        ),
        (
            "webhook event",
            BuildQuery {
                webhook_event_id: all[1].webhook_event_id,
                ..Default::default()
            },
        ),
        (
            "nothing matches",
            BuildQuery {
                commit_prefix: Some("00".to_owned()),
                ..Default::default()
            },
        ),
    ];
    for (name, query) in queries {
        for oldest_first in [false, true] {
            let query = BuildQuery {
                oldest_first,
                ..query.clone()
            };
            let mut expected: Vec<BuildId> = all
                .iter()
                .filter(|b| reference_matches(&query, b))
                .map(|b| b.id)
                .collect();
            if !oldest_first {
                expected.reverse();
            }
            if !matches!(name, "no filter" | "nothing matches") {
                assert!(
                    !expected.is_empty() && expected.len() < all.len(),
                    "{name}: the seed must make this filter select something"
                );
            }
            let page = builds.list_builds(&query).await.expect("list");
            let got: Vec<BuildId> = page.builds.iter().map(|b| b.id).collect();
            assert_eq!(got, expected, "{name}, oldest_first = {oldest_first}");
            assert_eq!(page.next, None, "{name}: everything fits one page");
            for b in &page.builds {
                assert!(
                    all.contains(b),
                    "{name}: listed builds are whole, as stored"
                );
            }
        }
    }
}

async fn pages(builds: &dyn BuildStore, query: &BuildQuery) -> Vec<Vec<BuildId>> {
    let mut query = query.clone();
    let mut out = Vec::new();
    loop {
        let page = builds.list_builds(&query).await.expect("list");
        assert!(page.builds.len() <= query.page_size() as usize);
        out.push(page.builds.iter().map(|b| b.id).collect());
        match page.next {
            Some(next) => {
                assert_eq!(
                    Some(next),
                    page.builds.last().map(|b| b.id),
                    "next is the last build"
                );
                query.after = Some(next);
            }
            None => return out,
        }
        assert!(out.len() < 100, "pagination does not end");
    }
}

pub async fn keyset_pages_have_no_gaps_or_repeats(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let a = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let b = add_repo(repos, 2, RepoConcurrency::Parallel).await;
    let mut ids = Vec::new();
    for n in 1..=25u128 {
        let repo = if n % 3 == 0 { b.id } else { a.id };
        ids.push((create(builds, sample_build(n, repo)).await.id, repo));
    }
    let all: Vec<BuildId> = ids.iter().map(|(id, _)| *id).collect();
    let of_b: Vec<BuildId> = ids
        .iter()
        .filter(|(_, r)| *r == b.id)
        .map(|(id, _)| *id)
        .collect();

    let newest = BuildQuery {
        limit: 10,
        ..Default::default()
    };
    let got = pages(builds, &newest).await;
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    let mut expected = all.clone();
    expected.reverse();
    assert_eq!(got.concat(), expected, "newest first, no gaps or repeats");

    let oldest = BuildQuery {
        limit: 10,
        oldest_first: true,
        ..Default::default()
    };
    let got = pages(builds, &oldest).await;
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(got.concat(), all, "oldest first, no gaps or repeats");

    // Repository b has 8 builds: two full pages of 4, and no empty third page.
    let filtered = BuildQuery {
        repository_id: Some(b.id),
        limit: 4,
        oldest_first: true,
        ..Default::default()
    };
    let got = pages(builds, &filtered).await;
    assert_eq!(
        got.iter().map(Vec::len).collect::<Vec<_>>(),
        [4, 4],
        "next only when more match"
    );
    assert_eq!(got.concat(), of_b);
    let unique: HashSet<BuildId> = got.concat().into_iter().collect();
    assert_eq!(unique.len(), of_b.len());

    // The cursor is a position, so it may name a build the filter does not select.
    let from_a_build = BuildQuery {
        after: Some(all[9]),
        ..filtered.clone()
    };
    let rest: Vec<BuildId> = of_b.iter().copied().filter(|id| *id > all[9]).collect();
    assert_eq!(pages(builds, &from_a_build).await.concat(), rest);
}

pub async fn page_size_defaults_and_is_capped(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let total = BuildQuery::MAX_LIMIT as u128 + 5;
    let wave: Vec<Build> = (1..=total).map(|n| sample_build(n, repo.id)).collect();
    for chunk in wave.chunks(25) {
        for result in join_all(chunk.iter().map(|b| builds.create_build(b))).await {
            result.expect("create");
        }
    }
    let default = builds
        .list_builds(&BuildQuery::default())
        .await
        .expect("list");
    assert_eq!(
        default.builds.len(),
        BuildQuery::DEFAULT_LIMIT as usize,
        "limit 0 is the default"
    );
    assert!(default.next.is_some());
    for limit in [BuildQuery::MAX_LIMIT + 1, 1000, u32::MAX] {
        let page = builds
            .list_builds(&BuildQuery {
                limit,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(
            page.builds.len(),
            BuildQuery::MAX_LIMIT as usize,
            "limit {limit} is capped"
        );
        let rest = BuildQuery {
            limit,
            after: page.next,
            ..Default::default()
        };
        let rest = builds.list_builds(&rest).await.expect("list");
        assert_eq!(rest.builds.len(), 5);
        assert_eq!(rest.next, None);
    }
}
