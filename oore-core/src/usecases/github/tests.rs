//! The GitHub use cases over the in-memory fakes and a scripted API.

use std::sync::Arc;

use jiff::SignedDuration;

use super::*;
use crate::domain::repository::RepositoryState;
use crate::domain::secret::SecretString;
use crate::error::{ErrorClass, UseCaseError};
use crate::forge::ForgeError;
use crate::github::ports::GitHubServices;
use crate::github::{
    AppInfo, GitHubLocation, InstallationState, NewAppCredentials, RemoteInstallation,
    RemoteRepository, RepositorySelection, app_secret_binding,
};
use crate::ports::RepositoryFilter;
use crate::services::Services;
use crate::testing::{
    DirectTokens, FakeCipher, FixedClock, MemoryGitHubStore, MemoryRepositoryStore,
    ScriptedGitHubApi, SequentialIds, block_on,
};

struct World {
    svc: Services,
    gh: GitHubServices,
    api: Arc<ScriptedGitHubApi>,
    clock: Arc<FixedClock>,
    tokens: Arc<DirectTokens>,
}

fn world() -> World {
    let repositories = MemoryRepositoryStore::default();
    let clock = Arc::new(FixedClock::default());
    let mut svc = crate::testing::services();
    svc.repositories = Arc::new(repositories.clone());
    svc.clock = clock.clone();
    svc.ids = Arc::new(SequentialIds::default());
    svc.cipher = Arc::new(FakeCipher);
    let store = Arc::new(MemoryGitHubStore::new(repositories));
    let api = Arc::new(ScriptedGitHubApi::default());
    let tokens = Arc::new(DirectTokens::new(
        store.clone(),
        api.clone(),
        svc.cipher.clone(),
    ));
    let gh = GitHubServices {
        store,
        api: api.clone(),
        tokens: tokens.clone(),
        location: GitHubLocation::public(),
        base_url: "https://ci.example.com".into(),
    };
    World {
        svc,
        gh,
        api,
        clock,
        tokens,
    }
}

fn credentials() -> NewAppCredentials {
    NewAppCredentials {
        app_id: 42,
        slug: "oore-ci".into(),
        name: "Oore CI".into(),
        client_id: "Iv1.abc".into(),
        html_url: "https://github.com/apps/oore-ci".into(),
        owner_login: "acme".into(),
        client_secret: SecretString::new("client-secret-value"),
        webhook_secret: Some(SecretString::new("webhook-secret-value")),
        pem: SecretString::new(
            "-----BEGIN RSA PRIVATE KEY-----\nkey-1\n-----END RSA PRIVATE KEY-----\n",
        ),
    }
}

fn start(w: &World, state: &str) -> SetupStarted {
    block_on(start_setup(
        &w.svc,
        &w.gh,
        StartSetup {
            state: state.into(),
            ..StartSetup::default()
        },
    ))
    .unwrap()
}

fn configure(w: &World) {
    start(w, "state-1");
    w.api.set(|s| s.conversion = Some(Ok(credentials())));
    block_on(complete_setup(&w.svc, &w.gh, "state-1", Some("code-1"))).unwrap();
}

#[test]
fn setup_runs_from_page_to_a_sealed_app_and_the_state_is_single_use() {
    let w = world();
    let started = start(&w, "s t");
    assert_eq!(
        started.page_url,
        "https://ci.example.com/setup/github?state=s%20t"
    );
    assert_eq!(started.app_name, "Oore CI (ci.example.com)");
    assert_eq!(started.warning, None);
    let page = block_on(setup_page(&w.svc, &w.gh, "s t")).unwrap();
    assert_eq!(
        page.action,
        "https://github.com/settings/apps/new?state=s%20t"
    );
    assert!(page.manifest.contains("/setup/github/callback"));
    assert!(matches!(
        block_on(setup_status(&w.svc, &w.gh, "s t")).unwrap(),
        SetupProgress::Waiting { .. }
    ));

    w.api.set(|s| s.conversion = Some(Ok(credentials())));
    let done = block_on(complete_setup(&w.svc, &w.gh, "s t", Some("code"))).unwrap();
    assert_eq!(
        done.install_url,
        "https://github.com/apps/oore-ci/installations/new"
    );
    let app = block_on(w.gh.store.app()).unwrap().unwrap();
    let opened = w
        .svc
        .cipher
        .decrypt(
            &app.private_key,
            &app_secret_binding(app.row_id, "private_key"),
        )
        .unwrap();
    assert!(opened.expose().contains("key-1"));
    for sealed in [&app.private_key, &app.client_secret] {
        let text = String::from_utf8_lossy(sealed.as_bytes()).into_owned();
        assert!(!text.contains("key-1") && !text.contains("client-secret-value"));
    }
    // Moved to another column, a secret does not open.
    assert!(
        w.svc
            .cipher
            .decrypt(
                &app.client_secret,
                &app_secret_binding(app.row_id, "private_key")
            )
            .is_err()
    );
    assert_eq!(
        block_on(setup_status(&w.svc, &w.gh, "s t")).unwrap(),
        SetupProgress::Completed {
            slug: "oore-ci".into(),
            install_url: done.install_url.clone()
        }
    );
    // Used: neither the page nor the callback work again.
    assert!(matches!(
        block_on(setup_page(&w.svc, &w.gh, "s t")),
        Err(SetupPageError::Used)
    ));
    let again = block_on(complete_setup(&w.svc, &w.gh, "s t", Some("code"))).unwrap_err();
    assert!(matches!(again, CompleteSetupError::UsedState), "{again}");
    assert_eq!(w.tokens.forgotten.lock().unwrap().as_slice(), [None]);
}

#[test]
fn unknown_and_expired_states_are_refused_with_what_to_do() {
    let w = world();
    let e = block_on(complete_setup(&w.svc, &w.gh, "nope", Some("c"))).unwrap_err();
    assert!(matches!(e, CompleteSetupError::UnknownState));
    assert_eq!(e.class(), ErrorClass::NotFound);
    assert!(e.to_string().contains("oore github setup"), "{e}");

    start(&w, "late");
    w.clock.advance(SignedDuration::from_mins(11));
    assert!(matches!(
        block_on(setup_page(&w.svc, &w.gh, "late")),
        Err(SetupPageError::Expired)
    ));
    assert_eq!(
        block_on(setup_status(&w.svc, &w.gh, "late")).unwrap(),
        SetupProgress::Expired
    );
    let e = block_on(complete_setup(&w.svc, &w.gh, "late", Some("c"))).unwrap_err();
    assert!(matches!(e, CompleteSetupError::ExpiredState), "{e}");
    let SetupProgress::Failed { message } = block_on(setup_status(&w.svc, &w.gh, "late")).unwrap()
    else {
        panic!("an expired callback is recorded as failed");
    };
    assert!(message.contains("expired"), "{message}");
    assert!(w.api.calls().is_empty(), "no code was exchanged");
}

#[test]
fn a_refused_code_is_recorded_and_nothing_is_stored() {
    let w = world();
    start(&w, "s");
    let e = block_on(complete_setup(&w.svc, &w.gh, "s", Some("old"))).unwrap_err();
    assert!(matches!(e, CompleteSetupError::CodeRefused), "{e}");
    assert!(block_on(w.gh.store.app()).unwrap().is_none());
    assert!(matches!(
        block_on(setup_status(&w.svc, &w.gh, "s")).unwrap(),
        SetupProgress::Failed { .. }
    ));
}

#[test]
fn a_configured_app_is_replaced_only_with_force() {
    let w = world();
    configure(&w);
    let e = block_on(start_setup(
        &w.svc,
        &w.gh,
        StartSetup {
            state: "again".into(),
            ..StartSetup::default()
        },
    ))
    .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Conflict);
    assert!(e.to_string().contains("--force"), "{e}");
    block_on(start_setup(
        &w.svc,
        &w.gh,
        StartSetup {
            state: "again".into(),
            force: true,
            org: Some("acme".into()),
            name: Some("Build bot".into()),
        },
    ))
    .unwrap();
    let page = block_on(setup_page(&w.svc, &w.gh, "again")).unwrap();
    assert!(
        page.action.contains("/organizations/acme/"),
        "{}",
        page.action
    );
    assert!(page.manifest.contains("Build bot"));

    let bad = block_on(start_setup(
        &w.svc,
        &w.gh,
        StartSetup {
            state: "x".into(),
            force: true,
            org: Some("a/b".into()),
            name: Some(String::new()),
        },
    ))
    .unwrap_err();
    let fields: Vec<_> = bad
        .field_errors()
        .unwrap()
        .as_slice()
        .iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, ["org", "name"]);
}

fn installation(id: u64, login: &str, suspended: bool) -> RemoteInstallation {
    RemoteInstallation {
        id,
        account_login: login.into(),
        account_type: "Organization".into(),
        repository_selection: RepositorySelection::Selected,
        suspended,
        permissions: vec!["checks:write".into()],
    }
}

fn remote(github_id: u64, owner: &str, name: &str) -> RemoteRepository {
    RemoteRepository {
        github_id,
        owner: owner.into(),
        name: name.into(),
        clone_url: format!("https://github.com/{owner}/{name}.git"),
        default_branch: Some("main".into()),
    }
}

fn repos(w: &World) -> Vec<(String, RepositoryState)> {
    block_on(w.svc.repositories.list(&RepositoryFilter::default()))
        .unwrap()
        .into_iter()
        .map(|r| (r.full_name(), r.state))
        .collect()
}

#[test]
fn sync_adds_renames_adopts_and_deactivates() {
    let w = world();
    configure(&w);
    // Added by hand before the App: adopted, not duplicated.
    block_on(crate::usecases::repository::add_repository(
        &w.svc,
        crate::usecases::repository::AddRepository {
            provider: "github".into(),
            owner: "acme".into(),
            name: "Old".into(),
            ..Default::default()
        },
    ))
    .unwrap();
    w.api.set(|s| {
        s.installations = Some(Ok(vec![installation(7, "acme", false)]));
        s.repositories.insert(
            7,
            Ok(vec![remote(1, "acme", "app"), remote(2, "acme", "old")]),
        );
    });
    let report = block_on(sync_installations(&w.svc, &w.gh, None)).unwrap();
    assert_eq!(
        report.installations[0].outcome,
        InstallationOutcome::Synced(crate::github::ports::SyncCounts {
            added: 1,
            updated: 1,
            deactivated: 0,
            total: 2
        })
    );
    assert_eq!(
        repos(&w),
        [
            ("acme/app".to_owned(), RepositoryState::Active),
            ("acme/old".to_owned(), RepositoryState::PendingSetup)
        ]
    );
    // Renamed on GitHub, and one removed from the installation.
    w.api.set(|s| {
        s.repositories
            .insert(7, Ok(vec![remote(1, "acme", "app-renamed")]));
    });
    let report = block_on(sync_installations(&w.svc, &w.gh, Some(7))).unwrap();
    let InstallationOutcome::Synced(counts) = report.installations[0].outcome else {
        panic!("{report:?}");
    };
    assert_eq!(
        (counts.updated, counts.deactivated, counts.total),
        (1, 0, 1)
    );
    assert_eq!(
        repos(&w)[0],
        ("acme/app-renamed".to_owned(), RepositoryState::Active)
    );
    let installs = block_on(w.gh.store.installations()).unwrap();
    assert_eq!(installs[0].repository_count, 1);
    assert!(installs[0].synced_at.is_some());
    // Removed from the installation: deactivated; added back: reactivated.
    w.api.set(|s| {
        s.repositories.insert(7, Ok(vec![]));
    });
    block_on(sync_installations(&w.svc, &w.gh, Some(7))).unwrap();
    assert_eq!(
        repos(&w)[0],
        ("acme/app-renamed".to_owned(), RepositoryState::Inactive)
    );
    w.api.set(|s| {
        s.repositories
            .insert(7, Ok(vec![remote(1, "acme", "app-renamed")]));
    });
    block_on(sync_installations(&w.svc, &w.gh, Some(7))).unwrap();
    assert_eq!(
        repos(&w)[0],
        ("acme/app-renamed".to_owned(), RepositoryState::Active)
    );
    assert!(matches!(
        block_on(sync_installations(&w.svc, &w.gh, Some(99))),
        Err(SyncError::UnknownInstallation(99))
    ));
}

#[test]
fn suspended_and_revoked_installations_get_a_clear_state() {
    let w = world();
    configure(&w);
    w.api.set(|s| {
        s.installations = Some(Ok(vec![
            installation(7, "acme", false),
            installation(8, "beta", false),
        ]));
        s.repositories.insert(7, Ok(vec![remote(1, "acme", "app")]));
        s.repositories
            .insert(8, Ok(vec![remote(2, "beta", "tool")]));
    });
    block_on(sync_installations(&w.svc, &w.gh, None)).unwrap();
    w.api.set(|s| {
        s.repositories.insert(
            7,
            Err(ForgeError::Forbidden {
                message: "This installation has been suspended".into(),
            }),
        );
        s.repositories.insert(
            8,
            Err(ForgeError::NotFound {
                message: "Not Found".into(),
            }),
        );
    });
    let report = block_on(sync_installations(&w.svc, &w.gh, None)).unwrap();
    assert!(matches!(
        report.installations[0].outcome,
        InstallationOutcome::Suspended { .. }
    ));
    assert!(matches!(
        report.installations[1].outcome,
        InstallationOutcome::Revoked { deactivated: 1, .. }
    ));
    let states: Vec<_> = block_on(w.gh.store.installations())
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.state))
        .collect();
    assert_eq!(
        states,
        [
            (7, InstallationState::Suspended),
            (8, InstallationState::Revoked)
        ]
    );
    assert_eq!(
        repos(&w)[1],
        ("beta/tool".to_owned(), RepositoryState::Inactive)
    );
    // Uninstalled entirely: gone from the listing.
    w.api.set(|s| s.installations = Some(Ok(vec![])));
    let report = block_on(sync_installations(&w.svc, &w.gh, None)).unwrap();
    assert!(
        report
            .installations
            .iter()
            .all(|i| matches!(i.outcome, InstallationOutcome::Revoked { .. }))
    );
    // Refused App credentials are their own error.
    w.api.set(|s| {
        s.installations = Some(Err(ForgeError::Unauthorized {
            message: "A JSON web token could not be decoded".into(),
        }))
    });
    let e = block_on(sync_installations(&w.svc, &w.gh, None)).unwrap_err();
    assert!(e.to_string().contains("oore github key"), "{e}");
}

#[test]
fn key_rotation_checks_the_key_with_github_first() {
    let w = world();
    let e = block_on(rotate_private_key(&w.svc, &w.gh, SecretString::new("x"))).unwrap_err();
    assert!(matches!(e, RotateKeyError::NotConfigured));
    configure(&w);
    let new_key = SecretString::new(
        "-----BEGIN RSA PRIVATE KEY-----\nkey-2\n-----END RSA PRIVATE KEY-----\n",
    );
    let e = block_on(rotate_private_key(
        &w.svc,
        &w.gh,
        SecretString::new("garbage"),
    ))
    .unwrap_err();
    assert!(matches!(e, RotateKeyError::InvalidKey(_)), "{e}");
    w.api.set(|s| {
        s.app = Some(Err(ForgeError::Unauthorized {
            message: "A JSON web token could not be decoded".into(),
        }))
    });
    let e = block_on(rotate_private_key(&w.svc, &w.gh, new_key.clone())).unwrap_err();
    assert!(e.to_string().contains("stored key was kept"), "{e}");
    w.api.set(|s| {
        s.app = Some(Ok(AppInfo {
            app_id: 9,
            slug: "other".into(),
            name: "Other".into(),
            owner_login: "x".into(),
        }))
    });
    let e = block_on(rotate_private_key(&w.svc, &w.gh, new_key.clone())).unwrap_err();
    assert!(
        matches!(
            e,
            RotateKeyError::OtherApp {
                expected: 42,
                found: 9
            }
        ),
        "{e}"
    );
    let app = block_on(w.gh.store.app()).unwrap().unwrap();
    let key = |app: &crate::github::GitHubApp| {
        w.svc
            .cipher
            .decrypt(
                &app.private_key,
                &app_secret_binding(app.row_id, "private_key"),
            )
            .unwrap()
    };
    assert!(key(&app).expose().contains("key-1"));
    w.api.set(|s| {
        s.app = Some(Ok(AppInfo {
            app_id: 42,
            slug: "oore-ci".into(),
            name: "Oore CI".into(),
            owner_login: "acme".into(),
        }))
    });
    block_on(rotate_private_key(&w.svc, &w.gh, new_key)).unwrap();
    let app = block_on(w.gh.store.app()).unwrap().unwrap();
    assert!(key(&app).expose().contains("key-2"));
}

#[test]
fn removing_the_app_deactivates_its_repositories() {
    let w = world();
    assert!(matches!(
        block_on(remove_app(&w.svc, &w.gh)),
        Err(RemoveAppError::NotConfigured)
    ));
    configure(&w);
    w.api.set(|s| {
        s.installations = Some(Ok(vec![installation(7, "acme", false)]));
        s.repositories.insert(7, Ok(vec![remote(1, "acme", "app")]));
    });
    block_on(sync_installations(&w.svc, &w.gh, None)).unwrap();
    assert_eq!(block_on(remove_app(&w.svc, &w.gh)).unwrap(), 1);
    let status = block_on(github_status(&w.svc, &w.gh)).unwrap();
    assert!(status.app.is_none() && status.installations.is_empty());
    assert_eq!(
        repos(&w),
        [("acme/app".to_owned(), RepositoryState::Inactive)]
    );
}

#[test]
fn clones_of_covered_repositories_get_their_installations_token() {
    let w = world();
    configure(&w);
    w.api.set(|s| {
        s.installations = Some(Ok(vec![installation(7, "acme", false)]));
        s.repositories.insert(7, Ok(vec![remote(1, "acme", "app")]));
    });
    block_on(sync_installations(&w.svc, &w.gh, None)).unwrap();
    let repo = block_on(w.svc.repositories.list(&RepositoryFilter::default())).unwrap()[0].clone();
    let token = block_on(clone_token(&w.gh, repo.id)).unwrap().unwrap();
    assert_eq!(token.expose(), "token-7");
    let other = crate::ids::RepositoryId::from_ulid(ulid::Ulid::from_parts(5, 5));
    assert!(block_on(clone_token(&w.gh, other)).unwrap().is_none());
}
