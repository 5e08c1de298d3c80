-- Repositories Oore builds. Conventions for every table (see oore-adapters/src/sqlite/mod.rs):
--   * ids are ULIDs stored as their 26-character text form (TEXT PRIMARY KEY);
--   * times are INTEGER unix milliseconds, UTC;
--   * enums are TEXT with a CHECK listing the values oore-core knows;
--   * rows that other tables refer to are soft-deleted (deleted_at), never removed,
--     so builds, steps and webhook events keep a valid foreign key.
-- STRICT makes SQLite reject a value of the wrong type instead of storing it.
CREATE TABLE repositories (
    id             TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    provider       TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab', 'git')),
    owner          TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    -- Repository::identity_key(): provider and case-folded owner/name.
    identity_key   TEXT    NOT NULL,
    -- Unicode-lowercased owner and name (folded in Rust, SQLite's lower() is ASCII-only),
    -- the list order.
    owner_folded   TEXT    NOT NULL,
    name_folded    TEXT    NOT NULL,
    clone_url      TEXT    NOT NULL,
    default_branch TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('active', 'inactive', 'error', 'pending_setup')),
    -- XChaCha20-Poly1305 blob bound to (repositories, webhook_secret, id); NULL = none yet.
    webhook_secret BLOB,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
) STRICT;

-- Two live repositories may not share an identity; a deleted one frees its identity.
CREATE UNIQUE INDEX repositories_identity_key_live
    ON repositories (identity_key) WHERE deleted_at IS NULL;

-- The list order, over live rows only.
CREATE INDEX repositories_list_order
    ON repositories (owner_folded, name_folded, id) WHERE deleted_at IS NULL;
