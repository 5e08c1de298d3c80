-- Builds, their steps and their artifacts. The builds table is the build queue: a
-- pending row is the only record that a build is waiting (design decision 1).
-- Conventions as in the repositories migration: ULID text ids, INTEGER unix
-- milliseconds, enum TEXT with CHECKs, STRICT tables.
CREATE TABLE builds (
    id               TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    -- Repositories are soft-deleted, never removed, so this never dangles.
    repository_id    TEXT    NOT NULL REFERENCES repositories (id),
    -- Per-repository sequence (#1, #2, ...), assigned by the single writer inside the
    -- inserting transaction as MAX(number) + 1; the UNIQUE below is the backstop.
    number           INTEGER NOT NULL CHECK (number >= 1),
    status           TEXT    NOT NULL
        CHECK (status IN ('pending', 'running', 'success', 'failure', 'cancelled')),
    trigger_type     TEXT    NOT NULL
        CHECK (trigger_type IN ('push', 'pull_request', 'merge_request', 'manual')),
    -- 1 (manual) to 4 (other pushes), spec 16.3.
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    branch           TEXT,
    tag              TEXT,
    pull_request     INTEGER CHECK (pull_request >= 0),
    commit_sha       TEXT,
    workflow         TEXT,
    -- 'database', 'repository' or 'default' (spec 6.3.2).
    config_source    TEXT,
    -- The webhook delivery that caused the build. No foreign key yet: webhook_events
    -- arrives in a later migration.
    webhook_event_id TEXT CHECK (webhook_event_id IS NULL OR length(webhook_event_id) = 26),
    error_message    TEXT,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    UNIQUE (repository_id, number)
) STRICT;

-- Listing is keyset-paginated by id (newest or oldest first). Each filter has an index
-- ending in id, so the ids of a page are found from the index alone (a covering index;
-- the store then fetches just those rows by primary key). Equality filters get their
-- ids already in id order: a page costs one index seek plus `limit` entries whatever
-- the table size, including deep pages. A multi-status filter (status IN (...)) walks
-- one range per status and stops each after `limit` entries.
CREATE INDEX builds_by_repository ON builds (repository_id, id);
-- The repository page filtered by status, the most common combination.
CREATE INDEX builds_by_repository_status ON builds (repository_id, status, id);
-- Also the queue: the pending (and running) rows are one short range of this index.
CREATE INDEX builds_by_status ON builds (status, id);
CREATE INDEX builds_by_branch ON builds (branch, id);
CREATE INDEX builds_by_trigger ON builds (trigger_type, id);
-- Commit prefix search is a range on this index (sha >= prefix AND sha < prefix || max);
-- the matching ids are then sorted.
CREATE INDEX builds_by_commit ON builds (commit_sha, id);
-- Date ranges: the ids in range are read from here, then sorted (about 2 ms for a
-- week of one build a minute).
CREATE INDEX builds_by_created ON builds (created_at, id);

CREATE TABLE build_steps (
    id             TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    build_id       TEXT    NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    -- 0-based, as in the step-N-*.log file names.
    idx            INTEGER NOT NULL CHECK (idx >= 0),
    name           TEXT    NOT NULL,
    status         TEXT    NOT NULL
        CHECK (status IN ('pending', 'running', 'success', 'failure', 'skipped', 'cancelled')),
    ignore_failure INTEGER NOT NULL CHECK (ignore_failure IN (0, 1)),
    exit_code      INTEGER,
    error_message  TEXT,
    started_at     INTEGER,
    finished_at    INTEGER,
    -- Also the index for listing a build's steps in order.
    UNIQUE (build_id, idx)
) STRICT;

CREATE TABLE artifacts (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    build_id   TEXT    NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    -- Relative to the build's artifact directory, '/'-separated.
    path       TEXT    NOT NULL,
    size       INTEGER NOT NULL CHECK (size >= 0),
    sha256     TEXT    NOT NULL CHECK (length(sha256) = 64),
    created_at INTEGER NOT NULL,
    -- Also the index for listing a build's artifacts by path.
    UNIQUE (build_id, path)
) STRICT;
