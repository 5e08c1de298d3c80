-- Webhook ingestion (spec 6.1, 10.3, 16, 20). Conventions as in the repositories
-- migration: ULID text ids, INTEGER unix milliseconds, enum TEXT with CHECKs, STRICT.

-- GitLab webhook tokens are kept as a keyed HMAC-SHA256 digest (spec 20.2 "hashed, not
-- encrypted"; SecretCipher::keyed_digest, bound to the row like a sealed value): GitLab
-- sends its token verbatim, so comparing digests is all verification needs. GitHub
-- secrets stay sealed in webhook_secret (verifying a signature needs the secret). A
-- repository has at most one of the two; existing rows keep their sealed value.
ALTER TABLE repositories
    ADD COLUMN webhook_token_digest BLOB
    CHECK (webhook_token_digest IS NULL
           OR (length(webhook_token_digest) = 32 AND webhook_secret IS NULL));

-- Every delivery a receiver accepted (status received, then processed / ignored /
-- failed) or rejected (verification failed; never registered as a delivery). The table
-- is the event queue (design decision 1): a 'received' row is the only record that an
-- event waits. Events are never deleted: they are the audit trail.
CREATE TABLE webhook_events (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    provider      TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab')),
    -- X-GitHub-Delivery; GitLab Idempotency-Key, else the SHA-256 of the body. Not
    -- unique here: webhook_deliveries decides duplicates within the replay window.
    delivery_id   TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    -- NULL when the URL named no known repository (such events are rejected).
    repository_id TEXT    REFERENCES repositories (id),
    status        TEXT    NOT NULL
        CHECK (status IN ('received', 'processed', 'ignored', 'failed', 'rejected')),
    reason        TEXT,
    source_ip     TEXT,
    received_at   INTEGER NOT NULL,
    processed_at  INTEGER,
    -- JSON array of the build ids (ULID strings) the event created.
    build_ids     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(build_ids)),
    -- The large columns last, so reading the others never walks a payload's overflow
    -- pages. headers: JSON array of [name, value], names lowercase, without the headers
    -- that carry secrets (X-Hub-Signature*, X-Gitlab-Token, Authorization, Cookie).
    headers       TEXT    NOT NULL CHECK (json_valid(headers)),
    payload       BLOB    NOT NULL
) STRICT;

-- The queue (status = 'received' in id order) and the status filter.
CREATE INDEX webhook_events_by_status ON webhook_events (status, id);
-- List filters; each ends in id for keyset pages, newest first.
CREATE INDEX webhook_events_by_repository ON webhook_events (repository_id, id);
CREATE INDEX webhook_events_by_provider ON webhook_events (provider, id);
CREATE INDEX webhook_events_by_event_type ON webhook_events (event_type, id);

-- The replay window (spec 20): one row per accepted delivery id, forgotten after 24 h.
-- The primary key decides duplicates, also between concurrent writers.
CREATE TABLE webhook_deliveries (
    provider    TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab')),
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    event_id    TEXT    NOT NULL REFERENCES webhook_events (id),
    PRIMARY KEY (provider, delivery_id)
) STRICT, WITHOUT ROWID;

-- forget_deliveries_before(cutoff) is a range on this.
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (received_at);
