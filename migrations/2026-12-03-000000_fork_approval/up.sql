-- Pull/merge requests from forks wait for approval (issue 10), and rejected webhook
-- attempts keep only the start of their body.
--
-- 1. repositories.fork_pull_requests: what pull/merge requests from forks do. Existing
--    repositories get the safe default, 'approve' (they built forks at once before).
ALTER TABLE repositories
    ADD COLUMN fork_pull_requests TEXT NOT NULL DEFAULT 'approve'
    CHECK (fork_pull_requests IN ('never', 'approve', 'always'));

-- 2. webhook_events gains the status 'awaiting_approval', who approved an event and when
--    (approved_by, approved_at: both or neither), and payload_size, the size of the body
--    as received (a rejected attempt keeps only its first 16 KiB in payload).
--
-- A CHECK cannot be altered in SQLite, so the table is rebuilt: copy, drop, rename,
-- indexes, in the one transaction diesel runs a migration in, every row kept (existing
-- rows get payload_size = length(payload)). webhook_deliveries refers to webhook_events,
-- so its rows are set aside and put back around the drop (the foreign key stays checked
-- throughout: no row ever points at a missing event).
--
-- How long: one pass copying every event with its payload, then the four indexes
-- rebuilt, i.e. writing the table once more (and once more into the WAL). Measured on a
-- 2-CPU VM with SQLite 3.40: 100,000 events of 7 KB (a 0.85 GB database) in 22 s, plus
-- 1 s for the checkpoint; it grows linearly with the bytes stored. The disk needs the
-- table's size free twice over while it runs; afterwards the old pages are free pages
-- of the file, reused by later writes (VACUUM returns them to the disk).
CREATE TABLE webhook_events_new (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    provider      TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab')),
    delivery_id   TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    repository_id TEXT    REFERENCES repositories (id),
    status        TEXT    NOT NULL
        CHECK (status IN ('received', 'processed', 'ignored', 'failed', 'rejected',
                          'awaiting_approval')),
    reason        TEXT,
    source_ip     TEXT,
    received_at   INTEGER NOT NULL,
    processed_at  INTEGER,
    build_ids     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(build_ids)),
    approved_by   TEXT,
    approved_at   INTEGER,
    payload_size  INTEGER NOT NULL CHECK (payload_size >= 0),
    -- The large columns last (see the webhook_events migration).
    headers       TEXT    NOT NULL CHECK (json_valid(headers)),
    payload       BLOB    NOT NULL,
    CHECK ((approved_by IS NULL) = (approved_at IS NULL))
) STRICT;

INSERT INTO webhook_events_new (id, provider, delivery_id, event_type, repository_id,
        status, reason, source_ip, received_at, processed_at, build_ids, payload_size,
        headers, payload)
    SELECT id, provider, delivery_id, event_type, repository_id, status, reason,
        source_ip, received_at, processed_at, build_ids, length(payload), headers, payload
    FROM webhook_events;

CREATE TABLE webhook_deliveries_kept AS SELECT * FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;

CREATE INDEX webhook_events_by_status ON webhook_events (status, id);
CREATE INDEX webhook_events_by_repository ON webhook_events (repository_id, id);
CREATE INDEX webhook_events_by_provider ON webhook_events (provider, id);
CREATE INDEX webhook_events_by_event_type ON webhook_events (event_type, id);

CREATE TABLE webhook_deliveries (
    provider    TEXT    NOT NULL CHECK (provider IN ('github', 'gitlab')),
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    event_id    TEXT    NOT NULL REFERENCES webhook_events (id),
    PRIMARY KEY (provider, delivery_id)
) STRICT, WITHOUT ROWID;
INSERT INTO webhook_deliveries (provider, delivery_id, received_at, event_id)
    SELECT provider, delivery_id, received_at, event_id FROM webhook_deliveries_kept;
DROP TABLE webhook_deliveries_kept;
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (received_at);
