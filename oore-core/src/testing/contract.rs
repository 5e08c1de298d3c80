//! Contract suites: every implementation of a port runs the same checks, one test per
//! check (as ripgrep's `rgtest!` runs each test against both regex engines).
//!
//! Each suite is a module of `pub` case functions; [`contract_tests!`](crate::contract_tests)
//! expands to one `#[test]` per case for one implementation, so a failure names its case
//! and the other cases still run:
//!
//! ```text
//! oore_core::contract_tests!(repository_store, |case| {
//!     block_on(case(&MemoryRepositoryStore::default()))
//! });
//! ```
//!
//! The cases assert (panic) on violations, like any test. A new case is a `pub` function
//! in its suite's module **and** a name in that suite's list in `contract_tests!`.

use jiff::Timestamp;

use crate::domain::repository::{
    BranchName, CloneUrl, ForkPolicy, Provider, RepoName, RepoOwner, Repository, RepositoryState,
};
use crate::domain::secret::{EncryptedSecret, StoredSecret};
use crate::ids::RepositoryId;
use crate::scheduling::RepoConcurrency;

mod build_list;
pub mod build_logs;
pub mod build_store;
pub mod github_store;
pub mod key_check_store;
pub mod pipeline_store;
pub mod repository_store;
pub mod secret_cipher;
mod webhook_list;
pub mod webhook_store;
pub mod workspaces;

pub use build_store::sample_build;
pub use webhook_store::{sample_rejected, sample_webhook_event};
pub use workspaces::WorkspaceFixture;

/// A valid repository for tests; `n` makes the id and name unique.
pub fn sample_repository(n: u128, provider: Provider, owner: &str, name: &str) -> Repository {
    let at = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
    let owner = RepoOwner::new(provider, owner).expect("valid sample owner");
    let name = RepoName::new(name).expect("valid sample name");
    let clone_url = CloneUrl::default_for(provider, &owner, &name)
        .unwrap_or_else(|| CloneUrl::new("/srv/git/sample.git").expect("valid url"));
    Repository {
        id: RepositoryId::from_ulid(ulid::Ulid::from_parts(1_767_225_600_000, n)),
        provider,
        owner,
        name,
        clone_url,
        default_branch: BranchName::main(),
        state: RepositoryState::Active,
        webhook_secret: Some(match provider {
            Provider::GitLab => StoredSecret::Digest([n as u8; 32]),
            _ => StoredSecret::Sealed(EncryptedSecret::from_bytes(vec![1, 2, 3, n as u8])),
        }),
        clone_credentials: None,
        build_concurrency: RepoConcurrency::Parallel,
        fork_pull_requests: ForkPolicy::Approve,
        created_at: at,
        updated_at: at,
    }
}

/// One `#[test]` per case of a contract suite, for one implementation, in a module named
/// after the suite.
///
/// `oore_core::contract_tests!(SUITE, |case| BODY)` runs `BODY` once per case with `case`
/// bound to that case's function (`oore_core::testing::contract::SUITE::<case>`). `BODY`
/// makes a fresh implementation, calls `case` with it and drives the future to its end
/// (with [`block_on`](crate::testing::block_on) for the in-memory fakes, a tokio runtime
/// for the real adapters). Anything `BODY` names from the calling module is in scope.
///
/// | suite | `case` takes |
/// |---|---|
/// | `repository_store` | `&dyn RepositoryStore` (async) |
/// | `build_store` | `&dyn BuildStore, &dyn RepositoryStore` over one database (async) |
/// | `webhook_store` | `&dyn WebhookEventStore, &dyn RepositoryStore` over one database (async) |
/// | `pipeline_store` | `&dyn PipelineStore, RepositoryId, RepositoryId` (two existing repositories; async) |
/// | `key_check_store` | `&dyn KeyCheckStore, &dyn RepositoryStore` over one database (async) |
/// | `secret_cipher` | `&dyn SecretCipher` |
/// | `build_logs` | `&dyn BuildLogs` (async) |
/// | `workspaces` | `&dyn Workspaces, &dyn WorkspaceFixture` over the same workspaces (async) |
/// | `github_store` | `&dyn GitHubStore, &dyn RepositoryStore` over one database (async) |
///
/// ```text
/// oore_core::contract_tests!(build_store, |case| {
///     let repositories = MemoryRepositoryStore::default();
///     block_on(case(&MemoryBuildStore::new(repositories.clone()), &repositories))
/// });
/// ```
#[macro_export]
macro_rules! contract_tests {
    (repository_store, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests repository_store, $case, $body, [
            insert_then_get_round_trips_every_field,
            duplicate_identity_is_rejected_case_insensitively,
            list_filters_and_orders,
            update_replaces_fields_and_checks_identity,
            soft_delete_hides_and_frees_the_identity,
            unknown_ids_are_not_found,
            unicode_names_survive,
        ]);
    };
    (build_store, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests build_store, $case, $body, [
            numbers_are_per_repository_without_gaps_or_repeats,
            a_build_of_an_unknown_repository_is_not_found,
            every_field_round_trips,
            transition_build_is_compare_and_set,
            queue_and_running_views,
            steps_are_replaced_listed_by_index_and_compare_and_set,
            step_processes_are_recorded_per_step_and_replaced_with_the_steps,
            artifacts_are_listed_by_path_and_scoped_to_their_build,
            every_list_filter_and_both_orders,
            keyset_pages_have_no_gaps_or_repeats,
            page_size_defaults_and_is_capped,
            builds_are_found_by_number_and_by_id_suffix,
        ]);
    };
    (webhook_store, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests webhook_store, $case, $body, [
            every_field_round_trips,
            duplicates_inside_and_across_batches,
            concurrent_deliveries_of_one_id_insert_once,
            rejected_attempts_are_not_deliveries,
            unprocessed_in_arrival_order,
            finish_is_compare_and_set,
            finish_all_moves_each_received_event,
            requeue_reopens_finished_events_only,
            forgetting_deliveries_keeps_events,
            list_filters_and_pages,
            a_bad_event_fails_the_whole_batch,
            rejected_events_are_bounded_oldest_first,
            pruning_rejected_events_by_age_and_count,
            approval_is_compare_and_set,
        ]);
    };
    (pipeline_store, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests pipeline_store, $case, $body, [
            an_empty_store_has_nothing_to_clear,
            saves_are_numbered_per_repository,
            history_is_newest_first_with_the_current_version_marked,
            clearing_keeps_history_and_numbering_continues,
        ]);
    };
    (key_check_store, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests key_check_store, $case, $body, [
            no_check_value_until_one_is_created_and_the_first_one_stays,
            samples_are_the_sealed_secrets_with_their_bindings,
        ]);
    };
    (secret_cipher, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests secret_cipher, $case, $body, [
            a_value_decrypts_only_with_its_binding,
            tampered_or_empty_ciphertext_does_not_decrypt,
            an_empty_secret_round_trips,
            digests_are_deterministic_keyed_and_bound_to_their_row,
        ]);
    };
    (build_logs, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests build_logs, $case, $body, [
            system_lines_are_appended_in_order,
            reads_by_offset_in_chunks_and_past_the_end,
            files_list_the_system_log_with_its_length,
            a_build_without_logs_is_not_found,
            builds_have_separate_logs,
            followers_get_growth_then_finished,
            a_follower_of_a_finished_build_is_told_at_once,
            finishing_a_build_without_output_ends_its_followers,
        ]);
    };
    (workspaces, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests workspaces, $case, $body, [
            create_gives_each_build_its_workspace_and_cm_env_outside_it,
            read_text_reads_files_of_the_checkout,
            read_text_refuses_paths_leaving_the_workspace,
            read_text_refuses_files_over_the_limit,
            cm_env_assignments_are_read_in_order,
        ]);
    };
    (@tests $suite:ident, $case:ident, $body:expr, [$($name:ident),+ $(,)?]) => {
        mod $suite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    let $case = $crate::testing::contract::$suite::$name;
                    $body
                }
            )+
        }
    };
    (github_store, |$case:ident| $body:expr $(,)?) => {
        $crate::contract_tests!(@tests github_store, $case, $body, [
            setup_states_are_single_use,
            the_app_is_one_row,
            installations_keep_their_state,
            syncs_create_rename_adopt_and_deactivate,
            release_and_removal_deactivate,
        ]);
    };
    ($suite:ident, $($rest:tt)*) => {
        compile_error!(concat!(
            "no contract suite `", stringify!($suite), "`, or not called as ",
            "`contract_tests!(suite, |case| body)`; the suites are repository_store, ",
            "build_store, webhook_store, pipeline_store, key_check_store, secret_cipher, build_logs, ",
            "workspaces, github_store"
        ));
    };
}

#[cfg(test)]
mod tests {
    use crate::ids::RepositoryId;
    use crate::testing::{
        FakeCipher, FakeWorkspaces, MemoryBuildStore, MemoryLogs, MemoryPipelineStore,
        MemoryRepositoryStore, MemoryWebhookEventStore, block_on,
    };

    crate::contract_tests!(repository_store, |case| block_on(case(
        &MemoryRepositoryStore::default()
    )));

    crate::contract_tests!(build_store, |case| {
        let repositories = MemoryRepositoryStore::default();
        block_on(case(
            &MemoryBuildStore::new(repositories.clone()),
            &repositories,
        ))
    });

    crate::contract_tests!(webhook_store, |case| {
        let repositories = MemoryRepositoryStore::default();
        block_on(case(
            &MemoryWebhookEventStore::new(repositories.clone()),
            &repositories,
        ))
    });

    crate::contract_tests!(pipeline_store, |case| block_on(case(
        &MemoryPipelineStore::default(),
        RepositoryId::from_ulid(ulid::Ulid::from_parts(1, 1)),
        RepositoryId::from_ulid(ulid::Ulid::from_parts(1, 2)),
    )));

    crate::contract_tests!(key_check_store, |case| {
        let store = MemoryRepositoryStore::default();
        block_on(case(&store, &store))
    });

    crate::contract_tests!(secret_cipher, |case| case(&FakeCipher));

    crate::contract_tests!(build_logs, |case| block_on(case(&MemoryLogs::default())));

    crate::contract_tests!(github_store, |case| {
        let repositories = MemoryRepositoryStore::default();
        block_on(case(
            &crate::testing::MemoryGitHubStore::new(repositories.clone()),
            &repositories,
        ))
    });

    crate::contract_tests!(workspaces, |case| {
        let workspaces = FakeWorkspaces::default();
        block_on(case(&workspaces, &workspaces))
    });

    /// The `pub` functions of a suite's source that are cases (not `sample_*` helpers).
    fn cases_in(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter_map(|line| {
                let rest = line
                    .strip_prefix("pub async fn ")
                    .or_else(|| line.strip_prefix("pub fn "))?;
                let name = &rest[..rest.find('(')?];
                (!name.starts_with("sample_")).then_some(name)
            })
            .collect()
    }

    /// A case missing from its list in `contract_tests!` would silently never run.
    #[test]
    fn every_case_is_listed_in_contract_tests() {
        let this = include_str!("contract.rs");
        for (suite, source) in [
            (
                "repository_store",
                include_str!("contract/repository_store.rs"),
            ),
            (
                "build_store",
                concat!(
                    include_str!("contract/build_store.rs"),
                    include_str!("contract/build_list.rs")
                ),
            ),
            (
                "webhook_store",
                concat!(
                    include_str!("contract/webhook_store.rs"),
                    include_str!("contract/webhook_list.rs")
                ),
            ),
            ("pipeline_store", include_str!("contract/pipeline_store.rs")),
            (
                "key_check_store",
                include_str!("contract/key_check_store.rs"),
            ),
            ("secret_cipher", include_str!("contract/secret_cipher.rs")),
            ("build_logs", include_str!("contract/build_logs.rs")),
            ("workspaces", include_str!("contract/workspaces.rs")),
            ("github_store", include_str!("contract/github_store.rs")),
        ] {
            let arm = format!("    ({suite}, |$case:ident|");
            let start = this.find(&arm).expect("the suite has an arm");
            let list = &this[start..];
            let list = &list[..list.find("]);").expect("the arm's list ends")];
            let cases = cases_in(source);
            assert!(!cases.is_empty(), "{suite} has cases");
            for case in cases {
                assert!(
                    list.lines().any(|l| l.trim() == format!("{case},")),
                    "{suite}::{case} is not listed in contract_tests!; add it to the {suite} arm"
                );
            }
        }
    }
}
