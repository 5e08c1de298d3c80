//! The listing part of the [`WebhookEventStore`] contract suite: filters, order and
//! pages. Its case is part of [`super::webhook_store`].

use std::collections::HashSet;

use super::webhook_store::{
    add_repo, finished, get, insert, sample_rejected, sample_webhook_event,
};
use crate::domain::repository::Provider;
use crate::domain::webhook::WebhookEventStatus;
use crate::ids::WebhookEventId;
use crate::ports::{RepositoryStore, WebhookEventQuery, WebhookEventStore};

pub async fn list_filters_and_pages(store: &dyn WebhookEventStore, repos: &dyn RepositoryStore) {
    let github = add_repo(repos, 1, Provider::GitHub).await.id;
    let gitlab = add_repo(repos, 2, Provider::GitLab).await.id;
    let mut all = Vec::new();
    for n in 1..=12u128 {
        let mut e = sample_webhook_event(n, Some(if n % 3 == 0 { gitlab } else { github }));
        if n % 3 == 0 {
            e.provider = Provider::GitLab;
            e.event_type = "Push Hook".to_owned();
        } else if n % 2 == 0 {
            e.event_type = "pull_request".to_owned();
        }
        if n == 11 {
            e.repository_id = None;
            store
                .record_rejected(&[sample_rejected(e.clone(), "no repository")], 100)
                .await
                .expect("rejected");
        } else {
            insert(store, std::slice::from_ref(&e)).await;
        }
        match n % 4 {
            1 => {
                let done = finished(WebhookEventStatus::Processed, None, &[], n as i64);
                store.finish(e.id, &done).await.expect("finish");
            }
            2 => {
                let done = finished(WebhookEventStatus::Ignored, Some("ping"), &[], n as i64);
                store.finish(e.id, &done).await.expect("finish");
            }
            _ => {}
        }
        all.push(get(store, e.id).await.event);
    }
    let queries = [
        ("no filter", WebhookEventQuery::default()),
        (
            "repository",
            WebhookEventQuery {
                repository_id: Some(gitlab),
                ..Default::default()
            },
        ),
        (
            "provider",
            WebhookEventQuery {
                provider: Some(Provider::GitHub),
                ..Default::default()
            },
        ),
        (
            "event type",
            WebhookEventQuery {
                event_types: vec!["pull_request".to_owned()],
                ..Default::default()
            },
        ),
        (
            "either of two event names",
            WebhookEventQuery {
                event_types: vec!["push".to_owned(), "Push Hook".to_owned()],
                ..Default::default()
            },
        ),
        (
            "status",
            WebhookEventQuery {
                status: Some(WebhookEventStatus::Ignored),
                ..Default::default()
            },
        ),
        (
            "rejected",
            WebhookEventQuery {
                status: Some(WebhookEventStatus::Rejected),
                ..Default::default()
            },
        ),
        (
            "combined",
            WebhookEventQuery {
                repository_id: Some(github),
                provider: Some(Provider::GitHub),
                event_types: vec!["push".to_owned()],
                status: Some(WebhookEventStatus::Processed),
                ..Default::default()
            },
        ),
        (
            "nothing matches",
            WebhookEventQuery {
                event_types: vec!["issues".to_owned()],
                ..Default::default()
            },
        ),
    ];
    for (name, query) in queries {
        let expected: Vec<WebhookEventId> = all
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .map(|e| e.id)
            .collect();
        if !matches!(name, "no filter" | "nothing matches") {
            assert!(
                !expected.is_empty() && expected.len() < all.len(),
                "{name}: the seed must make this filter select something"
            );
        }
        let page = store.list_events(&query).await.expect("list");
        assert_eq!(
            page.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            expected,
            "{name}: newest first"
        );
        assert_eq!(page.next, None, "{name}: one page");
        for e in &page.events {
            assert_eq!(
                Some(e),
                all.iter().find(|a| a.id == e.id),
                "{name}: listed as stored"
            );
        }

        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .list_events(&WebhookEventQuery {
                    limit: 2,
                    before,
                    ..query.clone()
                })
                .await
                .expect("list page");
            assert!(page.events.len() <= 2);
            seen.extend(page.events.iter().map(|e| e.id));
            match page.next {
                Some(next) => {
                    assert_eq!(Some(next), page.events.last().map(|e| e.id));
                    before = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "{name}: pages have no gaps or repeats");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            seen.len(),
            "{name}: no repeats"
        );
    }
    assert_eq!(WebhookEventQuery::default().page_size(), 50);
    assert_eq!(
        WebhookEventQuery {
            limit: 10_000,
            ..Default::default()
        }
        .page_size(),
        WebhookEventQuery::MAX_LIMIT
    );
}
