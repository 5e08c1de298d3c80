//! Diesel's view of the tables, kept in step with `/migrations` by hand. Private to the
//! sqlite module.

diesel::table! {
    repositories (id) {
        id -> Text,
        provider -> Text,
        owner -> Text,
        name -> Text,
        identity_key -> Text,
        owner_folded -> Text,
        name_folded -> Text,
        clone_url -> Text,
        default_branch -> Text,
        state -> Text,
        webhook_secret -> Nullable<Binary>,
        created_at -> BigInt,
        updated_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
        build_concurrency -> Text,
        webhook_token_digest -> Nullable<Binary>,
        fork_pull_requests -> Text,
        github_id -> Nullable<BigInt>,
        clone_credentials -> Nullable<Binary>,
    }
}

diesel::table! {
    key_check (id) {
        id -> BigInt,
        sealed -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    builds (id) {
        id -> Text,
        repository_id -> Text,
        number -> BigInt,
        status -> Text,
        trigger_type -> Text,
        priority -> BigInt,
        branch -> Nullable<Text>,
        tag -> Nullable<Text>,
        pull_request -> Nullable<BigInt>,
        commit_sha -> Nullable<Text>,
        workflow -> Nullable<Text>,
        config_source -> Nullable<Text>,
        webhook_event_id -> Nullable<Text>,
        error_message -> Nullable<Text>,
        created_at -> BigInt,
        started_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        base_branch -> Nullable<Text>,
    }
}

diesel::table! {
    build_steps (id) {
        id -> Text,
        build_id -> Text,
        idx -> BigInt,
        name -> Text,
        status -> Text,
        ignore_failure -> Bool,
        exit_code -> Nullable<Integer>,
        error_message -> Nullable<Text>,
        started_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        process_id -> Nullable<BigInt>,
        process_group -> Nullable<BigInt>,
        process_started -> Nullable<Text>,
    }
}

diesel::table! {
    artifacts (id) {
        id -> Text,
        build_id -> Text,
        path -> Text,
        size -> BigInt,
        sha256 -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    pipeline_versions (repository_id, version) {
        repository_id -> Text,
        version -> BigInt,
        content -> Text,
        format -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    pipeline_configs (repository_id) {
        repository_id -> Text,
        current_version -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Text,
        provider -> Text,
        delivery_id -> Text,
        event_type -> Text,
        repository_id -> Nullable<Text>,
        status -> Text,
        reason -> Nullable<Text>,
        source_ip -> Nullable<Text>,
        received_at -> BigInt,
        processed_at -> Nullable<BigInt>,
        build_ids -> Text,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<BigInt>,
        payload_size -> BigInt,
        headers -> Text,
        payload -> Binary,
    }
}

diesel::table! {
    webhook_deliveries (provider, delivery_id) {
        provider -> Text,
        delivery_id -> Text,
        received_at -> BigInt,
        event_id -> Text,
    }
}

diesel::table! {
    github_setup_states (state_digest) {
        state_digest -> Binary,
        org -> Nullable<Text>,
        app_name -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    github_apps (id) {
        id -> Text,
        app_id -> BigInt,
        slug -> Text,
        name -> Text,
        client_id -> Text,
        html_url -> Text,
        owner_login -> Text,
        client_secret -> Binary,
        webhook_secret -> Nullable<Binary>,
        private_key -> Binary,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    github_installations (id) {
        id -> BigInt,
        account_login -> Text,
        account_type -> Text,
        repository_selection -> Text,
        permissions -> Text,
        state -> Text,
        detail -> Nullable<Text>,
        synced_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    github_installation_repositories (github_id) {
        github_id -> BigInt,
        installation_id -> BigInt,
        repository_id -> Text,
        covered -> Bool,
        updated_at -> BigInt,
    }
}

diesel::joinable!(builds -> repositories (repository_id));
diesel::joinable!(github_installation_repositories -> repositories (repository_id));
diesel::joinable!(github_installation_repositories -> github_installations (installation_id));
diesel::joinable!(build_steps -> builds (build_id));
diesel::joinable!(artifacts -> builds (build_id));
diesel::allow_tables_to_appear_in_same_query!(
    repositories,
    builds,
    build_steps,
    artifacts,
    pipeline_versions,
    pipeline_configs,
    webhook_events,
    webhook_deliveries,
    github_setup_states,
    github_apps,
    github_installations,
    github_installation_repositories,
    key_check
);
