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
    }
}
