-- The GitHub App (spec Journey 2, 21, 12.1). Conventions as in the repositories
-- migration: ULID text ids, INTEGER unix milliseconds, enum TEXT with CHECKs, STRICT.

-- GitHub's numeric repository id, stable across renames and transfers; set on the
-- repositories an App installation covers (created by a sync, or adopted when added by
-- hand before). A nullable column added at the end: no table rebuild, instant on any size.
ALTER TABLE repositories ADD COLUMN github_id INTEGER CHECK (github_id IS NULL OR github_id > 0);

-- At most one live repository per GitHub id.
CREATE UNIQUE INDEX repositories_github_id_live
    ON repositories (github_id) WHERE deleted_at IS NULL AND github_id IS NOT NULL;

-- The single-use states of the manifest flow (10 minutes). Only the SHA-256 of the
-- state is stored: the value itself is a bearer secret until used.
CREATE TABLE github_setup_states (
    state_digest BLOB    NOT NULL PRIMARY KEY CHECK (length(state_digest) = 32),
    org          TEXT,
    app_name     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    outcome      TEXT    CHECK (outcome IN ('completed', 'failed')),
    -- The App's slug when completed, the message when failed.
    detail       TEXT,
    CHECK (outcome IS NULL OR used_at IS NOT NULL)
) STRICT, WITHOUT ROWID;

-- The App: one row. Its secrets are XChaCha20-Poly1305 blobs bound to
-- (github_apps, <column>, id).
CREATE TABLE github_apps (
    id             TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    app_id         INTEGER NOT NULL CHECK (app_id > 0),
    slug           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    html_url       TEXT    NOT NULL,
    owner_login    TEXT    NOT NULL,
    client_secret  BLOB    NOT NULL,
    webhook_secret BLOB,
    private_key    BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- The App's installations, keyed by GitHub's installation id.
CREATE TABLE github_installations (
    id                   INTEGER NOT NULL PRIMARY KEY CHECK (id > 0),
    account_login        TEXT    NOT NULL,
    account_type         TEXT    NOT NULL,
    repository_selection TEXT    NOT NULL CHECK (repository_selection IN ('all', 'selected')),
    -- 'name:level' pairs, comma-separated, sorted.
    permissions          TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('active', 'suspended', 'revoked')),
    detail               TEXT,
    synced_at            INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

-- Which repositories an installation covers (spec 21's github_installation_repos),
-- one row per GitHub repository id. `covered` = 0 once the installation no longer
-- covers it (the repository was deactivated then; a later sync that finds it again
-- reactivates it).
CREATE TABLE github_installation_repositories (
    github_id       INTEGER NOT NULL PRIMARY KEY CHECK (github_id > 0),
    installation_id INTEGER NOT NULL REFERENCES github_installations (id) ON DELETE CASCADE,
    repository_id   TEXT    NOT NULL REFERENCES repositories (id),
    covered         INTEGER NOT NULL CHECK (covered IN (0, 1)),
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX github_installation_repositories_by_installation
    ON github_installation_repositories (installation_id, covered);
CREATE INDEX github_installation_repositories_by_repository
    ON github_installation_repositories (repository_id);
