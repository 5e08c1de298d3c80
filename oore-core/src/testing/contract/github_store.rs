//! Contract of [`GitHubStore`]: each case takes the store and the repository store of
//! the same database.

use jiff::Timestamp;
use ulid::Ulid;

use crate::domain::repository::{Provider, RepositoryState};
use crate::domain::secret::EncryptedSecret;
use crate::github::ports::{Claim, GitHubStore, SyncCounts, SyncedRepository};
use crate::github::{
    InstallationState, RemoteInstallation, RemoteRepository, RepositorySelection, SetupOutcome,
    SetupState,
};
use crate::ids::RepositoryId;
use crate::ports::{RepositoryFilter, RepositoryStore, StoreError};
use crate::testing::FakeCipher;
use crate::testing::contract::sample_repository;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn state(value: &str) -> SetupState {
    SetupState {
        digest: SetupState::digest_of(value),
        org: Some("acme".into()),
        app_name: "Oore CI".into(),
        created_at: at(0),
        expires_at: at(600),
        used_at: None,
        outcome: SetupOutcome::Pending,
    }
}

fn installation(id: u64, login: &str) -> RemoteInstallation {
    RemoteInstallation {
        id,
        account_login: login.into(),
        account_type: "Organization".into(),
        repository_selection: RepositorySelection::Selected,
        suspended: false,
        permissions: vec!["contents:read".into(), "checks:write".into()],
    }
}

fn synced(n: u128, github_id: u64, owner: &str, name: &str) -> SyncedRepository {
    SyncedRepository {
        remote: RemoteRepository {
            github_id,
            owner: owner.into(),
            name: name.into(),
            clone_url: format!("https://github.com/{owner}/{name}.git"),
            default_branch: Some("main".into()),
        },
        new_id: RepositoryId::from_ulid(Ulid::from_parts(9, n)),
    }
}

async fn names(repos: &dyn RepositoryStore) -> Vec<(String, RepositoryState)> {
    repos
        .list(&RepositoryFilter::default())
        .await
        .expect("list")
        .into_iter()
        .map(|r| (r.full_name(), r.state))
        .collect()
}

/// A state reads back, is claimed exactly once, and records its outcome.
pub async fn setup_states_are_single_use(store: &dyn GitHubStore, _repos: &dyn RepositoryStore) {
    let s = state("one");
    store.insert_setup_state(&s).await.expect("insert");
    assert!(matches!(
        store.insert_setup_state(&s).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(store.setup_state(&s.digest).await.unwrap(), Some(s.clone()));
    assert_eq!(
        store.claim_setup_state(&s.digest, at(5)).await.unwrap(),
        Claim::Claimed(s.clone())
    );
    let Claim::AlreadyUsed(used) = store.claim_setup_state(&s.digest, at(6)).await.unwrap() else {
        panic!("a second claim must fail");
    };
    assert_eq!(used.used_at, Some(at(5)));
    // A claim released after a transient failure can be claimed again.
    store.release_setup_claim(&s.digest).await.unwrap();
    assert!(matches!(
        store.claim_setup_state(&s.digest, at(7)).await.unwrap(),
        Claim::Claimed(_)
    ));
    let done = SetupOutcome::Completed {
        slug: "oore-ci".into(),
    };
    store.finish_setup_state(&s.digest, &done).await.unwrap();
    assert_eq!(
        store.setup_state(&s.digest).await.unwrap().unwrap().outcome,
        done
    );
    let unknown = SetupState::digest_of("never");
    assert_eq!(
        store.claim_setup_state(&unknown, at(1)).await.unwrap(),
        Claim::Unknown
    );
    assert_eq!(
        store.finish_setup_state(&unknown, &done).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.release_setup_claim(&unknown).await,
        Err(StoreError::NotFound)
    );
    // Released after an outcome: stays used.
    store.release_setup_claim(&s.digest).await.unwrap();
    assert!(matches!(
        store.claim_setup_state(&s.digest, at(8)).await.unwrap(),
        Claim::AlreadyUsed(_)
    ));
}

/// One App at a time; its key can be replaced; removing it twice is `NotFound`.
pub async fn the_app_is_one_row(store: &dyn GitHubStore, _repos: &dyn RepositoryStore) {
    assert_eq!(store.app().await.unwrap(), None);
    let first = crate::testing::sample_app(&FakeCipher, Ulid::from_parts(1, 1), 1);
    store.replace_app(&first).await.unwrap();
    assert_eq!(store.app().await.unwrap(), Some(first.clone()));
    let second = crate::testing::sample_app(&FakeCipher, Ulid::from_parts(2, 2), 2);
    store.replace_app(&second).await.unwrap();
    assert_eq!(store.app().await.unwrap(), Some(second.clone()));
    let key = EncryptedSecret::from_bytes(vec![7; 40]);
    assert_eq!(
        store.update_private_key(first.row_id, &key, at(9)).await,
        Err(StoreError::NotFound)
    );
    store
        .update_private_key(second.row_id, &key, at(9))
        .await
        .unwrap();
    let app = store.app().await.unwrap().unwrap();
    assert_eq!((app.private_key, app.updated_at), (key, at(9)));
    assert_eq!(store.remove_app(at(10)).await, Ok(0));
    assert_eq!(store.remove_app(at(11)).await, Err(StoreError::NotFound));
    assert_eq!(store.app().await.unwrap(), None);
}

/// Installations are created active, keep their state across upserts, and list by
/// account with their repository count.
pub async fn installations_keep_their_state(store: &dyn GitHubStore, _repos: &dyn RepositoryStore) {
    store
        .upsert_installation(&installation(8, "zeta"), at(0))
        .await
        .unwrap();
    store
        .upsert_installation(&installation(7, "Acme"), at(0))
        .await
        .unwrap();
    store
        .set_installation_state(
            8,
            InstallationState::Suspended,
            Some("suspended"),
            false,
            at(1),
        )
        .await
        .unwrap();
    let mut renamed = installation(8, "zeta-inc");
    renamed.repository_selection = RepositorySelection::All;
    store.upsert_installation(&renamed, at(2)).await.unwrap();
    let list = store.installations().await.unwrap();
    let ids: Vec<u64> = list.iter().map(|i| i.id).collect();
    assert_eq!(ids, [7, 8]);
    assert_eq!(list[1].state, InstallationState::Suspended);
    assert_eq!(list[1].account_login, "zeta-inc");
    assert_eq!(list[1].repository_selection, RepositorySelection::All);
    assert_eq!(list[1].detail.as_deref(), Some("suspended"));
    assert_eq!(list[0].permissions, ["checks:write", "contents:read"]);
    assert_eq!(list[0].synced_at, None);
    store
        .set_installation_state(7, InstallationState::Active, None, true, at(3))
        .await
        .unwrap();
    assert_eq!(
        store.installations().await.unwrap()[0].synced_at,
        Some(at(3))
    );
    assert_eq!(
        store
            .set_installation_state(99, InstallationState::Active, None, false, at(3))
            .await,
        Err(StoreError::NotFound)
    );
}

/// A sync creates, renames, adopts and deactivates, and a later one reactivates.
pub async fn syncs_create_rename_adopt_and_deactivate(
    store: &dyn GitHubStore,
    repos: &dyn RepositoryStore,
) {
    let hand = sample_repository(1, Provider::GitHub, "acme", "Hand");
    repos.insert(&hand).await.unwrap();
    assert_eq!(
        store.apply_repository_sync(7, &[], at(0)).await,
        Err(StoreError::NotFound)
    );
    store
        .upsert_installation(&installation(7, "acme"), at(0))
        .await
        .unwrap();
    let counts = store
        .apply_repository_sync(
            7,
            &[
                synced(1, 100, "acme", "app"),
                synced(2, 200, "acme", "hand"),
            ],
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        SyncCounts {
            added: 1,
            updated: 1,
            deactivated: 0,
            total: 2
        }
    );
    let app_id = RepositoryId::from_ulid(Ulid::from_parts(9, 1));
    let created = repos
        .get(app_id)
        .await
        .unwrap()
        .expect("created with new_id");
    assert_eq!(
        (created.provider, created.state, created.clone_url.as_str()),
        (
            Provider::GitHub,
            RepositoryState::Active,
            "https://github.com/acme/app.git"
        )
    );
    assert_eq!(store.repository_link(app_id).await.unwrap(), Some((100, 7)));
    assert_eq!(
        store.repository_link(hand.id).await.unwrap(),
        Some((200, 7))
    );
    // The same listing again changes nothing.
    let again = store
        .apply_repository_sync(
            7,
            &[
                synced(3, 100, "acme", "app"),
                synced(4, 200, "acme", "hand"),
            ],
            at(2),
        )
        .await
        .unwrap();
    assert_eq!((again.added, again.updated, again.total), (0, 0, 2));
    // Renamed, and the adopted one left the installation.
    let counts = store
        .apply_repository_sync(7, &[synced(5, 100, "acme", "app2")], at(3))
        .await
        .unwrap();
    assert_eq!(
        (counts.updated, counts.deactivated, counts.total),
        (1, 1, 1)
    );
    assert_eq!(store.repository_link(hand.id).await.unwrap(), None);
    assert_eq!(
        names(repos).await,
        [
            ("acme/app2".to_owned(), RepositoryState::Active),
            ("acme/hand".to_owned(), RepositoryState::Inactive),
        ]
    );
    assert_eq!(store.installations().await.unwrap()[0].repository_count, 1);
    // Out of the installation: deactivated; back in: reactivated.
    let counts = store.apply_repository_sync(7, &[], at(4)).await.unwrap();
    assert_eq!(counts.deactivated, 1);
    assert_eq!(names(repos).await[0].1, RepositoryState::Inactive);
    store
        .apply_repository_sync(7, &[synced(6, 100, "acme", "app2")], at(5))
        .await
        .unwrap();
    assert_eq!(names(repos).await[0].1, RepositoryState::Active);
    assert_eq!(
        repos
            .list(&RepositoryFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
}

/// Releasing an installation or removing the App deactivates what it covered.
pub async fn release_and_removal_deactivate(store: &dyn GitHubStore, repos: &dyn RepositoryStore) {
    let app = crate::testing::sample_app(&FakeCipher, Ulid::from_parts(1, 1), 1);
    store.replace_app(&app).await.unwrap();
    store
        .upsert_installation(&installation(7, "a"), at(0))
        .await
        .unwrap();
    store
        .upsert_installation(&installation(8, "b"), at(0))
        .await
        .unwrap();
    store
        .apply_repository_sync(7, &[synced(1, 100, "a", "one")], at(1))
        .await
        .unwrap();
    store
        .apply_repository_sync(8, &[synced(2, 200, "b", "two")], at(1))
        .await
        .unwrap();
    assert_eq!(
        store.release_installation_repositories(7, at(2)).await,
        Ok(1)
    );
    assert_eq!(
        store.release_installation_repositories(7, at(3)).await,
        Ok(0)
    );
    assert_eq!(
        names(repos).await,
        [
            ("a/one".to_owned(), RepositoryState::Inactive),
            ("b/two".to_owned(), RepositoryState::Active),
        ]
    );
    assert_eq!(store.remove_app(at(4)).await, Ok(1));
    assert!(store.installations().await.unwrap().is_empty());
    assert_eq!(
        names(repos).await[1],
        ("b/two".to_owned(), RepositoryState::Inactive)
    );
}
